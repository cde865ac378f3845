package engine

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/moby/moby/client"
)

// Entry is a file or directory that Create puts into a container before starting it.
type Entry struct {
	Path     string // absolute and clean, inside the container
	Dir      bool
	Mode     fs.FileMode // permission bits
	UID, GID int         // as the container's processes see them
	Data     []byte      // a file's content
}

// InvalidEntryError is an Entry whose path is not absolute and clean.
type InvalidEntryError struct{ Path string }

func (e *InvalidEntryError) Error() string {
	return fmt.Sprintf("%q is not an absolute, clean path inside a container", e.Path)
}

// entriesTar is the archive of entries, in their order (a directory before what it
// holds), rooted at the container's /. The owners and modes are the headers' own: the
// engine applies them as given (mapped by its user namespace, if any), where asking it
// to pick the owner (copyUIDGID) resolves the container's USER against the host's
// /etc/passwd, not the image's.
func entriesTar(entries []Entry) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	for _, e := range entries {
		if !path.IsAbs(e.Path) || path.Clean(e.Path) != e.Path || e.Path == "/" {
			return nil, &InvalidEntryError{Path: e.Path}
		}
		h := &tar.Header{Name: strings.TrimPrefix(e.Path, "/"), Mode: int64(e.Mode.Perm()), Uid: e.UID, Gid: e.GID, ModTime: now}
		if e.Dir {
			h.Typeflag, h.Name = tar.TypeDir, h.Name+"/"
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.Data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.Data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// putEntries writes entries into a container's filesystem through the archive API. The
// content travels in the request body only: no command line, no label, nothing that
// docker inspect shows.
func (c *Client) putEntries(ctx context.Context, id string, entries []Entry) error {
	b, err := entriesTar(entries)
	if err != nil {
		return err
	}
	// noOverwriteDirNonDir (the default here): an image with a file where an entry
	// needs a directory fails instead of losing that file.
	_, err = c.api.CopyToContainer(ctx, id, client.CopyToContainerOptions{DestinationPath: "/", Content: bytes.NewReader(b)})
	return err
}
