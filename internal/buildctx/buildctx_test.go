package buildctx

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pyship/pyship/internal/testutil"
)

var defaults = []string{".env", ".env.*", "!.env.example", "**/.env", "*.pem", "**/__pycache__", "**/*.py[cod]", ".git", "build", "*.egg-info", "Dockerfile*"}

// Files matches each path from its parent's results; it must agree with matching the
// path alone (Excluded, which re-matches every parent) on every file of random trees.
func TestFilesAgreesWithExcluded(t *testing.T) {
	names := []string{"a", "build", ".env", ".env.example", "x.pyc", "__pycache__", "app.py", "k.pem", "pkg.egg-info", "Dockerfile"}
	pattern := [][]string{defaults, {"*", "!app.py", "!a/"}, {"a/**/x.pyc", "!a/build"}, {"**", "!**/app.py"}, nil}
	for seed := uint64(0); seed < 40; seed++ {
		r := rand.New(rand.NewPCG(seed, 1))
		dir := t.TempDir()
		var all []string
		for i := 0; i < 30; i++ {
			depth := 1 + r.IntN(4)
			parts := make([]string, depth)
			for j := range parts {
				parts[j] = names[r.IntN(len(names))]
			}
			rel := strings.Join(parts, "/")
			p := filepath.Join(dir, filepath.FromSlash(rel))
			if os.MkdirAll(filepath.Dir(p), 0o755) != nil || os.WriteFile(p, []byte("x"), 0o644) != nil {
				continue // a name already taken as a file or directory
			}
			all = append(all, rel)
		}
		pats := pattern[seed%uint64(len(pattern))]
		c, err := OpenWithDefault(dir, pats)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Files()
		if err != nil {
			t.Fatal(err)
		}
		in := map[string]bool{}
		for _, f := range got {
			in[f] = true
		}
		for _, f := range all {
			if want := !c.Excluded(f); in[f] != want {
				t.Errorf("seed %d patterns %q: %s sent=%v, Excluded says sent=%v", seed, pats, f, in[f], want)
			}
		}
	}
}

// A tree hundreds of directories deep: matching used to be cubic in the depth (28 s at
// 600 with pyship's default rules, which have an exclusion and so walk everything).
func BenchmarkFilesDeepTree(b *testing.B) {
	for _, depth := range []int{150, 300, 600} {
		b.Run(fmt.Sprint("depth=", depth), func(b *testing.B) {
			dir := b.TempDir()
			p := filepath.Join(dir, strings.Repeat("d/", depth))
			os.MkdirAll(p, 0o755)
			os.WriteFile(filepath.Join(p, "x.py"), nil, 0o644)
			c, err := OpenWithDefault(dir, defaults)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if files, err := c.Files(); err != nil || len(files) != 1 {
					b.Fatal(files, err)
				}
			}
		})
	}
}

// A Dockerfile from outside the context (build -f ../Dockerfile .) travels with the
// context as an extra file; an extra file's name cannot leave the context.
func TestWriteTarExtraFile(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "app.py"), []byte("print(1)\n"), 0o644)
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.WriteTar(&buf, ".pyship.Dockerfile.x", File{Name: ".pyship.Dockerfile.x", Data: []byte("FROM scratch\n")}); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range testutil.ReadTar(t, &buf) {
		got[e.Name] = e.Body
	}
	if got["app.py"] != "print(1)\n" || got[".pyship.Dockerfile.x"] != "FROM scratch\n" || len(got) != 2 {
		t.Errorf("tar holds %v", got)
	}
	if err := c.WriteTar(io.Discard, "", File{Name: "../x", Data: nil}); err == nil {
		t.Error("an extra file named ../x was written")
	}
}
