package cli

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pyship/pyship/internal/testutil"
)

// A project is untrusted input: an include that is a symlink out of the project is
// refused without quoting the outside file.
func TestRequirementsIncludeThroughSymlink(t *testing.T) {
	base := testutil.FakeBase(t, "amd64")
	index := testutil.Index(t, lockDists, nil)
	outside := filepath.Join(t.TempDir(), "passwd")
	os.WriteFile(outside, []byte("root:x:0:0:sentinel-outside-line:/root:/bin/bash\n"), 0o644)
	dir := testutil.WriteProject(t, map[string]string{
		"requirements.txt": "flask\n-r extra.txt\n",
		"app.py":           "from flask import Flask\napp = Flask(__name__)\n",
	})
	if err := os.Symlink(outside, filepath.Join(dir, "extra.txt")); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"lock", "build"} {
		code, out, errOut := run(cmd, dir, "--base", "oci:"+base, "-i", index, "--cache-dir", t.TempDir(), "--output", "oci:"+filepath.Join(t.TempDir(), "o"))
		if cmd == "lock" {
			code, out, errOut = run(cmd, dir, "--base", "oci:"+base, "-i", index, "--cache-dir", t.TempDir())
		}
		all := out + errOut
		if code == 0 {
			t.Errorf("%s: exit 0 with an include leaving the project\n%s", cmd, all)
		}
		if strings.Contains(all, "sentinel-outside-line") || strings.Contains(all, "root:x") {
			t.Errorf("%s quoted the outside file:\n%s", cmd, all)
		}
		if !strings.Contains(all, "requirements.txt:2") || !strings.Contains(all, "leaves the project") {
			t.Errorf("%s: the error should name requirements.txt:2 and say why:\n%s", cmd, all)
		}
	}
}

// A FIFO where a project file is expected is refused at once: opening it for reading
// used to wait forever for a writer, deaf to Ctrl-C.
func TestFIFOInProjectDoesNotHang(t *testing.T) {
	for _, name := range []string{".dockerignore", "Dockerfile", "requirements.txt"} {
		dir := testutil.WriteProject(t, map[string]string{
			"requirements.txt": "flask\ngunicorn\n",
			"app.py":           "from flask import Flask\napp = Flask(__name__)\n",
		})
		p := filepath.Join(dir, name)
		os.Remove(p)
		if err := syscall.Mkfifo(p, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"init", dir, "--dry-run"}, {"check", dir}, {"detect", dir}} {
			done := make(chan string, 1)
			go func() {
				code, _, errOut := run(args...)
				if code != 0 && !strings.Contains(errOut, name+": not a regular file") {
					t.Errorf("pyship %s with a FIFO %s: exit %d without naming it:\n%s", args[0], name, code, errOut)
				}
				done <- ""
			}()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				// Unblock the stuck open so the test binary can finish.
				if f, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
					f.Close()
				}
				t.Fatalf("pyship %s hangs on a FIFO named %s", args[0], name)
			}
		}
	}
}
