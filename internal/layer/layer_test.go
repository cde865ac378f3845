package layer

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/types"
)

func tree(t *testing.T) *Tree {
	tr := NewTree()
	long := "opt/" + strings.Repeat("deep/", 40) + "file.py"
	for _, e := range []struct {
		p string
		b string
	}{{"b/two.txt", "2"}, {"a/one.txt", "1"}, {long, "long"}} {
		if err := tr.AddBytes(e.p, 0o644, []byte(e.b)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.Add(Entry{Path: "a/link", Type: tar.TypeSymlink, Mode: 0o777, Linkname: "one.txt"}); err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestWriteTarIsReproducible(t *testing.T) {
	var x, y bytes.Buffer
	mt := time.Unix(315532801, 0)
	if err := tree(t).WriteTar(&x, mt); err != nil {
		t.Fatal(err)
	}
	if err := tree(t).WriteTar(&y, mt); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(x.Bytes(), y.Bytes()) {
		t.Fatal("the same tree gave different bytes")
	}
	var names []string
	tr := tar.NewReader(&x)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" || !h.ModTime.Equal(mt) {
			t.Errorf("%s: %d:%d %q %v", h.Name, h.Uid, h.Gid, h.Uname, h.ModTime)
		}
		if h.Typeflag == tar.TypeDir && h.Mode != 0o755 {
			t.Errorf("%s: dir mode %o", h.Name, h.Mode)
		}
	}
	if names[0] != "a/" || names[1] != "a/link" || names[2] != "a/one.txt" || names[3] != "b/" {
		t.Errorf("order: %v", names[:4])
	}
	if !strings.HasSuffix(names[len(names)-1], "file.py") {
		t.Errorf("long name lost: %v", names[len(names)-1])
	}
}

func TestTreeRejects(t *testing.T) {
	tr := NewTree()
	tr.AddBytes("x/y", 0o644, nil)
	for _, p := range []string{"x/y", "../etc/passwd", "/", "a/.wh.b", "a/\x00"} {
		if err := tr.AddBytes(p, 0o644, nil); err == nil {
			t.Errorf("%q accepted", p)
		}
	}
}

func TestStoreRoundTrip(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	f, err := s.Put("k", types.OCILayer, func(w io.Writer) error { return tree(t).WriteTar(w, time.Unix(1, 0)) })
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(f.Path)
	sum := sha256.Sum256(raw)
	if hex.EncodeToString(sum[:]) != f.DigestHex || int64(len(raw)) != f.SizeBytes {
		t.Errorf("digest/size do not describe the file")
	}
	rc, _ := f.Uncompressed()
	u, _ := io.ReadAll(rc)
	rc.Close()
	usum := sha256.Sum256(u)
	if hex.EncodeToString(usum[:]) != f.DiffIDHex {
		t.Errorf("diffID does not describe the tar")
	}
	g, ok := s.Get("k", types.OCILayer)
	if !ok || g.DigestHex != f.DigestHex {
		t.Errorf("Get: %v %+v", ok, g)
	}
	if _, ok := s.Get("missing", types.OCILayer); ok {
		t.Error("Get of a missing key")
	}
	// A failed write leaves nothing behind.
	if _, err := s.Put("bad", types.OCILayer, func(w io.Writer) error { return io.ErrUnexpectedEOF }); err == nil {
		t.Error("error swallowed")
	}
	left, _ := os.ReadDir(s.Dir)
	for _, e := range left {
		if strings.HasPrefix(e.Name(), "bad") {
			t.Errorf("left %s", e.Name())
		}
	}
}

// A path that is a file for one entry and a directory for another gives a tar the
// engine refuses (or, across layers, one that hides files): Add must catch it, in either
// order, and name both sources.
func TestTreeFileDirectoryConflicts(t *testing.T) {
	file := func(p, src string) Entry {
		return Entry{Path: p, Type: tar.TypeReg, Mode: 0o644, Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("")), nil }, Source: src}
	}
	cases := []struct {
		name       string
		first, add Entry
		want       []string
	}{
		{"file then below it", file("opt/x", "a.whl"), file("opt/x/y", "b.whl"), []string{"/opt/x:", "a.whl installs a file", "b.whl needs a directory", "/opt/x/y"}},
		{"below then file", file("opt/x/y/z", "a.whl"), file("opt/x", "b.whl"), []string{"/opt/x:", "b.whl installs a file", "a.whl needs a directory", "/opt/x/y/z"}},
		{"symlink then below it", Entry{Path: "opt/venv/lib64", Type: tar.TypeSymlink, Linkname: "lib", Source: "the venv"}, file("opt/venv/lib64/x.so", "b.whl"), []string{"/opt/venv/lib64:", "the venv installs a symlink", "b.whl needs a directory"}},
		{"directory then file", Entry{Path: "opt/d", Type: tar.TypeDir, Mode: 0o755, Source: "the venv"}, file("opt/d", "b.whl"), []string{"/opt/d:", "b.whl installs a file", "the venv needs a directory"}},
		{"one source", file("x", "a.whl"), file("x/y", "a.whl"), []string{"/x:", "a.whl has a file here and also needs a directory"}},
		{"two files", file("x", "a.whl"), file("x", "b.whl"), []string{"/x:", "both a.whl", "b.whl"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := NewTree()
			if err := tr.Add(c.first); err != nil {
				t.Fatal(err)
			}
			err := tr.Add(c.add)
			var ce *ConflictError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *ConflictError", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
		})
	}
}

// Identical files (same digest, mode and size) may come from two sources; anything
// else at one path is a conflict, within a tree and across the trees of one image.
func TestSharedPaths(t *testing.T) {
	f := func(src, digest string) Entry {
		return Entry{Path: "a/__init__.py", Type: tar.TypeReg, Mode: 0o644, Size: 1, Digest: digest, Source: src, Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("x")), nil }}
	}
	tr := NewTree()
	if err := tr.Add(f("a.whl", "sha256=same")); err != nil {
		t.Fatal(err)
	}
	if err := tr.Add(f("b.whl", "sha256=same")); err != nil {
		t.Errorf("identical file refused: %v", err)
	}
	if err := tr.Add(f("c.whl", "sha256=other")); err == nil || !strings.Contains(err.Error(), "a.whl") || !strings.Contains(err.Error(), "c.whl") {
		t.Errorf("different file: %v", err)
	}
	if err := tr.Add(f("d.whl", "")); err == nil {
		t.Error("a file without a digest shared a path")
	}

	lower, upper := NewTree(), NewTree()
	lower.Add(Entry{Path: "opt/venv/bin/python", Type: tar.TypeSymlink, Linkname: "/usr/bin/python3", Source: "the venv"})
	lower.Add(f("a.whl", "sha256=same"))
	upper.Add(f("b.whl", "sha256=same"))
	if err := CheckDisjoint(lower, upper); err != nil {
		t.Errorf("disjoint trees: %v", err)
	}
	upper.AddBytes("opt/venv/bin/python/x", 0o644, nil)
	err := CheckDisjoint(lower, upper)
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.Path != "/opt/venv/bin/python" || ce.Have.Source != "the venv" {
		t.Errorf("across trees: %v", err)
	}
}

// Whatever sequence of entries a tree accepts, its tar is one the engine takes: no path
// twice, and every entry's parent a directory that comes before it. Each input line is
// a kind (f, d or l) and a path.
func FuzzTree(f *testing.F) {
	f.Add("f a/b\nf a\n")
	f.Add("d a\nf a/b\nl a/c\nf a/c/d\n")
	f.Add("f x\nf x\nd x\n")
	f.Add("l opt/venv/lib64\nf opt/venv/lib64/x.so\nf opt/venv/bin\nf opt/venv/bin/python\n")
	f.Fuzz(func(t *testing.T, script string) {
		tr := NewTree()
		for i, line := range strings.Split(script, "\n") {
			if i > 200 || len(line) < 2 {
				continue
			}
			e := Entry{Path: line[2:], Mode: 0o644, Source: "s"}
			switch line[0] {
			case 'f':
				e.Type, e.Open = tar.TypeReg, func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("")), nil }
			case 'd':
				e.Type = tar.TypeDir
			default:
				e.Type, e.Linkname = tar.TypeSymlink, "x"
			}
			_ = tr.Add(e)
		}
		var out bytes.Buffer
		if err := tr.WriteTar(&out, time.Unix(1, 0)); err != nil {
			t.Fatal(err)
		}
		dirs, seen := map[string]bool{".": true}, map[string]bool{}
		r := tar.NewReader(&out)
		for {
			h, err := r.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			name := strings.TrimSuffix(h.Name, "/")
			if seen[name] || !dirs[path.Dir(name)] {
				t.Fatalf("%s: twice, or its parent is not a directory before it", name)
			}
			seen[name] = true
			if h.Typeflag == tar.TypeDir {
				dirs[name] = true
			}
		}
	})
}
