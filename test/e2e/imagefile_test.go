package e2e

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/pyship/pyship/internal/engine"
)

// TestImageFiles reads files of an image without running it (how pyship resolves a
// named USER): through absolute and relative symbolic links, leaving out a missing
// file, refusing one over the limit, and leaving no container behind.
func TestImageFiles(t *testing.T) {
	ctx := context.Background()
	base, _ := fixtures(t)
	eng, err := engine.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	tag := "pyship-e2e/image-files:1"
	df := t.TempDir()
	os.WriteFile(filepath.Join(df, "Dockerfile"), []byte("FROM "+base+"\n"+
		"RUN ln -s /etc/passwd /etc/pw-abs && ln -s passwd /etc/pw-rel && head -c 2000000 /dev/zero > /big\n"), 0o644)
	if _, err := eng.Build(ctx, engine.BuildOptions{Dir: df, Tags: []string{tag}}, io.Discard); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.RemoveImage(context.Background(), tag) })
	label := map[string]string{"pyship.probe": "e2e-image-files"}
	files, err := eng.ImageFiles(ctx, tag, []string{"/etc/passwd", "/etc/pw-abs", "/etc/pw-rel", "/nope"}, 1<<20, label)
	if err != nil {
		t.Fatal(err)
	}
	passwd := files["/etc/passwd"]
	if !bytes.Contains(passwd, []byte("www-data:x:33:33:")) || !bytes.Equal(files["/etc/pw-abs"], passwd) || !bytes.Equal(files["/etc/pw-rel"], passwd) {
		t.Errorf("read %d files: %q", len(files), files)
	}
	if _, ok := files["/nope"]; ok || len(files) != 3 {
		t.Errorf("a missing file: %v", files)
	}
	if _, err := eng.ImageFiles(ctx, tag, []string{"/big"}, 1<<20, label); err == nil {
		t.Error("a file over the limit was read")
	}
	if cs, _ := eng.List(ctx, "pyship.probe=e2e-image-files"); len(cs) != 0 {
		t.Errorf("%d probe container(s) left", len(cs))
	}
}
