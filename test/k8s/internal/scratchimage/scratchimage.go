// Package scratchimage makes the test cluster's images: one static binary in an image FROM
// scratch, built in memory with go-containerregistry, so the tests need neither a Docker build
// nor any base image from a registry.
package scratchimage

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// maxBinary bounds what is read into memory: the binaries here are a few MB.
const maxBinary = 256 << 20

// Options says how the image runs its binary.
type Options struct {
	// Name is the binary's file name in the image root, and its entrypoint.
	Name string
	// User is the image's USER ("10001:10001"); empty runs as root.
	User string
}

// FromBinary returns a single-layer linux image for this machine's architecture holding the file
// at bin as /Name (mode 0755), with Name as its entrypoint. The layer is reproducible: same
// binary, same digest.
func FromBinary(bin string, opt Options) (v1.Image, error) {
	if opt.Name == "" || opt.Name == "." || opt.Name == ".." || path.Base(opt.Name) != opt.Name {
		return nil, fmt.Errorf("scratchimage: binary name %q must be a plain file name", opt.Name)
	}
	f, err := os.Open(bin)
	if err != nil {
		return nil, fmt.Errorf("scratchimage: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxBinary+1))
	if err != nil {
		return nil, fmt.Errorf("scratchimage: read %s: %w", bin, err)
	}
	if len(data) > maxBinary {
		return nil, fmt.Errorf("scratchimage: %s is larger than %d bytes", bin, maxBinary)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: opt.Name, Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(data); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layerBytes := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerBytes)), nil
	})
	if err != nil {
		return nil, fmt.Errorf("scratchimage: layer: %w", err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, fmt.Errorf("scratchimage: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", runtime.GOARCH
	cfg.Config.Entrypoint = []string{"/" + opt.Name}
	cfg.Config.User = opt.User
	return mutate.ConfigFile(img, cfg)
}
