package pyproject

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{"Django": "django", "zope.interface": "zope-interface", "Foo__Bar-.baz": "foo-bar-baz", "psycopg2_binary": "psycopg2-binary"} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseRequirement(t *testing.T) {
	r, err := ParseRequirement(`FastAPI[standard, all]>=0.110,<1 ; python_version >= "3.9"`)
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "fastapi" || strings.Join(r.Extras, ",") != "standard,all" || r.Specifier != ">=0.110,<1" || r.Marker != `python_version >= "3.9"` {
		t.Errorf("got %+v", r)
	}
	if r, err := ParseRequirement("pkg @ https://example.com/pkg.whl"); err != nil || r.URL != "https://example.com/pkg.whl" {
		t.Errorf("URL requirement: %+v %v", r, err)
	}
	for _, bad := range []string{"", ">=1.0", "pkg[unclosed", "pkg >=> 1"} {
		if _, err := ParseRequirement(bad); err == nil {
			t.Errorf("ParseRequirement(%q) accepted", bad)
		}
	}
}

func TestSpecifiers(t *testing.T) {
	cases := []struct {
		spec, v string
		ok      bool
	}{
		{">=3.9", "3.12", true}, {">=3.9,<3.12", "3.12", false}, {"~=3.10", "3.13", true}, {"~=3.10.2", "3.11", false},
		{"==3.11.*", "3.11.7", true}, {"!=3.12.*", "3.12.1", false}, {"<3.10", "3.9.18", true}, {">3.11", "3.11", false},
	}
	for _, c := range cases {
		set, err := ParseSpecifiers(c.spec)
		if err != nil {
			t.Fatal(err)
		}
		v, _ := ParseVersion(c.v)
		if got := set.Contains(v); got != c.ok {
			t.Errorf("%s contains %s = %v, want %v", c.spec, c.v, got, c.ok)
		}
	}
	poetry := []struct {
		c, v string
		ok   bool
	}{{"^3.10", "3.14", true}, {"^3.10", "4.0", false}, {"~3.11", "3.12", false}, {"~3.11", "3.11.5", true}, {">=3.9 <3.12", "3.11", true}, {"^3.8 || ^3.12", "3.12", true}, {"3.12.*", "3.13", false}, {"*", "3.14", true}}
	for _, c := range poetry {
		con, err := ParseConstraint(c.c)
		if err != nil {
			t.Fatal(err)
		}
		v, _ := ParseVersion(c.v)
		if got := con.Contains(v); got != c.ok {
			t.Errorf("constraint %s contains %s = %v, want %v", c.c, c.v, got, c.ok)
		}
	}
}

func TestReadRequirements(t *testing.T) {
	fsys := fstest.MapFS{
		"requirements.txt":      {Data: []byte("-r requirements/base.txt\n-c constraints.txt\n--index-url https://pypi.example/simple\nrequests==2.31 \\\n    --hash=sha256:abc # pinned\n-e git+https://g/x.git#egg=mylib\n")},
		"requirements/base.txt": {Data: []byte("# base\nDjango>=4.2\n-r ../requirements.txt\n")},
		"constraints.txt":       {Data: []byte("urllib3<2\n")},
	}
	r, err := ReadRequirements(fsys, "requirements.txt")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.Names(), ","); got != "django,requests,mylib" {
		t.Errorf("names = %s", got)
	}
	if r.IndexURL != "https://pypi.example/simple" || len(r.Files) != 3 {
		t.Errorf("index %q files %v", r.IndexURL, r.Files)
	}
	for _, l := range r.Requirements {
		if l.Name == "requests" && (len(l.Hashes) != 1 || l.Line != 4) {
			t.Errorf("requests: %+v", l)
		}
		if l.Name == "urllib3" && !l.Constraint {
			t.Errorf("urllib3 should be a constraint")
		}
	}
	_, err = ReadRequirements(fstest.MapFS{"r.txt": {Data: []byte("ok\n-r missing.txt\n")}}, "r.txt")
	if err == nil || !strings.Contains(err.Error(), "r.txt:2") {
		t.Errorf("missing include error = %v", err)
	}
	_, err = ReadRequirements(fstest.MapFS{"r.txt": {Data: []byte("-r ../../etc/passwd\n")}}, "r.txt")
	if err == nil || !strings.Contains(err.Error(), "outside the project") {
		t.Errorf("escaping include error = %v", err)
	}
}

func TestParsePyproject(t *testing.T) {
	p, err := ParsePyproject("pyproject.toml", []byte(`
[project]
name = "svc"
requires-python = ">=3.11"
dependencies = ["fastapi[standard]>=0.110", "SQLAlchemy"]
[project.optional-dependencies]
test = ["pytest"]
[project.scripts]
serve = "svc.cli:main"
[build-system]
build-backend = "hatchling.build"
[dependency-groups]
dev = ["ruff"]
`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(p.Names(), ",") != "fastapi,sqlalchemy" || p.RequiresPython != ">=3.11" || p.Scripts["serve"] != "svc.cli:main" || p.BuildBackend != "hatchling.build" {
		t.Errorf("got %+v", p)
	}
	if strings.Join(p.DevNames, ",") != "pytest,ruff" {
		t.Errorf("dev names = %v", p.DevNames)
	}
	_, err = ParsePyproject("pyproject.toml", []byte("[project]\nname = \"x\"\ndependencies = [\"ok\", \"bad name!\"]\n"))
	if err == nil || !strings.Contains(err.Error(), "pyproject.toml:3") {
		t.Errorf("bad dependency error = %v", err)
	}
}

func TestParseLocks(t *testing.T) {
	cases := map[string]string{
		"uv.lock":      "version = 1\nrequires-python = \">=3.12\"\n[[package]]\nname = \"Flask\"\nversion = \"3.0.0\"\n",
		"poetry.lock":  "[[package]]\nname = \"flask\"\nversion = \"3.0.0\"\n[metadata]\npython-versions = \"^3.12\"\n",
		"pdm.lock":     "[[package]]\nname = \"flask\"\nversion = \"3.0.0\"\n[metadata]\nrequires_python = \">=3.12\"\n",
		"pylock.toml":  "lock-version = \"1.0\"\nrequires-python = \">=3.12\"\n[[packages]]\nname = \"flask\"\nversion = \"3.0.0\"\n",
		"Pipfile.lock": `{"_meta": {"requires": {"python_version": "3.12"}}, "default": {"Flask": {"version": "==3.0.0"}}}`,
	}
	for name, data := range cases {
		l, err := ParseLock(name, []byte(data))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(l.Packages) != 1 || l.Packages[0].Name != "flask" || l.Packages[0].Version != "3.0.0" || !strings.Contains(l.RequiresPython, "3.12") {
			t.Errorf("%s: %+v", name, l)
		}
	}
	if _, err := ParseLock("Pipfile.lock", []byte("{\n\"_meta\": ,\n}")); err == nil || !strings.Contains(err.Error(), "Pipfile.lock:2") {
		t.Errorf("bad Pipfile.lock error = %v", err)
	}
}
