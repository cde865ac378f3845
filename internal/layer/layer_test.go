package layer

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
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
