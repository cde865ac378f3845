// Package layer writes image layers: reproducible tar streams (sorted entries, one
// timestamp, numeric owners, normalised modes) and the compressed, content-addressed
// files that hold them, which it offers as go-containerregistry v1.Layers.
package layer

import (
	"archive/tar"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"
)

// Entry is one file, directory or symlink of a layer. Path is relative to / with no
// leading slash.
type Entry struct {
	Path     string
	Type     byte // tar.TypeReg, tar.TypeDir or tar.TypeSymlink
	Mode     int64
	UID, GID int
	Linkname string
	Size     int64
	// Open returns the content of a regular file; it must yield exactly Size bytes.
	Open func() (io.ReadCloser, error)
}

// Tree is the content of one layer being assembled.
type Tree struct {
	entries map[string]*Entry
}

// NewTree returns an empty tree.
func NewTree() *Tree { return &Tree{entries: map[string]*Entry{}} }

// Add adds an entry; a path added twice is an error, since two sources claiming one
// file is a conflict the caller must settle, not something to resolve silently.
func (t *Tree) Add(e Entry) error {
	p, err := clean(e.Path)
	if err != nil {
		return err
	}
	e.Path = p
	if old, ok := t.entries[p]; ok {
		if old.Type == tar.TypeDir && e.Type == tar.TypeDir {
			return nil
		}
		return fmt.Errorf("%s: two files for one path", "/"+p)
	}
	t.entries[p] = &e
	return nil
}

// AddBytes adds a regular file with the given content.
func (t *Tree) AddBytes(p string, mode int64, b []byte) error {
	return t.Add(Entry{Path: p, Type: tar.TypeReg, Mode: mode, Size: int64(len(b)), Open: func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(string(b))), nil
	}})
}

// clean validates a layer path: relative, no "..", no whiteout names.
func clean(p string) (string, error) {
	p = strings.TrimPrefix(p, "/")
	c := path.Clean(p)
	if p == "" || c == "." || c == ".." || strings.HasPrefix(c, "../") || strings.ContainsRune(p, 0) {
		return "", fmt.Errorf("%q: not a path inside the image", p)
	}
	for _, part := range strings.Split(c, "/") {
		if strings.HasPrefix(part, ".wh.") {
			return "", fmt.Errorf("%q: a name starting with .wh. would delete files in the image", p)
		}
	}
	return c, nil
}

// WriteTar writes the tree as a tar stream (USTAR where it can hold an entry, PAX where
// it cannot, as archive/tar chooses): every parent directory present (mode 0755,
// owned by root unless added otherwise), entries sorted by path, every timestamp set to
// mtime, no user or group names. The same tree always gives the same bytes.
func (t *Tree) WriteTar(w io.Writer, mtime time.Time) error {
	all := map[string]*Entry{}
	for p, e := range t.entries {
		all[p] = e
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if _, ok := all[d]; !ok {
				if _, ok := t.entries[d]; !ok {
					all[d] = &Entry{Path: d, Type: tar.TypeDir, Mode: 0o755}
				}
			}
		}
	}
	paths := make([]string, 0, len(all))
	for p := range all {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	tw := tar.NewWriter(w)
	mtime = mtime.UTC().Truncate(time.Second)
	for _, p := range paths {
		e := all[p]
		h := &tar.Header{
			Name:     p,
			Typeflag: e.Type,
			Mode:     e.Mode,
			Uid:      e.UID,
			Gid:      e.GID,
			ModTime:  mtime,
		}
		switch e.Type {
		case tar.TypeDir:
			h.Name += "/"
		case tar.TypeSymlink:
			h.Linkname = e.Linkname
		case tar.TypeReg:
			h.Size = e.Size
		default:
			return fmt.Errorf("/%s: unsupported entry type %q", p, e.Type)
		}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("/%s: %w", p, err)
		}
		if e.Type != tar.TypeReg {
			continue
		}
		rc, err := e.Open()
		if err != nil {
			return fmt.Errorf("/%s: %w", p, err)
		}
		n, err := io.Copy(tw, rc)
		cerr := rc.Close()
		if err == nil {
			err = cerr
		}
		if err == nil && n != e.Size {
			err = fmt.Errorf("size %d, expected %d", n, e.Size)
		}
		if err != nil {
			return fmt.Errorf("/%s: %w", p, err)
		}
	}
	return tw.Close()
}
