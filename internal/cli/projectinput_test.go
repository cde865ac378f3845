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

// check is a CI gate: when detection refuses, the project rules did not run, and the
// gate must not pass. Without a Dockerfile, the image comes from pyship build, so the
// context is judged by what pyship build would copy, and said so.
func TestCheckGate(t *testing.T) {
	two := testutil.WriteProject(t, map[string]string{
		"requirements.txt": "flask\n",
		"a.py":             "from flask import Flask\napp = Flask(__name__)\n",
		"b.py":             "from flask import Flask\napp = Flask(__name__)\n",
	})
	code, out, errOut := run("check", two)
	if code != 3 || !strings.Contains(errOut, "project rules skipped") {
		t.Errorf("check on a project detection refuses: exit %d, want 3\n%s%s", code, out, errOut)
	}
	if code, _, _ := run("check", two, "--entrypoint", "a:app"); code != 0 {
		t.Errorf("check with the fix detection names: exit %d, want 0", code)
	}

	files := map[string]string{
		"requirements.txt": "flask\ngunicorn\n",
		"app.py":           "from flask import Flask\napp = Flask(__name__)\n",
		".env":             "TOKEN=x\n",
	}
	dir := testutil.WriteProject(t, files)
	code, out, errOut = run("check", dir)
	if code != 0 || strings.Contains(out, "PS003") {
		t.Errorf("no Dockerfile, no .dockerignore: pyship build leaves .env out, yet exit %d\n%s%s", code, out, errOut)
	}
	os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte("*.log\n"), 0o644)
	code, out, _ = run("check", dir)
	if code != 1 || !strings.Contains(out, "PS003") || !strings.Contains(out, "pyship build") || strings.Contains(out, "COPY .") {
		t.Errorf("a .dockerignore that lets .env through, no Dockerfile: exit %d\n%s", code, out)
	}
}

// Image names follow docker's rules everywhere a user types one.
func TestImageNamesNormalised(t *testing.T) {
	code, _, errOut := run("check", "--image", "Bad/Name")
	if code != 2 || !strings.Contains(errOut, "--image") || !strings.Contains(errOut, "Bad/Name") {
		t.Errorf("check --image Bad/Name: exit %d\n%s", code, errOut)
	}
	ref := "docker:app"
	if err := normalizeImageArg(&ref); err != nil || ref != "docker:app:latest" {
		t.Errorf("docker:app -> %q %v", ref, err)
	}
	for _, keep := range []string{"oci:/tmp/x", "tar:/tmp/x.tar", "registry:localhost:5000/a/b:1"} {
		ref := keep
		if err := normalizeImageArg(&ref); err != nil || ref != keep {
			t.Errorf("%s -> %q %v", keep, ref, err)
		}
	}
}

// A requirements file's local --find-links is part of the project: one that leaves it
// (a relative path, file://, or a project folder that is a symlink out) is refused.
func TestRequirementsFindLinksStayInProject(t *testing.T) {
	base := testutil.FakeBase(t, "amd64")
	index := testutil.Index(t, lockDists, nil)
	outside := t.TempDir() // beside the projects: t.TempDir gives siblings
	for _, fl := range []string{"../" + filepath.Base(outside), "file://" + outside, "linked"} {
		dir := testutil.WriteProject(t, map[string]string{
			"requirements.txt": "-f " + fl + "\nflask\n",
			"app.py":           "from flask import Flask\napp = Flask(__name__)\n",
		})
		os.Symlink(outside, filepath.Join(dir, "linked"))
		code, out, errOut := run("lock", dir, "--base", "oci:"+base, "-i", index, "--cache-dir", t.TempDir())
		if code == 0 || !strings.Contains(out+errOut, "leaves the project") {
			t.Errorf("-f %s: exit %d\n%s%s", fl, code, out, errOut)
		}
	}
	inside := testutil.WriteProject(t, map[string]string{
		"requirements.txt": "-f wheels\nflask\ngunicorn\n",
		"wheels/README":    "local wheels\n",
		"app.py":           "from flask import Flask\napp = Flask(__name__)\n",
	})
	if code, out, errOut := run("lock", inside, "--base", "oci:"+base, "-i", index, "--cache-dir", t.TempDir()); code != 0 {
		t.Errorf("-f wheels (inside): exit %d\n%s%s", code, out, errOut)
	}
}
