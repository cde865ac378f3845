package publish

import (
	"archive/tar"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// ErrNotTarball is returned for an --output tar:FILE that exists and is not a tar
// archive: replacing it would destroy a file pyship did not write (tar:app.py).
var ErrNotTarball = errors.New("exists and is not a tar archive")

// CheckTarFile says whether file may receive a `docker load` tarball, before any work is
// done: it must not exist, or be a regular file that is already a tar archive (an earlier
// output, replaced as docker save -o does).
func CheckTarFile(file string) error {
	fi, err := os.Lstat(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("--output tar:%s: %w (not a regular file); choose a new file name, nothing was written", file, ErrNotTarball)
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := tar.NewReader(f).Next(); err != nil {
		return fmt.Errorf("--output tar:%s: %w; choose a new file name, nothing was written", file, ErrNotTarball)
	}
	return nil
}

// Tarball writes a `docker load` tarball to a temporary name beside file and renames it.
func Tarball(file string, img v1.Image, ref string) (*Result, error) {
	tag, err := name.NewTag(ref)
	if err != nil {
		return nil, err
	}
	if err := CheckTarFile(file); err != nil {
		return nil, err
	}
	dir := filepath.Dir(file)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(file)+".tmp-*")
	if err != nil {
		return nil, err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	if err := tarball.WriteToFile(tmp.Name(), tag, img); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return nil, err
	}
	d, _ := img.Digest()
	return &Result{Output: "tar:" + file, Ref: ref, Digest: d.String()}, nil
}
