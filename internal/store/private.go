package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Loosened is a path of the state directory that other local users could read (or
// write), and the mode it had before Open made it private.
type Loosened struct {
	Path string
	Was  fs.FileMode
}

// makePrivate takes group and other permissions away from the state directory and from
// everything under it that holds a secret value (or the digest key, or the database).
//
// It fixes rather than refuses: a loose mode comes from a umask or a hand-made
// directory, refusing would only make the user type the chmod, and the exposure has
// happened by then either way — what matters is saying so, which the caller does with
// the list returned. Symbolic links are not followed: pyship makes none here, and one
// would point outside.
func (s *Store) makePrivate() ([]Loosened, error) {
	var out []Loosened
	fix := func(path string, info fs.FileInfo) error {
		if info.Mode()&fs.ModeSymlink != 0 || info.Mode().Perm()&0o077 == 0 {
			return nil
		}
		if err := os.Chmod(path, info.Mode().Perm()&^0o077); err != nil {
			return &PrivateError{Path: path, Mode: info.Mode().Perm(), Err: err}
		}
		out = append(out, Loosened{Path: path, Was: info.Mode().Perm()})
		return nil
	}
	info, err := os.Stat(s.Dir)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("state directory %s is not a directory", s.Dir)
	}
	if err := fix(s.Dir, info); err != nil {
		return nil, err
	}
	for _, name := range []string{keyFile, "pyship.db"} {
		p := filepath.Join(s.Dir, name)
		if info, err := os.Lstat(p); err == nil {
			if err := fix(p, info); err != nil {
				return out, err
			}
		}
	}
	for _, sub := range []string{"secrets", "run"} {
		err := filepath.WalkDir(filepath.Join(s.Dir, sub), func(p string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if errors.Is(err, fs.ErrPermission) && d != nil && d.IsDir() {
				// A revision's folder belongs to the image's uid (0700) and only
				// root lists it; its mode was checked before this descent failed.
				return fs.SkipDir
			}
			if err != nil {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			return fix(p, info)
		})
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// PrivateError is a path of the state directory that others can read and pyship
// cannot make private (it belongs to another user).
type PrivateError struct {
	Path string
	Mode fs.FileMode
	Err  error
}

func (e *PrivateError) Error() string {
	return fmt.Sprintf("%s is readable by other users (mode %04o) and pyship cannot make it private: %v; fix its owner or mode, or use another state directory (--state-dir)", e.Path, e.Mode, e.Err)
}

func (e *PrivateError) Unwrap() error { return e.Err }
