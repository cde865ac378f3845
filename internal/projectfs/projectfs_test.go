package projectfs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestConfined(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(outside, []byte("outside"), 0o644)
	os.WriteFile(filepath.Join(dir, "in.txt"), []byte("inside"), 0o644)
	os.Symlink(outside, filepath.Join(dir, "abs-link"))
	os.Symlink("../"+filepath.Base(filepath.Dir(outside))+"/secret", filepath.Join(dir, "rel-link"))
	os.Symlink("in.txt", filepath.Join(dir, "ok-link"))
	syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644)
	big, _ := os.Create(filepath.Join(dir, "big"))
	big.Truncate(MaxFile + 1) // sparse: no disk used
	big.Close()

	for name, want := range map[string]string{"in.txt": "inside", "ok-link": "inside"} {
		if b, err := ReadFile(dir, name); err != nil || string(b) != want {
			t.Errorf("%s: %q %v", name, b, err)
		}
	}
	for _, name := range []string{"abs-link", "rel-link", "../x", "/etc/passwd", "fifo", "big", "missing"} {
		b, err := ReadFile(dir, name)
		if err == nil {
			t.Errorf("%s: read %q, want an error", name, b)
		}
		if string(b) == "outside" {
			t.Errorf("%s: read the outside file", name)
		}
	}
	if _, err := ReadFile(dir, "fifo"); !errors.Is(err, ErrNotRegular) {
		t.Errorf("fifo: %v, want ErrNotRegular", err)
	}
	if _, err := ReadFile(dir, "big"); !errors.Is(err, ErrTooLarge) {
		t.Errorf("big: %v, want ErrTooLarge", err)
	}
	f, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var walked []string
	if err := fs.WalkDir(f, ".", func(p string, d fs.DirEntry, err error) error {
		walked = append(walked, p)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(walked) != 7 {
		t.Errorf("walked %v", walked)
	}
}
