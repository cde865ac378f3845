package internal_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// layers orders pyship's packages: each may import only packages of a lower layer,
// so imports point one way (from the command line down to the formats), stages stay
// apart, and the targets (kube, azure) never import each other or the commands. A new
// package gets a layer here; a new import that points up fails TestImportsPointDown.
var layers = map[string]int{
	// Leaves: no pyship imports.
	"atomicfile": 0, "imageref": 0, "projectfs": 0, "dockersave": 0, "testutil": 0,
	"store": 0, "gateway": 0, "azure": 0,
	// Python packaging formats.
	"pep440": 1, "buildctx": 1, "layer": 1,
	"pyproject": 2, "engine": 2,
	"marker": 3, "plan": 3, "platform": 3,
	"target": 4, "scaffold": 4, "check": 4, "kube": 4,
	"wheel": 5, "base": 5,
	"index": 6,
	"lock":  7, "resolve": 7,
	"build":   8,
	"publish": 9, "dashboard": 9,
	// The commands, over everything.
	"cli": 10,
}

const module = "github.com/pyship/pyship/internal/"

func TestImportsPointDown(t *testing.T) {
	dirs, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		pkg := d.Name()
		files, _ := filepath.Glob(filepath.Join(pkg, "*.go"))
		var src []string
		for _, f := range files {
			if !strings.HasSuffix(f, "_test.go") {
				src = append(src, f)
			}
		}
		if len(src) == 0 {
			continue
		}
		seen++
		layer, ok := layers[pkg]
		if !ok {
			t.Errorf("internal/%s has no layer: add it to layers", pkg)
			continue
		}
		bad := map[string]bool{}
		fset := token.NewFileSet()
		for _, f := range src {
			file, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range file.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				dep, ok := strings.CutPrefix(path, module)
				if !ok {
					continue
				}
				dep, _, _ = strings.Cut(dep, "/")
				if l, known := layers[dep]; known && l >= layer {
					bad[dep+" ("+filepath.Base(f)+")"] = true
				}
			}
		}
		if len(bad) > 0 {
			list := make([]string, 0, len(bad))
			for b := range bad {
				list = append(list, b)
			}
			sort.Strings(list)
			t.Errorf("internal/%s (layer %d) imports packages of its own layer or above: %s", pkg, layer, strings.Join(list, ", "))
		}
	}
	if seen < 20 {
		t.Errorf("only %d packages found: is the test run from internal/?", seen)
	}
}
