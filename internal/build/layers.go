package build

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/pyship/pyship/internal/buildctx"
	"github.com/pyship/pyship/internal/layer"
	"github.com/pyship/pyship/internal/plan"
	"github.com/pyship/pyship/internal/target"
	"github.com/pyship/pyship/internal/wheel"
)

// layoutVersion changes when the bytes pyship writes for the same inputs change, so
// that cached layers from an older pyship are not reused.
const layoutVersion = "pyship-layers-2"

// bigWheel is the compressed size from which a wheel gets a layer of its own: a change
// elsewhere then leaves its (large) layer untouched, and layers upload in parallel.
const bigWheel = 16 << 20

func scheme(t target.Target) (wheel.Scheme, string) {
	major, minor, _ := t.MinorVersion()
	mm := fmt.Sprintf("%d.%d", major, minor)
	return wheel.Scheme{
		Prefix:       plan.VenvDir,
		SitePackages: path.Join(plan.VenvDir, "lib", "python"+mm, "site-packages"),
		PythonMinor:  mm,
		Interpreter:  plan.VenvDir + "/bin/python",
	}, mm
}

// venvSource names the skeleton's entries in conflict errors.
const venvSource = "pyship's venv"

// venvSkeleton adds what `python -m venv` would create, without running Python: the
// interpreter links to the base image's Python, and pyvenv.cfg makes it a venv.
func venvSkeleton(tree *layer.Tree, t target.Target) error {
	s, mm := scheme(t)
	home := path.Dir(t.Interpreter)
	cfg := fmt.Sprintf("home = %s\ninclude-system-site-packages = false\nversion = %s\nexecutable = %s\ncommand = %s -m venv %s\n",
		home, t.Python, t.Interpreter, t.Interpreter, plan.VenvDir)
	links := map[string]string{"bin/python": t.Interpreter, "bin/python3": "python", "bin/python" + mm: "python", "lib64": "lib"}
	for p, to := range links {
		if err := tree.Add(layer.Entry{Path: path.Join(plan.VenvDir, p), Type: tar.TypeSymlink, Mode: 0o777, Linkname: to, Source: venvSource}); err != nil {
			return err
		}
	}
	// bin and lib are directories through the links and site-packages below them, so
	// a wheel that would make either a file conflicts with these entries.
	if err := tree.Add(layer.Entry{Path: s.SitePackages, Type: tar.TypeDir, Mode: 0o755, Source: venvSource}); err != nil {
		return err
	}
	return tree.Add(layer.Entry{Path: path.Join(plan.VenvDir, "pyvenv.cfg"), Type: tar.TypeReg, Mode: 0o644, Size: int64(len(cfg)), Source: venvSource,
		Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(cfg)), nil }})
}

// group splits wheels into layers: each big wheel alone, the rest together (first).
func group(ws []Wheel) [][]Wheel {
	var small []Wheel
	var big [][]Wheel
	for _, w := range ws {
		if w.File.Size >= bigWheel || fileSize(w.Path) >= bigWheel {
			big = append(big, []Wheel{w})
		} else {
			small = append(small, w)
		}
	}
	sort.Slice(big, func(i, j int) bool { return big[i][0].Name < big[j][0].Name })
	return append([][]Wheel{small}, big...)
}

func fileSize(p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return st.Size()
}

// depsKey names a dependency layer by everything that decides its bytes.
func depsKey(ws []Wheel, t target.Target, skeleton bool) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n%v\n", layoutVersion, t.Interpreter, t.Python, skeleton)
	for _, w := range ws {
		fmt.Fprintf(h, "%s %s\n", w.SHA256, w.Filename)
	}
	return "deps-" + hex.EncodeToString(h.Sum(nil))[:32]
}

// depsPlan is one dependency layer before it is written: its wheels installed into a
// tree whose file contents are read from the (open) wheels only when written, or the
// stored layer when the set was checked before.
type depsPlan struct {
	wheels []Wheel
	key    string
	tree   *layer.Tree
	stored *layer.File
}

// checksVersion changes when planDeps checks more, so that a set noted by an older
// pyship is checked again.
const checksVersion = "pyship-deps-checks-1"

// checkedKey names a whole set of dependency layers: the checks of planDeps depend on
// every wheel of every group, and on what each was pinned as.
func checkedKey(groups [][]Wheel, t target.Target) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", checksVersion)
	for i, g := range groups {
		fmt.Fprintf(h, "%s\n", depsKey(g, t, i == 0))
		for _, w := range g {
			fmt.Fprintf(h, "%s %s\n", w.Name, w.Version)
		}
	}
	return "deps-checked-" + hex.EncodeToString(h.Sum(nil))[:32]
}

// planDeps installs each group into a tree of its own (the venv skeleton into the
// first) and checks the trees against each other: a path that two wheels, or a wheel
// and the venv, claim differently is refused here, naming them, and not left to the
// engine (which names no wheel) or to layer order (which would hide one silently).
// The checks depend on the whole set, so every wheel is opened even when its layer is
// cached, unless this same set passed them before and all its layers are stored.
// Close the returned wheels when the layers are written.
func planDeps(groups [][]Wheel, t target.Target, store layer.Store, media types.MediaType, noCache bool) ([]depsPlan, []*wheel.Wheel, error) {
	plans := make([]depsPlan, len(groups))
	checked := checkedKey(groups, t)
	if !noCache && store.Noted(checked) {
		all := true
		for i, g := range groups {
			key := depsKey(g, t, i == 0)
			f, ok := store.Get(key, media)
			plans[i] = depsPlan{wheels: g, key: key, stored: f}
			all = all && ok
		}
		if all {
			return plans, nil, nil
		}
	}
	s, _ := scheme(t)
	var opened []*wheel.Wheel
	fail := func(err error) ([]depsPlan, []*wheel.Wheel, error) {
		for _, w := range opened {
			w.Close()
		}
		return nil, nil, err
	}
	trees := make([]*layer.Tree, len(groups))
	for i, g := range groups {
		tree := layer.NewTree()
		if i == 0 {
			if err := venvSkeleton(tree, t); err != nil {
				return fail(err)
			}
		}
		for _, w := range g {
			wh, err := wheel.Open(w.Path)
			if err != nil {
				return fail(err)
			}
			opened = append(opened, wh)
			if err := checkPin(w, wh); err != nil {
				return fail(err)
			}
			if err := wh.Install(tree, s); err != nil {
				return fail(err)
			}
		}
		plans[i] = depsPlan{wheels: g, key: depsKey(g, t, i == 0), tree: tree}
		trees[i] = tree
	}
	if err := layer.CheckDisjoint(trees...); err != nil {
		return fail(err)
	}
	if err := store.Note(checked); err != nil {
		return fail(err)
	}
	return plans, opened, nil
}

// depsLayer writes a planned dependency layer, or takes it from the store.
func depsLayer(store layer.Store, p depsPlan, media types.MediaType, mtime time.Time, noCache bool) (*layer.File, bool, error) {
	if p.stored != nil && p.tree == nil {
		return p.stored, true, nil
	}
	if !noCache {
		if f, ok := store.Get(p.key, media); ok {
			return f, true, nil
		}
	}
	f, err := store.Put(p.key, media, func(w io.Writer) error { return p.tree.WriteTar(w, mtime) })
	return f, false, err
}

// appLayer puts the build context, filtered by .dockerignore, under /app. Files keep
// only whether they are executable (0755/0644) and belong to root, so the app cannot
// rewrite itself; dirs listed in writable are owned by the app's user.
func appLayer(store layer.Store, ctx *buildctx.Context, media types.MediaType, mtime time.Time, writable []string, noCache bool) (*layer.File, bool, error) {
	files, err := ctx.Files()
	if err != nil {
		return nil, false, err
	}
	tree := layer.NewTree()
	h := sha256.New()
	fmt.Fprintf(h, "%s\napp\n%d\n%v\n", layoutVersion, mtime.Unix(), writable)
	if err := tree.Add(layer.Entry{Path: "app", Type: tar.TypeDir, Mode: 0o755}); err != nil {
		return nil, false, err
	}
	for _, rel := range files {
		p := filepath.Join(ctx.Dir, filepath.FromSlash(rel))
		st, err := os.Lstat(p)
		if err != nil {
			return nil, false, err
		}
		dest := path.Join("app", rel)
		switch {
		case st.Mode()&fs.ModeSymlink != 0:
			to, err := os.Readlink(p)
			if err != nil {
				return nil, false, err
			}
			if clean := path.Clean(path.Join(path.Dir(rel), to)); path.IsAbs(to) || clean == ".." || strings.HasPrefix(clean, "../") {
				return nil, false, fmt.Errorf("%s: symlink to %s leaves the project; the image would not have its target", rel, to)
			}
			fmt.Fprintf(h, "L %s %s\n", rel, to)
			if err := tree.Add(layer.Entry{Path: dest, Type: tar.TypeSymlink, Mode: 0o777, Linkname: to}); err != nil {
				return nil, false, err
			}
		case st.Mode().IsRegular():
			mode := int64(0o644)
			if st.Mode()&0o111 != 0 {
				mode = 0o755
			}
			fmt.Fprintf(h, "F %s %o %d %d\n", rel, mode, st.Size(), st.ModTime().UnixNano())
			size := st.Size()
			if err := tree.Add(layer.Entry{Path: dest, Type: tar.TypeReg, Mode: mode, Size: size, Open: func() (io.ReadCloser, error) {
				return os.Open(p)
			}}); err != nil {
				return nil, false, err
			}
		}
	}
	for _, d := range writable {
		if err := tree.Add(layer.Entry{Path: d, Type: tar.TypeDir, Mode: 0o755, UID: plan.UID, GID: plan.UID}); err != nil {
			return nil, false, err
		}
	}
	// The key covers names, sizes and modification times: a cheap stat, not a read.
	key := "app-" + hex.EncodeToString(h.Sum(nil))[:32]
	if !noCache {
		if f, ok := store.Get(key, media); ok {
			return f, true, nil
		}
	}
	f, err := store.Put(key, media, func(w io.Writer) error { return tree.WriteTar(w, mtime) })
	return f, false, err
}
