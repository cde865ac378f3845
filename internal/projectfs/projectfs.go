// Package projectfs reads a user's project as untrusted input: every path stays under
// the project's directory (os.Root: a symlink to /etc/passwd or ../.. is refused, not
// followed), only regular files are read (a FIFO named .dockerignore or settings.py
// would block a plain open forever, deaf to Ctrl-C), and every read has a size cap.
package projectfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// MaxFile is the largest project file pyship reads for detection, requirements, locks,
// Dockerfiles and ignore files: far above any real one (Django's largest module is
// ~100 kB), small enough that a crafted file cannot exhaust memory.
const MaxFile = 16 << 20

// ErrNotRegular is returned for a FIFO, socket or device in the project.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is returned for a file over MaxFile.
var ErrTooLarge = fmt.Errorf("larger than %d MiB", MaxFile>>20)

// FS is a project directory as an fs.FS confined to it.
type FS struct {
	root *os.Root
}

// Open opens dir as a confined file system. Close it when done.
func Open(dir string) (*FS, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &FS{root: r}, nil
}

// Close releases the directory.
func (f *FS) Close() error { return f.root.Close() }

// Open implements fs.FS: directories and regular files only, opened without blocking.
func (f *FS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	// O_NONBLOCK: opening a FIFO for reading otherwise waits for a writer. It changes
	// nothing for regular files and directories.
	fh, err := f.root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() && !st.IsDir() {
		fh.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: ErrNotRegular}
	}
	return fh, nil
}

// ReadFile implements fs.ReadFileFS with the size cap.
func (f *FS) ReadFile(name string) ([]byte, error) {
	fh, err := f.Open(name)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errors.New("is a directory")}
	}
	b, err := io.ReadAll(io.LimitReader(fh, MaxFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxFile {
		return nil, &fs.PathError{Op: "read", Path: name, Err: ErrTooLarge}
	}
	return b, nil
}

// ReadFile reads one file of the project at dir (name slash-separated, relative).
func ReadFile(dir, name string) ([]byte, error) {
	f, err := Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := f.ReadFile(name)
	var pe *fs.PathError
	if errors.As(err, &pe) {
		pe.Path = dir + string(os.PathSeparator) + pe.Path // name the file the user knows
	}
	return b, err
}
