package resolve

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/pyship/pyship/internal/index"
	"github.com/pyship/pyship/internal/pyproject"
	"github.com/pyship/pyship/internal/target"
	"github.com/pyship/pyship/internal/wheel"
)

// fakeIndex is an index held in memory: name → version → Requires-Dist lines. A
// version written "1.0!yanked", "1.0@cp312-cp312-manylinux_2_17_x86_64" or
// "1.0>=3.12" (requires-python) sets that file property; "1.0.tar.gz" is an sdist.
type fakeIndex map[string]map[string][]string

func (f fakeIndex) Project(_ context.Context, name string) ([]index.File, error) {
	vs, ok := f[name]
	if !ok {
		return nil, fmt.Errorf("package %s: %w", name, index.ErrNotFound)
	}
	var out []index.File
	for v := range vs {
		file := index.File{Hashes: map[string]string{"sha256": "00"}}
		ver, tag := v, "py3-none-any"
		if a, b, ok := strings.Cut(ver, "@"); ok {
			ver, tag = a, b
		}
		if a, ok := strings.CutSuffix(ver, "!yanked"); ok {
			ver, file.Yanked = a, true
		}
		if a, b, ok := strings.Cut(ver, ">="); ok {
			ver, file.RequiresPython = a, ">="+b
		}
		if strings.HasSuffix(ver, ".tar.gz") {
			file.Filename = name + "-" + ver
		} else {
			file.Filename = fmt.Sprintf("%s-%s-%s.whl", name, ver, tag)
		}
		file.URL = "https://example.invalid/" + file.Filename + "#" + v
		out = append(out, file)
	}
	return out, nil
}

func (f fakeIndex) Metadata(_ context.Context, file index.File) (*wheel.Metadata, error) {
	n, _ := wheel.ParseName(file.Filename)
	_, key, _ := strings.Cut(file.URL, "#")
	m := &wheel.Metadata{Name: n.Dist, Version: n.Version.String()}
	for _, d := range f[n.Dist][key] {
		r, err := pyproject.ParseRequirement(d)
		if err != nil {
			return nil, err
		}
		m.RequiresDist = append(m.RequiresDist, r)
	}
	return m, nil
}

var py311 = target.Target{OS: "linux", Arch: "amd64", Python: "3.11.2", Libc: "glibc", LibcVersion: "2.36"}

func resolve(t *testing.T, idx fakeIndex, reqs ...string) (map[string]string, error) {
	t.Helper()
	var rs []pyproject.Requirement
	var pre bool
	for _, s := range reqs {
		if s == "--pre" {
			pre = true
			continue
		}
		r, err := pyproject.ParseRequirement(s)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	res, err := Resolve(context.Background(), idx, Request{Requirements: rs, Target: py311, Pre: pre})
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, p := range res.Pins {
		out[p.Name] = p.Version.String()
	}
	return out, nil
}

func expect(t *testing.T, got map[string]string, err error, want string) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, kv := range strings.Fields(want) {
		parts = append(parts, kv)
		k, v, _ := strings.Cut(kv, "=")
		if got[k] != v {
			t.Errorf("%s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	if len(got) != len(parts) {
		t.Errorf("got %v, want exactly %s", got, want)
	}
}

func TestNewestCompatible(t *testing.T) {
	idx := fakeIndex{
		"flask":    {"2.2.2": {"werkzeug>=2.2.2", "click>=8.0"}, "2.0.0": {"werkzeug>=2.0"}},
		"werkzeug": {"2.2.2": nil, "2.3.0": nil},
		"click":    {"8.1.3": {"colorama; platform_system == 'Windows'"}},
		"colorama": {"0.4.6": nil},
	}
	got, err := resolve(t, idx, "flask")
	expect(t, got, err, "flask=2.2.2 werkzeug=2.3.0 click=8.1.3")
}

func TestBacktracking(t *testing.T) {
	// The newest a needs b<2, which c rules out: the resolver must go back to a 1.0.
	idx := fakeIndex{
		"a": {"2.0": {"b<2"}, "1.0": nil},
		"b": {"1.0": nil, "2.0": nil},
		"c": {"1.0": {"b>=2"}},
	}
	got, err := resolve(t, idx, "a", "c")
	expect(t, got, err, "a=1.0 b=2.0 c=1.0")
}

func TestBacktrackingThroughTransitive(t *testing.T) {
	// a 2.0 pulls x, and x pins y below what the project asks: a 1.0 (no x) must win.
	idx := fakeIndex{
		"a": {"2.0": {"x"}, "1.0": nil},
		"x": {"1.0": {"y<1"}},
		"y": {"0.5": nil, "1.5": nil},
	}
	got, err := resolve(t, idx, "a", "y>=1")
	expect(t, got, err, "a=1.0 y=1.5")
}

func TestConflictChain(t *testing.T) {
	idx := fakeIndex{
		"a": {"2.0": {"b<3"}},
		"b": {"2.0": nil, "3.1": nil},
		"c": {"1.0": {"b>=3"}},
	}
	_, err := resolve(t, idx, "a==2.0", "c")
	if err == nil {
		t.Fatal("resolved a conflict")
	}
	for _, want := range []string{"cannot resolve b", "a 2.0 needs b<3", "c 1.0 needs b>=3", "available: 3.1, 2.0"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestExtrasAndMarkers(t *testing.T) {
	idx := fakeIndex{
		"fastapi":   {"0.92.0": {"starlette", "uvicorn ; extra == 'all'", "old ; python_version < '3.8'"}},
		"starlette": {"0.26.1": nil},
		"uvicorn":   {"0.17.6": {"h11"}},
		"h11":       {"0.14.0": nil},
		"old":       {"1.0": nil},
	}
	got, err := resolve(t, idx, "fastapi")
	expect(t, got, err, "fastapi=0.92.0 starlette=0.26.1")
	got, err = resolve(t, idx, "fastapi[all]")
	expect(t, got, err, "fastapi=0.92.0 starlette=0.26.1 uvicorn=0.17.6 h11=0.14.0")
	// The extra asked for by a later requirement re-opens a package already chosen.
	idx["app"] = map[string][]string{"1.0": {"fastapi[all]"}}
	got, err = resolve(t, idx, "fastapi", "app")
	expect(t, got, err, "app=1.0 fastapi=0.92.0 starlette=0.26.1 uvicorn=0.17.6 h11=0.14.0")
}

func TestPrereleases(t *testing.T) {
	idx := fakeIndex{"p": {"1.0": nil, "2.0b1": nil}, "q": {"1.0rc1": nil}}
	got, err := resolve(t, idx, "p", "q")
	expect(t, got, err, "p=1.0 q=1.0rc1") // q has only a pre-release: PEP 440 allows it
	got, err = resolve(t, idx, "p", "--pre")
	expect(t, got, err, "p=2.0b1")
	got, err = resolve(t, idx, "p>=2.0b1")
	expect(t, got, err, "p=2.0b1")
}

func TestRequiresPythonYankedAndTags(t *testing.T) {
	idx := fakeIndex{
		"r": {"2.0>=3.12": nil, "1.5": nil},
		"y": {"3.0!yanked": nil, "2.0": nil},
		"n": {"1.1@cp312-cp312-manylinux_2_17_x86_64": nil, "1.0@cp311-cp311-manylinux_2_17_x86_64": nil, "0.9@cp311-cp311-musllinux_1_1_x86_64": nil},
	}
	got, err := resolve(t, idx, "r", "y", "n")
	expect(t, got, err, "r=1.5 y=2.0 n=1.0")
	got, err = resolve(t, idx, "y==3.0")
	expect(t, got, err, "y=3.0") // a yanked file is used when pinned exactly (PEP 592)
}

func TestNoWheel(t *testing.T) {
	idx := fakeIndex{"s": {"1.0.tar.gz": nil, "1.0@cp311-cp311-win_amd64": nil}}
	_, err := resolve(t, idx, "s")
	if err == nil {
		t.Fatal("resolved without a wheel")
	}
	for _, want := range []string{"only source distributions", "s-1.0.tar.gz", "--find-links", "--dockerfile", "win_amd64", "cp311-cp311-manylinux_2_36_x86_64"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	_, err = resolve(t, idx, "nosuch")
	if err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("unknown package: %v", err)
	}
}
