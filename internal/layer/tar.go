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
	// Source names where the entry comes from (a wheel's file name, "the venv") for
	// conflict errors; it is not written to the tar.
	Source string
	// Digest identifies a regular file's content ("sha256=…"); two sources may add one
	// path when both give the same Digest, Mode and Size. Empty: never shared.
	Digest string
}

// Tree is the content of one layer being assembled.
type Tree struct {
	entries map[string]*Entry
	// under maps every directory some entry lies below to the first such entry, so that
	// a file (or symlink) where another entry needs a directory is found on Add, not by
	// the engine that unpacks the layer.
	under map[string]*Entry
}

// NewTree returns an empty tree.
func NewTree() *Tree { return &Tree{entries: map[string]*Entry{}, under: map[string]*Entry{}} }

// Add adds an entry. Two entries for one path are a *ConflictError (unless both are
// directories, or identical files by Digest), and so is a non-directory at a path that
// another entry lies below: two sources claiming one path is a conflict the caller
// must settle, not something to resolve silently.
func (t *Tree) Add(e Entry) error {
	p, err := clean(e.Path)
	if err != nil {
		return err
	}
	e.Path = p
	for d := parent(p); d != ""; d = parent(d) {
		if old, ok := t.entries[d]; ok && old.Type != tar.TypeDir {
			return &ConflictError{Path: "/" + d, Have: claim(old), Add: claim(&e), Under: "/" + p}
		}
	}
	if old, ok := t.entries[p]; ok {
		if old.Type == tar.TypeDir && e.Type == tar.TypeDir || sameContent(old, &e) {
			return nil
		}
		if old.Type == tar.TypeDir || e.Type == tar.TypeDir {
			// A directory added explicitly and a file: the same clash as a file above
			// another entry, reported the same way.
			return &ConflictError{Path: "/" + p, Have: claim(old), Add: claim(&e), Under: "/" + p}
		}
		return &ConflictError{Path: "/" + p, Have: claim(old), Add: claim(&e)}
	}
	if below, ok := t.under[p]; ok && e.Type != tar.TypeDir {
		dir := claim(below)
		dir.Kind = "directory"
		return &ConflictError{Path: "/" + p, Have: dir, Add: claim(&e), Under: "/" + below.Path}
	}
	t.entries[p] = &e
	for d := parent(p); d != ""; d = parent(d) {
		if _, ok := t.under[d]; ok {
			break // its ancestors were recorded with it
		}
		t.under[d] = &e
	}
	return nil
}

// parent is a clean path's directory, "" at the top (path.Dir cleans again, and
// allocates, on every call: this runs for every ancestor of every file of every wheel).
func parent(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
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
