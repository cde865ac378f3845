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
const layoutVersion = "pyship-layers-1"

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

// venvSkeleton adds what `python -m venv` would create, without running Python: the
// interpreter links to the base image's Python, and pyvenv.cfg makes it a venv.
func venvSkeleton(tree *layer.Tree, t target.Target) error {
	s, mm := scheme(t)
	home := path.Dir(t.Interpreter)
	cfg := fmt.Sprintf("home = %s\ninclude-system-site-packages = false\nversion = %s\nexecutable = %s\ncommand = %s -m venv %s\n",
		home, t.Python, t.Interpreter, t.Interpreter, plan.VenvDir)
	links := map[string]string{"bin/python": t.Interpreter, "bin/python3": "python", "bin/python" + mm: "python", "lib64": "lib"}
	for p, to := range links {
		if err := tree.Add(layer.Entry{Path: path.Join(plan.VenvDir, p), Type: tar.TypeSymlink, Mode: 0o777, Linkname: to}); err != nil {
			return err
		}
	}
	if err := tree.Add(layer.Entry{Path: s.SitePackages, Type: tar.TypeDir, Mode: 0o755}); err != nil {
		return err
	}
	return tree.AddBytes(path.Join(plan.VenvDir, "pyvenv.cfg"), 0o644, []byte(cfg))
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

// depsLayer installs a group of wheels into one layer, or takes it from the store.
func depsLayer(store layer.Store, ws []Wheel, t target.Target, skeleton bool, media types.MediaType, mtime time.Time, noCache bool) (*layer.File, bool, error) {
	key := depsKey(ws, t, skeleton)
	if !noCache {
		if f, ok := store.Get(key, media); ok {
			return f, true, nil
		}
	}
	tree := layer.NewTree()
	if skeleton {
		if err := venvSkeleton(tree, t); err != nil {
			return nil, false, err
		}
	}
	s, _ := scheme(t)
	var opened []*wheel.Wheel
	defer func() {
		for _, w := range opened {
			w.Close()
		}
	}()
	for _, w := range ws {
		wh, err := wheel.Open(w.Path)
		if err != nil {
			return nil, false, err
		}
		opened = append(opened, wh)
		if err := wh.Install(tree, s); err != nil {
			return nil, false, err
		}
	}
	f, err := store.Put(key, media, func(w io.Writer) error { return tree.WriteTar(w, mtime) })
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
