// Package testutil holds helpers shared by pyship's tests; only _test.go files import it.
package testutil

import (
	"archive/tar"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// WriteProject writes "path: content" files into a new temporary directory and returns it.
func WriteProject(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TarEntry is one entry of a tar stream, with its content.
type TarEntry struct {
	*tar.Header
	Body string
}

// ReadTar reads a whole tar stream, failing the test on a malformed one.
func ReadTar(t testing.TB, r io.Reader) []TarEntry {
	t.Helper()
	var out []TarEntry
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, TarEntry{h, string(b)})
	}
}
