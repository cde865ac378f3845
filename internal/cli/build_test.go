package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pyship/pyship/internal/testutil"
)

var lockDists = []testutil.Dist{
	{Name: "flask", Version: "2.2.2", Files: map[string]string{"flask/__init__.py": ""}, Requires: []string{"werkzeug>=2.2"}},
	{Name: "flask", Version: "2.3.0", Files: map[string]string{"flask/__init__.py": ""}, Requires: []string{"werkzeug>=2.3"}},
	{Name: "werkzeug", Version: "2.2.2", Files: map[string]string{"werkzeug/__init__.py": ""}},
	{Name: "gunicorn", Version: "20.1.0", Files: map[string]string{"gunicorn/__init__.py": ""}},
}

// pyship lock writes pylock.toml for the base image; pyship build then installs exactly
// that, without resolving, and refuses it when it does not fit the base.
func TestLockThenBuild(t *testing.T) {
	base := testutil.FakeBase(t, "amd64")
	index := testutil.Index(t, lockDists, nil)
	dir := testutil.WriteProject(t, map[string]string{
		"requirements.txt": "flask\ngunicorn\n",
		"app.py":           "from flask import Flask\napp = Flask(__name__)\n",
	})
	cache := t.TempDir()
	code, out, errOut := run("lock", dir, "--base", "oci:"+base, "-i", index, "--cache-dir", cache, "--json")
	if code != 0 {
		t.Fatalf("lock: exit %d\n%s%s", code, out, errOut)
	}
	var locked struct {
		Packages []struct{ Name, Version, SHA256 string }
	}
	json.Unmarshal([]byte(out), &locked)
	// flask 2.3.0 needs werkzeug>=2.3, which the index lacks: the resolver backs off to 2.2.2.
	var got []string
	for _, p := range locked.Packages {
		got = append(got, p.Name+"=="+p.Version)
		if len(p.SHA256) != 64 {
			t.Errorf("%s has no sha256", p.Name)
		}
	}
	if strings.Join(got, " ") != "flask==2.2.2 gunicorn==20.1.0 werkzeug==2.2.2" {
		t.Fatalf("locked %v", got)
	}
	lockFile, err := os.ReadFile(filepath.Join(dir, "pylock.toml"))
	if err != nil || !strings.Contains(string(lockFile), "lock-version = '1.0'") {
		t.Fatalf("pylock.toml: %v\n%s", err, lockFile)
	}
	out1 := filepath.Join(t.TempDir(), "oci")
	code, out, errOut = run("build", dir, "--base", "oci:"+base, "-i", index, "--cache-dir", cache, "--output", "oci:"+out1, "--json")
	if code != 0 {
		t.Fatalf("build: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "installing from pylock.toml (no resolution)") {
		t.Errorf("build did not use the lock:\n%s", errOut)
	}
	if _, err := os.Stat(filepath.Join(out1, "index.json")); err != nil {
		t.Errorf("no OCI layout: %v", err)
	}
	// A lock whose hash no longer matches the index's file fails before anything is written.
	bad := strings.Replace(string(lockFile), locked.Packages[0].SHA256, strings.Repeat("0", 64), 1)
	os.WriteFile(filepath.Join(dir, "pylock.toml"), []byte(bad), 0o644)
	out2 := filepath.Join(t.TempDir(), "oci")
	code, _, errOut = run("build", dir, "--base", "oci:"+base, "-i", index, "--cache-dir", t.TempDir(), "--output", "oci:"+out2)
	if code == 0 || !strings.Contains(errOut, "hash mismatch") {
		t.Errorf("tampered lock: exit %d\n%s", code, errOut)
	}
	if _, err := os.Stat(out2); !os.IsNotExist(err) {
		t.Errorf("a failed build left %s (%v)", out2, err)
	}
}

func TestBuildBadInput(t *testing.T) {
	dir := testutil.WriteProject(t, map[string]string{"requirements.txt": "flask\n", "app.py": "from flask import Flask\napp = Flask(__name__)\n"})
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--output", "zip:x"}, "expected docker, oci:DIR or tar:FILE"},
		{[]string{"--platform", "linux", "--output", "oci:x"}, "--platform"},
		{[]string{"-t", "Bad Tag!", "--output", "oci:x"}, "--tag"},
		{[]string{"--label", "novalue", "--output", "oci:x"}, "KEY=VALUE"},
	} {
		code, _, errOut := run(append([]string{"build", dir}, c.args...)...)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, errOut, c.want)
		}
	}
	t.Setenv("SOURCE_DATE_EPOCH", "yesterday")
	if code, _, errOut := run("build", dir, "--output", "oci:x"); code == 0 || !strings.Contains(errOut, "SOURCE_DATE_EPOCH") {
		t.Errorf("bad SOURCE_DATE_EPOCH: %d %s", code, errOut)
	}
}

// --output never destroys what pyship did not write: the project itself, a file, a
// directory of other things; an existing layout gains the image beside what it held.
func TestBuildOutputKeepsForeignFiles(t *testing.T) {
	base := testutil.FakeBase(t, "amd64")
	index := testutil.Index(t, lockDists, nil)
	files := map[string]string{
		"requirements.txt": "flask\ngunicorn\n",
		"app.py":           "from flask import Flask\napp = Flask(__name__)\n",
	}
	dir := testutil.WriteProject(t, files)
	cache := t.TempDir()
	build := func(args ...string) (int, string) {
		code, out, errOut := run(append([]string{"build", dir, "--base", "oci:" + base, "-i", index, "--cache-dir", cache}, args...)...)
		return code, out + errOut
	}
	intact := func() {
		t.Helper()
		for name, want := range files {
			if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(got) != want {
				t.Fatalf("%s lost: %v %q", name, err, got)
			}
		}
	}
	for _, out := range []string{"oci:" + dir, "tar:" + filepath.Join(dir, "app.py"), "tar:" + dir} {
		if code, msg := build("--output", out); code == 0 || !strings.Contains(msg, "nothing was written") {
			t.Errorf("--output %s: exit %d\n%s", out, code, msg)
		}
		intact()
	}
	// An empty directory is filled; then a second tag joins the first in the same layout.
	lay := t.TempDir()
	if code, msg := build("--output", "oci:"+lay, "-t", "one:1"); code != 0 {
		t.Fatalf("empty dir: exit %d\n%s", code, msg)
	}
	if code, msg := build("--output", "oci:"+lay, "-t", "two:2"); code != 0 {
		t.Fatalf("existing layout: exit %d\n%s", code, msg)
	}
	if code, msg := build("--output", "oci:"+lay, "-t", "two:2"); code != 0 {
		t.Fatalf("same tag again: exit %d\n%s", code, msg)
	}
	var idx struct {
		Manifests []struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"manifests"`
	}
	b, _ := os.ReadFile(filepath.Join(lay, "index.json"))
	if err := json.Unmarshal(b, &idx); err != nil {
		t.Fatal(err)
	}
	var refs []string
	for _, m := range idx.Manifests {
		refs = append(refs, m.Annotations["org.opencontainers.image.ref.name"])
	}
	if strings.Join(refs, " ") != "one:1 two:2" {
		t.Errorf("layout refs %v, want one:1 two:2", refs)
	}
	// A tarball pyship wrote earlier is replaced, as docker save -o does.
	tarFile := filepath.Join(t.TempDir(), "img.tar")
	for i := 0; i < 2; i++ {
		if code, msg := build("--output", "tar:"+tarFile); code != 0 {
			t.Fatalf("tar run %d: exit %d\n%s", i, code, msg)
		}
	}
}
