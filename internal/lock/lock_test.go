package lock

import (
	"strings"
	"testing"

	"github.com/pyship/pyship/internal/index"
	"github.com/pyship/pyship/internal/pyproject"
	"github.com/pyship/pyship/internal/target"
)

var tgt = target.Target{OS: "linux", Arch: "amd64", Python: "3.11.2", Interpreter: "/usr/bin/python3.11", Libc: "glibc", LibcVersion: "2.36"}

const sha = "75ef4128a1374cde6b932b9006fc36a8851997f65902d5b116a726b5a655c773"

func names(l *Locked) string {
	var out []string
	for _, p := range l.Packages {
		out = append(out, p.Name+"=="+p.Version)
	}
	return strings.Join(out, " ")
}

func TestPylockRoundTrip(t *testing.T) {
	pins := []Pinned{
		{Name: "flask", Version: "2.2.2", File: index.File{Filename: "Flask-2.2.2-py3-none-any.whl", URL: "https://user:pw@idx.example/files/Flask-2.2.2-py3-none-any.whl", Hashes: map[string]string{"sha256": sha}, Size: 101415, Index: "https://idx.example/simple"}, Requires: []string{"werkzeug"}},
		{Name: "werkzeug", Version: "2.2.2", File: index.File{Filename: "Werkzeug-2.2.2-py3-none-any.whl", URL: "https://idx.example/files/Werkzeug-2.2.2-py3-none-any.whl", Hashes: map[string]string{"sha256": sha}}},
	}
	data, err := Write(pins, tgt, ">=3.8")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "pw@") {
		t.Errorf("credentials written into the lock:\n%s", data)
	}
	l, err := Read("pylock.toml", data, tgt.MarkerEnv())
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if names(l) != "flask==2.2.2 werkzeug==2.2.2" || l.Packages[0].Files[0].SHA256() != sha || l.Packages[0].Files[0].Filename != "Flask-2.2.2-py3-none-any.whl" {
		t.Errorf("%+v", l.Packages)
	}
	arm := tgt
	arm.Arch = "arm64"
	if _, err := Read("pylock.toml", data, arm.MarkerEnv()); err == nil || !strings.Contains(err.Error(), "lock again") {
		t.Errorf("a lock for x86_64 read for aarch64: %v", err)
	}
}

func TestPylockPEP751(t *testing.T) {
	data := `lock-version = "1.0"
requires-python = ">=3.9"
created-by = "uv"
[[packages]]
name = "Flask"
version = "2.2.2"
[[packages.wheels]]
url = "https://files.example/Flask-2.2.2-py3-none-any.whl"
hashes = {sha256 = "` + sha + `"}
[[packages]]
name = "pywin32"
version = "306"
marker = "sys_platform == 'win32'"
[[packages.wheels]]
url = "https://files.example/pywin32-306-cp311-cp311-win_amd64.whl"
hashes = {sha256 = "` + sha + `"}
[[packages]]
name = "mylib"
version = "1.0"
[packages.directory]
path = "./lib"
`
	_, err := Read("pylock.toml", []byte(data), tgt.MarkerEnv())
	if err == nil || !strings.Contains(err.Error(), "mylib is locked as a local directory") {
		t.Fatalf("err = %v", err)
	}
	data = data[:strings.Index(data, "[[packages]]\nname = \"mylib\"")]
	l, err := Read("pylock.toml", []byte(data), tgt.MarkerEnv())
	if err != nil || names(l) != "flask==2.2.2" {
		t.Fatalf("%v %s", err, names(l))
	}
	if _, err := Read("pylock.toml", []byte("lock-version = \"2.0\"\n"), tgt.MarkerEnv()); err == nil {
		t.Error("lock-version 2 accepted")
	}
	if _, err := Read("pylock.toml", []byte("lock-version = \"1.0\"\nrequires-python = \">=3.12\"\n"), tgt.MarkerEnv()); err == nil {
		t.Error("requires-python >=3.12 accepted for Python 3.11")
	}
}

// A universal uv.lock: the walk from the project follows only edges whose markers hold.
const uvSample = `version = 1
revision = 2
requires-python = ">=3.9"

[[package]]
name = "app"
version = "0.1.0"
source = { virtual = "." }
dependencies = [
    { name = "flask" },
    { name = "pywin32", marker = "sys_platform == 'win32'" },
    { name = "uvicorn", extra = ["standard"] },
]

[[package]]
name = "flask"
version = "2.2.2"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "click" }]
wheels = [{ url = "https://files.example/Flask-2.2.2-py3-none-any.whl", hash = "sha256:` + sha + `", size = 101415 }]

[[package]]
name = "click"
version = "8.1.3"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "colorama", marker = "platform_system == 'Windows'" }]
wheels = [{ url = "https://files.example/click-8.1.3-py3-none-any.whl", hash = "sha256:` + sha + `" }]

[[package]]
name = "colorama"
version = "0.4.6"
source = { registry = "https://pypi.org/simple" }
wheels = [{ url = "https://files.example/colorama-0.4.6-py2.py3-none-any.whl", hash = "sha256:` + sha + `" }]

[[package]]
name = "pywin32"
version = "306"
source = { registry = "https://pypi.org/simple" }
wheels = [{ url = "https://files.example/pywin32-306-cp311-cp311-win_amd64.whl", hash = "sha256:` + sha + `" }]

[[package]]
name = "uvicorn"
version = "0.17.6"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "h11" }]
wheels = [{ url = "https://files.example/uvicorn-0.17.6-py3-none-any.whl", hash = "sha256:` + sha + `" }]

[package.optional-dependencies]
standard = [{ name = "httptools", marker = "sys_platform != 'win32'" }]

[[package]]
name = "h11"
version = "0.14.0"
source = { registry = "https://pypi.org/simple" }
wheels = [{ url = "https://files.example/h11-0.14.0-py3-none-any.whl", hash = "sha256:` + sha + `" }]

[[package]]
name = "httptools"
version = "0.6.1"
source = { registry = "https://pypi.org/simple" }
wheels = [{ url = "https://files.example/httptools-0.6.1-cp311-cp311-manylinux_2_17_x86_64.whl", hash = "sha256:` + sha + `" }]
`

func TestUVLock(t *testing.T) {
	l, err := Read("uv.lock", []byte(uvSample), tgt.MarkerEnv())
	if err != nil {
		t.Fatal(err)
	}
	if got := names(l); got != "click==8.1.3 flask==2.2.2 h11==0.14.0 httptools==0.6.1 uvicorn==0.17.6" {
		t.Errorf("got %s", got)
	}
	if l.Packages[1].Files[0].SHA256() != sha || l.Packages[1].Files[0].Filename != "Flask-2.2.2-py3-none-any.whl" {
		t.Errorf("%+v", l.Packages[1])
	}
}

func TestPoetryAndPDM(t *testing.T) {
	poetry := `[[package]]
name = "flask"
version = "2.2.2"
optional = false
python-versions = ">=3.7"
groups = ["main"]
files = [
    {file = "Flask-2.2.2-py3-none-any.whl", hash = "sha256:` + sha + `"},
    {file = "Flask-2.2.2.tar.gz", hash = "sha256:` + sha + `"},
]

[[package]]
name = "pytest"
version = "7.0"
groups = ["dev"]
files = [{file = "pytest-7.0-py3-none-any.whl", hash = "sha256:` + sha + `"}]

[[package]]
name = "colorama"
version = "0.4.6"
groups = ["main"]
markers = {main = "platform_system == \"Windows\""}
files = [{file = "colorama-0.4.6-py2.py3-none-any.whl", hash = "sha256:` + sha + `"}]

[metadata]
lock-version = "2.1"
python-versions = "^3.11"
content-hash = "abc"
`
	l, err := Read("poetry.lock", []byte(poetry), tgt.MarkerEnv())
	if err != nil || names(l) != "flask==2.2.2" || len(l.Packages[0].Files) != 1 || l.Packages[0].Files[0].URL != "" {
		t.Fatalf("%v %s %+v", err, names(l), l)
	}
	pdm := strings.ReplaceAll(poetry, `groups = ["main"]`, `groups = ["default"]`)
	if l, err := Read("pdm.lock", []byte(pdm), tgt.MarkerEnv()); err != nil || names(l) != "flask==2.2.2" {
		t.Fatalf("pdm: %v %s", err, names(l))
	}
	sdistOnly := `[[package]]
name = "legacy"
version = "1.0"
category = "main"
files = [{file = "legacy-1.0.tar.gz", hash = "sha256:` + sha + `"}]
`
	if _, err := Read("poetry.lock", []byte(sdistOnly), tgt.MarkerEnv()); err == nil || !strings.Contains(err.Error(), "no wheel") {
		t.Errorf("sdist-only package: %v", err)
	}
}

func TestPipfileLockAndHashedRequirements(t *testing.T) {
	pf := `{"_meta": {"pipfile-spec": 6}, "default": {
  "flask": {"version": "==2.2.2", "hashes": ["sha256:` + sha + `"]},
  "pywin32": {"version": "==306", "hashes": ["sha256:` + sha + `"], "markers": "sys_platform == 'win32'"}},
  "develop": {"pytest": {"version": "==7.0", "hashes": ["sha256:` + sha + `"]}}}`
	l, err := Read("Pipfile.lock", []byte(pf), tgt.MarkerEnv())
	if err != nil || names(l) != "flask==2.2.2" || l.Packages[0].Hashes[0] != sha {
		t.Fatalf("%v %s", err, names(l))
	}
	req, err := pyproject.ParseRequirements("requirements.txt", []byte("flask==2.2.2 --hash=sha256:"+sha+"\nclick==8.1.3 \\\n    --hash=sha256:"+sha+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	l, err = FromRequirements(req, tgt.MarkerEnv())
	if err != nil || names(l) != "click==8.1.3 flask==2.2.2" {
		t.Fatalf("%v %s", err, names(l))
	}
	req, _ = pyproject.ParseRequirements("requirements.txt", []byte("flask==2.2.2 --hash=sha256:"+sha+"\nclick>=8\n"))
	if _, err := FromRequirements(req, tgt.MarkerEnv()); err == nil || !strings.Contains(err.Error(), "requirements.txt:2") {
		t.Errorf("unpinned requirement in hash-checking mode: %v", err)
	}
}

func TestBadLocks(t *testing.T) {
	for file, data := range map[string]string{
		"uv.lock":      "version = 1\n[[package]]\nname = \"x\"\nversion = \"1\"\nsource = { registry = \"r\" }\n",
		"poetry.lock":  "[[package]\nname=",
		"Pipfile.lock": `{"default": {"x": {"version": "*"}}}`,
		"pylock.toml":  "[[packages]]\nname = \"x\"\n",
	} {
		_, err := Read(file, []byte(data), tgt.MarkerEnv())
		if err == nil || !strings.Contains(err.Error(), file) {
			t.Errorf("%s: err = %v", file, err)
		}
	}
}

func FuzzRead(f *testing.F) {
	f.Add("uv.lock", []byte(uvSample))
	f.Add("pylock.toml", []byte("lock-version = \"1.0\"\n[[packages]]\nname = \"a\"\n[[packages.wheels]]\nurl = \"https://x/a-1-py3-none-any.whl\"\nhashes = {sha256 = \"00\"}\n"))
	f.Add("poetry.lock", []byte("[[package]]\nname = \"a\"\nversion = \"1\"\nfiles = [{file = \"a-1-py3-none-any.whl\", hash = \"sha256:00\"}]\n"))
	f.Add("Pipfile.lock", []byte(`{"default": {"a": {"version": "==1", "hashes": ["sha256:00"]}}}`))
	f.Fuzz(func(t *testing.T, file string, data []byte) {
		switch file {
		case "uv.lock", "pylock.toml", "poetry.lock", "pdm.lock", "Pipfile.lock":
		default:
			file = "uv.lock"
		}
		_, _ = Read(file, data, tgt.MarkerEnv())
	})
}

// A committed lock is input pyship does not control: a wheel name or sha256 that could
// lead a cache path out of the cache is refused with the lock's name, in every format.
func TestLockRefusesPathNames(t *testing.T) {
	planted := "x-1.0-py3-none-any.whl/../../../../../outside/planted.whl"
	for _, c := range []struct{ file, data, want string }{
		{"pylock.toml", "lock-version = \"1.0\"\n[[packages]]\nname = \"x\"\nversion = \"1.0\"\n[[packages.wheels]]\nname = \"" + planted + "\"\nurl = \"https://files.example/x-1.0-py3-none-any.whl\"\nhashes = {sha256 = \"" + sha + "\"}\n", "path separator"},
		{"pylock.toml", "lock-version = \"1.0\"\n[[packages]]\nname = \"x\"\nversion = \"1.0\"\n[[packages.wheels]]\nurl = \"https://files.example/x-1.0-py3-none-any.whl\"\nhashes = {sha256 = \"../../outside\"}\n", "not a sha256"},
		{"pylock.toml", "lock-version = \"1.0\"\n[[packages]]\nname = \"x\"\nversion = \"1.0\"\n[[packages.wheels]]\nurl = \"https://files.example/..\"\nhashes = {sha256 = \"" + sha + "\"}\n", "not a file name"},
		{"uv.lock", "version = 1\n[[package]]\nname = \"app\"\nversion = \"0\"\nsource = { virtual = \".\" }\ndependencies = [{ name = \"x\" }]\n[[package]]\nname = \"x\"\nversion = \"1.0\"\nsource = { registry = \"r\" }\nwheels = [{ url = \"https://files.example/x-1.0-py3-none-any.whl%2F..%2F..%2Fp.whl\", hash = \"sha256:" + sha + "\" }]\n", "not a wheel file name"},
		{"uv.lock", "version = 1\n[[package]]\nname = \"app\"\nversion = \"0\"\nsource = { virtual = \".\" }\ndependencies = [{ name = \"x\" }]\n[[package]]\nname = \"x\"\nversion = \"1.0\"\nsource = { registry = \"r\" }\nwheels = [{ url = \"https://files.example/x-1.0-py3-none-any.whl\", hash = \"sha256:../../o\" }]\n", "not a sha256"},
		{"poetry.lock", "[[package]]\nname = \"x\"\nversion = \"1.0\"\nfiles = [{file = \"" + planted + "\", hash = \"sha256:" + sha + "\"}]\n", "path separator"},
	} {
		_, err := Read(c.file, []byte(c.data), tgt.MarkerEnv())
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), c.file) {
			t.Errorf("%s: err = %v, want %q naming the file", c.file, err, c.want)
		}
	}
}
