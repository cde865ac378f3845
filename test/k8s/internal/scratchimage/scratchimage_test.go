package scratchimage

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

func TestFromBinary(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "app")
	content := []byte("\x7fELF not really")
	if err := os.WriteFile(bin, content, 0o700); err != nil {
		t.Fatal(err)
	}
	img, err := FromBinary(bin, Options{Name: "app", User: "10001:10001"})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OS != "linux" || len(cfg.Config.Entrypoint) != 1 || cfg.Config.Entrypoint[0] != "/app" || cfg.Config.User != "10001:10001" {
		t.Errorf("config: os %q entrypoint %q user %q", cfg.OS, cfg.Config.Entrypoint, cfg.Config.User)
	}
	// The image's only file is the binary, executable by anyone (the pod runs it as uid 10001).
	tr := tar.NewReader(mutate.Extract(img))
	var files []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, h.Name)
		got, _ := io.ReadAll(tr)
		if h.Name != "app" || h.Mode != 0o755 || !bytes.Equal(got, content) {
			t.Errorf("file %s mode %o: %q", h.Name, h.Mode, got)
		}
	}
	if len(files) != 1 {
		t.Errorf("files in the image: %v", files)
	}
	// Reproducible: the same binary makes the same digest.
	again, err := FromBinary(bin, Options{Name: "app", User: "10001:10001"})
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("digests differ: %s %s", d1, d2)
	}
}

func TestFromBinaryRefusesAPathAsName(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "app")
	if err := os.WriteFile(bin, []byte("x"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"", ".", "..", "../app", "bin/app", "/app"} {
		if _, err := FromBinary(bin, Options{Name: name}); err == nil {
			t.Errorf("name %q accepted", name)
		}
	}
}
