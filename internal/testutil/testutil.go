// Package testutil holds helpers shared by pyship's tests; only _test.go files import it.
package testutil

import (
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
