// Package buildctx computes a Docker build context: the files a build sends, filtered by
// .dockerignore with Docker's own matcher (moby/patternmatcher), so pyship's checks and
// builds see exactly what `docker build` would.
package buildctx

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"time"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	"github.com/pyship/pyship/internal/projectfs"
)

// Context is a directory and its .dockerignore rules.
type Context struct {
	Dir      string
	Patterns []string
	matcher  *patternmatcher.PatternMatcher
}

// Open reads dir/.dockerignore (if any).
func Open(dir string) (*Context, error) { return OpenWithDefault(dir, nil) }

// OpenWithDefault reads dir/.dockerignore, or uses defaults when there is none (so a
// project built without `pyship init` still keeps .env and .git out of its image).
func OpenWithDefault(dir string, defaults []string) (*Context, error) {
	c := &Context{Dir: dir}
	data, err := projectfs.ReadFile(dir, ".dockerignore")
	switch {
	case err == nil:
		c.Patterns, err = ignorefile.ReadAll(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ".dockerignore"), err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	default:
		c.Patterns = defaults
	}
	c.matcher, err = patternmatcher.New(c.Patterns)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ".dockerignore"), err)
	}
	return c, nil
}

// Excluded reports whether a slash-separated path relative to Dir is left out.
func (c *Context) Excluded(rel string) bool {
	ok, err := c.matcher.MatchesOrParentMatches(rel)
	return err == nil && ok
}

// Files lists the regular files and symlinks the build would send, sorted. Each path is
// matched once, from its parent directory's results (what buildkit does), so the walk is
// linear in the paths' length: matching every parent again, as MatchesOrParentMatches
// does, made a tree 600 directories deep take half a minute.
func (c *Context) Files() ([]string, error) {
	var out []string
	parents := map[string]patternmatcher.MatchInfo{}
	err := filepath.WalkDir(c.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(c.Dir, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		parent := path.Dir(rel)
		excluded, info, err := c.matcher.MatchesUsingParentResults(rel, parents[parent])
		if err != nil {
			return fmt.Errorf("%s: %w", filepath.Join(c.Dir, ".dockerignore"), err)
		}
		if d.IsDir() {
			parents[rel] = info
		}
		if excluded {
			if d.IsDir() && !c.matcher.Exclusions() {
				delete(parents, rel)
				return filepath.SkipDir // nothing below can be re-included
			}
			return nil
		}
		if !d.IsDir() {
			out = append(out, rel)
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// File is a file sent with the context that is not in its directory: a Dockerfile
// from elsewhere (docker build -f ../Dockerfile .).
type File struct {
	Name string // slash-separated, relative to the context's root
	Data []byte
}

// WriteTar writes the context as an uncompressed tar (what the Engine API's /build
// takes), with the Dockerfile always included even when .dockerignore names it, and
// extra files after the context's own.
func (c *Context) WriteTar(w io.Writer, dockerfile string, extra ...File) error {
	files, err := c.Files()
	if err != nil {
		return err
	}
	isExtra := map[string]bool{}
	for _, e := range extra {
		if !filepath.IsLocal(filepath.FromSlash(e.Name)) {
			return fmt.Errorf("%s: not a path inside the build context", e.Name)
		}
		isExtra[e.Name] = true
	}
	if dockerfile != "" && !isExtra[dockerfile] {
		found := false
		for _, f := range files {
			found = found || f == dockerfile
		}
		if !found {
			files = append(files, dockerfile)
		}
	}
	tw := tar.NewWriter(w)
	epoch := time.Unix(0, 0)
	for _, rel := range files {
		p := filepath.Join(c.Dir, filepath.FromSlash(rel))
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		link := ""
		if st.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		h, err := tar.FileInfoHeader(st, link)
		if err != nil {
			return err
		}
		h.Name, h.ModTime, h.Uid, h.Gid, h.Uname, h.Gname = rel, epoch, 0, 0, "", ""
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if st.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, f)
			f.Close()
			if err != nil {
				return err
			}
		}
	}
	for _, e := range extra {
		h := &tar.Header{Name: e.Name, Mode: 0o644, Size: int64(len(e.Data)), ModTime: epoch, Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(e.Data); err != nil {
			return err
		}
	}
	return tw.Close()
}
