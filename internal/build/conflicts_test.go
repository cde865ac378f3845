package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/pyship/pyship/internal/layer"
	"github.com/pyship/pyship/internal/target"
	"github.com/pyship/pyship/internal/testutil"
	"github.com/pyship/pyship/internal/wheel"
)

// evil is a wheel of project evil 1.0 with extra files; meta replaces its METADATA.
func evil(t testing.TB, meta string, extra map[string]string) (string, []byte) {
	files := map[string]string{
		"evil/__init__.py":            "",
		"evil-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: evil\nVersion: 1.0\n",
		"evil-1.0.dist-info/WHEEL":    "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
	}
	if meta != "" {
		files["evil-1.0.dist-info/METADATA"] = meta
	}
	for k, v := range extra {
		files[k] = v
	}
	return "evil-1.0-py3-none-any.whl", testutil.WheelZip(t, files)
}

// hostileIndex serves the test dists and the given wheels as a PEP 503 index.
func hostileIndex(t *testing.T, wheels map[string][]byte) string {
	t.Helper()
	all := map[string][]byte{}
	for _, d := range dists {
		all[d.Filename()] = testutil.Wheel(t, d)
	}
	for k, v := range wheels {
		all[k] = v
	}
	pages := map[string]*strings.Builder{}
	mux := http.NewServeMux()
	for name, data := range all {
		n, err := wheel.ParseName(name)
		if err != nil {
			t.Fatal(err)
		}
		if pages[n.Dist] == nil {
			pages[n.Dist] = &strings.Builder{}
		}
		sum := sha256.Sum256(data)
		fmt.Fprintf(pages[n.Dist], "<a href=\"../../files/%s#sha256=%s\">%s</a>\n", name, hex.EncodeToString(sum[:]), name)
		mux.HandleFunc("/files/"+name, func(w http.ResponseWriter, r *http.Request) { w.Write(data) })
	}
	for p, page := range pages {
		body := page.String()
		mux.HandleFunc("/simple/"+p+"/", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(body))
		})
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/simple"
}

// Wheels from an index pyship does not control: each shape below built an image the
// engine refused with a message naming no wheel, or installed quietly what it should
// not. Each must now fail the build, naming the wheel.
func TestHostileWheels(t *testing.T) {
	ctx := context.Background()
	base := testutil.FakeBase(t, "amd64")
	cases := []struct {
		name  string
		meta  string
		extra map[string]string
		want  []string
	}{
		{"data/bin as a file", "", map[string]string{"evil-1.0.data/data/bin": "x"},
			[]string{"/opt/venv/bin: evil-1.0-py3-none-any.whl installs a file here, but pyship's venv needs a directory here"}},
		{"under the venv's lib64 link", "", map[string]string{"evil-1.0.data/data/lib64/x.so": "x"},
			[]string{"/opt/venv/lib64: pyship's venv installs a symlink here, but evil-1.0-py3-none-any.whl needs a directory here"}},
		{"over the venv's python", "", map[string]string{"evil-1.0.data/scripts/python": "#!/bin/sh\n"},
			[]string{"/opt/venv/bin/python: both pyship's venv (a symlink) and evil-1.0-py3-none-any.whl (a file)"}},
		{"over another wheel's module", "", map[string]string{"evil-1.0.data/purelib/flask/__init__.py": "evil = True\n"},
			[]string{"flask/__init__.py: both ", "flask-2.2.2-py3-none-any.whl", "evil-1.0-py3-none-any.whl", "different contents"}},
		{"a file where another wheel has a package", "", map[string]string{"evil-1.0.data/purelib/werkzeug": "x"},
			[]string{"/site-packages/werkzeug: ", "evil-1.0-py3-none-any.whl installs a file here, but werkzeug-2.2.2-py3-none-any.whl needs a directory here"}},
		{"claims to be flask", "Metadata-Version: 2.1\nName: flask\nVersion: 2.2.2\n", nil,
			[]string{"evil-1.0-py3-none-any.whl: evil-1.0.dist-info/METADATA says Name: flask, but the file name is for evil"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name, data := evil(t, c.meta, c.extra)
			dir, p := project(t, map[string]string{"requirements.txt": "flask\nevil\n"})
			o := options(t, dir, p, base, hostileIndex(t, map[string][]byte{name: data}))
			_, err := Build(ctx, o)
			if err == nil {
				t.Fatal("built")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
			if left, _ := filepath.Glob(filepath.Join(o.CacheDir, "layers", "deps-*")); len(left) != 0 {
				t.Errorf("a dependency layer was written: %v", left)
			}
		})
	}
	// Two wheels may ship the same file with the same bytes (namespace __init__.py
	// files): the order they are applied in cannot matter.
	t.Run("identical shared file", func(t *testing.T) {
		name, data := evil(t, "", map[string]string{"evil-1.0.data/purelib/werkzeug/__init__.py": ""})
		dir, p := project(t, map[string]string{"requirements.txt": "flask\nevil\n"})
		if _, err := Build(ctx, options(t, dir, p, base, hostileIndex(t, map[string][]byte{name: data}))); err != nil {
			t.Fatal(err)
		}
	})
}

// A big wheel gets a layer of its own; conflicts are checked across layers (a later
// layer would hide the earlier one's file) and against the venv in the first layer.
func TestPlanDepsAcrossLayers(t *testing.T) {
	tg := target.Target{Python: "3.11.2", Interpreter: "/usr/local/bin/python3.11"}
	dir := t.TempDir()
	write := func(file string, data []byte) Wheel {
		p := filepath.Join(dir, file)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		n, _ := wheel.ParseName(file)
		return Wheel{Name: n.Dist, Version: n.Version.String(), Filename: file, Path: p}
	}
	a := write("a-1.0-py3-none-any.whl", testutil.WheelZip(t, map[string]string{
		"shared/x.py": "a\n", "same/__init__.py": "",
		"a-1.0.dist-info/METADATA": "Name: a\nVersion: 1.0\n", "a-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\n",
	}))
	same := write("b-1.0-py3-none-any.whl", testutil.WheelZip(t, map[string]string{
		"same/__init__.py":         "",
		"b-1.0.dist-info/METADATA": "Name: b\nVersion: 1.0\n", "b-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\n",
	}))
	differs := write("c-1.0-py3-none-any.whl", testutil.WheelZip(t, map[string]string{
		"shared/x.py":              "c\n",
		"c-1.0.dist-info/METADATA": "Name: c\nVersion: 1.0\n", "c-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\n",
	}))
	underFile := write("d-1.0-py3-none-any.whl", testutil.WheelZip(t, map[string]string{
		"d-1.0.data/data/pyvenv.cfg/x": "d\n",
		"d-1.0.dist-info/METADATA":     "Name: d\nVersion: 1.0\n", "d-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\n",
	}))
	check := func(groups [][]Wheel) error {
		_, opened, err := planDeps(groups, tg, layer.Store{Dir: t.TempDir()}, types.OCILayer, false)
		for _, w := range opened {
			w.Close()
		}
		return err
	}
	if err := check([][]Wheel{{a}, {same}}); err != nil {
		t.Errorf("identical file in two layers: %v", err)
	}
	err := check([][]Wheel{{a}, {differs}})
	if err == nil || !strings.Contains(err.Error(), "shared/x.py: both a-1.0-py3-none-any.whl (a file) and c-1.0-py3-none-any.whl (a file)") {
		t.Errorf("two layers, one path: %v", err)
	}
	err = check([][]Wheel{{a}, {underFile}})
	if err == nil || !strings.Contains(err.Error(), "/opt/venv/pyvenv.cfg: pyship's venv installs a file here, but d-1.0-py3-none-any.whl needs a directory here") {
		t.Errorf("a big wheel under the venv's pyvenv.cfg: %v", err)
	}

	// A set that passed is noted with its layers: the next build with the same set
	// opens no wheel. A set that failed is checked again, every time.
	store := layer.Store{Dir: t.TempDir()}
	plans, opened, err := planDeps([][]Wheel{{a}, {same}}, tg, store, types.OCILayer, false)
	if err != nil || len(opened) != 2 {
		t.Fatalf("first plan: %d opened, %v", len(opened), err)
	}
	for _, p := range plans {
		if _, _, err := depsLayer(store, p, types.OCILayer, DefaultEpoch, false); err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range opened {
		w.Close()
	}
	plans, opened, err = planDeps([][]Wheel{{a}, {same}}, tg, store, types.OCILayer, false)
	if err != nil || len(opened) != 0 || plans[1].stored == nil {
		t.Errorf("second plan of the same set: %d opened, %v", len(opened), err)
	}
	for range 2 {
		if _, _, err := planDeps([][]Wheel{{a}, {differs}}, tg, store, types.OCILayer, false); err == nil {
			t.Error("a conflicting set passed")
		}
	}
	renamed := a
	renamed.Name = "flask"
	if _, _, err := planDeps([][]Wheel{{renamed}, {same}}, tg, store, types.OCILayer, false); err == nil {
		t.Error("the same files pinned as another project passed on the note of the first")
	}

	// The wheel must be the distribution and version that was pinned.
	for _, c := range []struct {
		name, version, want string
	}{
		{"A", "1.0.0", ""},
		{"a", "", ""},
		{"flask", "1.0", "a-1.0-py3-none-any.whl: a wheel of a, but flask was to be installed"},
		{"a", "2.0", "a-1.0-py3-none-any.whl: a wheel of a 1.0, but a 2.0 was to be installed"},
		{"a", "not a version", "is not a version"},
	} {
		w := a
		w.Name, w.Version = c.name, c.version
		err := check([][]Wheel{{w}})
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("pinned %s %q: err = %v, want %q", c.name, c.version, err, c.want)
		}
	}
}
