package testutil

import (
	"archive/tar"
	"bytes"
	"io"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// DpkgStatus is a Debian status file naming glibc 2.36 and Python 3.11.2.
const DpkgStatus = `Package: libc6
Status: install ok installed
Version: 2.36-9+deb12u4

Package: python3.11-minimal
Status: install ok installed
Version: 3.11.2-6+deb12u6
`

// Layer is an uncompressed-tar layer of the given files.
func Layer(t testing.TB, files map[string]string) v1.Layer {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for n, body := range files {
		tw.WriteHeader(&tar.Header{Name: n, Mode: 0o755, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	tw.Close()
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// FakeBase writes an OCI layout holding a Debian-like image per architecture: no real
// Python (pyship build never runs one), but the files that tell which Python and libc.
func FakeBase(t testing.TB, archs ...string) string {
	t.Helper()
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	for _, arch := range archs {
		img, err := mutate.AppendLayers(empty.Image, Layer(t, map[string]string{
			"usr/bin/python3.11": "#!ELF " + arch, "var/lib/dpkg/status": DpkgStatus, "bin/sh": "ELF",
		}))
		if err != nil {
			t.Fatal(err)
		}
		cfg, _ := img.ConfigFile()
		cfg = cfg.DeepCopy()
		cfg.OS, cfg.Architecture = "linux", arch
		cfg.Config.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"}
		img, _ = mutate.ConfigFile(img, cfg)
		if err := p.AppendImage(img, layout.WithPlatform(v1.Platform{OS: "linux", Architecture: arch})); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
