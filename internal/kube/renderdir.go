package kube

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pyship/pyship/internal/atomicfile"
)

// File actions WriteDir reports.
const (
	FileCreated   = "created"
	FileUpdated   = "updated"
	FileUnchanged = "unchanged"
)

// WrittenFile is one document's file and what WriteDir did with it.
type WrittenFile struct {
	Document
	Path   string
	Action string // FileCreated, FileUpdated or FileUnchanged
}

// DirResult is what WriteDir did.
type DirResult struct {
	Files []WrittenFile
	// Removed are the files an earlier render of the same app wrote that name objects
	// this one no longer has (the previous revision's Deployment): left there, a GitOps
	// tool would keep that revision running beside the new one.
	Removed []string
}

// ForeignFileError is a file in the output directory that render would replace but
// did not write. Nothing was written.
type ForeignFileError struct{ Path, Why string }

func (e *ForeignFileError) Error() string {
	return fmt.Sprintf("%s %s, so pyship render does not replace it: move it away or choose another -o directory (nothing was written)", e.Path, e.Why)
}

// headerRead bounds what is read of a file to find render's header line.
const headerRead = 4096

// WriteDir writes each document to its own file in dir, created if absent. A file
// there that render did not write is never replaced: WriteDir then writes nothing. Each
// file is written atomically; files of the same app from an earlier render that name
// objects this render no longer has are removed, and no other file is touched.
func (r *Render) WriteDir(dir string) (*DirResult, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("-o %s: %w", dir, err)
	}
	res := &DirResult{}
	// Every check first: a refusal leaves the directory as it was.
	for _, d := range r.Documents {
		path := filepath.Join(dir, d.File)
		old, app, err := readRendered(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			res.Files = append(res.Files, WrittenFile{Document: d, Path: path, Action: FileCreated})
		case err != nil:
			return nil, err
		case app == "":
			return nil, &ForeignFileError{Path: path, Why: "exists and does not begin with pyship render's header line"}
		case app != r.App:
			return nil, &ForeignFileError{Path: path, Why: "was rendered for app " + app}
		case bytes.Equal(old, d.YAML):
			res.Files = append(res.Files, WrittenFile{Document: d, Path: path, Action: FileUnchanged})
		default:
			res.Files = append(res.Files, WrittenFile{Document: d, Path: path, Action: FileUpdated})
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var stale []string
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".yaml") ||
			slices.ContainsFunc(r.Documents, func(d Document) bool { return d.File == e.Name() }) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if _, app, err := readRendered(path); err == nil && app == r.App {
			stale = append(stale, path)
		}
	}
	for _, f := range res.Files {
		if f.Action == FileUnchanged {
			continue // its modification time stays: nothing changed for tools that watch it
		}
		if err := atomicfile.Write(f.Path, f.YAML, 0o644); err != nil {
			return nil, err
		}
	}
	for _, path := range stale {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		res.Removed = append(res.Removed, path)
	}
	return res, nil
}

// readRendered reads a file render may have written: its content and the app its
// header names ("" when it has none). Anything but a regular file (a symlink, a
// directory) is refused: replacing it would act on what it points to or holds.
func readRendered(path string) ([]byte, string, error) {
	st, err := os.Lstat(path)
	if err != nil {
		return nil, "", err
	}
	if !st.Mode().IsRegular() {
		return nil, "", &ForeignFileError{Path: path, Why: "exists and is not a regular file"}
	}
	if st.Size() > maxRendered {
		return nil, "", nil // larger than anything render writes: not one of its files
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxRendered))
	if err != nil {
		return nil, "", err
	}
	app, ok := RenderedApp(b[:min(len(b), headerRead)])
	if !ok {
		return b, "", nil
	}
	return b, app, nil
}

// maxRendered bounds the files read back: render's own are a few kilobytes.
const maxRendered = 1 << 20
