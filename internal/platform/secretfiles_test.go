package platform

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pyship/pyship/internal/engine"
)

// A revision's secret copy is removed only when no container of it exists, in any
// state; other apps' copies (even with a name that starts alike) are left alone.
func TestOrphanSecretDirs(t *testing.T) {
	dirs := []string{"web--aaaaaaaa", "web--bbbbbbbb", "web--cccccccc", "web-x--dddddddd", "api--eeeeeeee", ".tmp"}
	cs := []engine.Summary{
		{Labels: map[string]string{LabelRevision: "web--aaaaaaaa"}, State: "running"},
		{Labels: map[string]string{LabelRevision: "web--cccccccc"}, State: "exited"}, // restartable
	}
	got := orphanSecretDirs("web", dirs, cs)
	if !slices.Equal(got, []string{"web--bbbbbbbb"}) {
		t.Errorf("orphans of web: %v", got)
	}
	if got := orphanSecretDirs("web-x", dirs, nil); !slices.Equal(got, []string{"web-x--dddddddd"}) {
		t.Errorf("orphans of web-x: %v", got)
	}
}

// A secret copy is 0400, of the given owner, and only ever inside its folder (names
// also come from container labels when the state is recovered).
func TestWriteOwned(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "run", "web--aaaaaaaa")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	uid, gid := os.Geteuid(), os.Getegid()
	if err := writeOwned(dir, "K", []byte("v1"), uid, gid); err != nil {
		t.Fatal(err)
	}
	if err := writeOwned(dir, "K", []byte("v2"), uid, gid); err != nil { // over a 0400 copy
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "K"))
	if b, _ := os.ReadFile(filepath.Join(dir, "K")); err != nil || st.Mode().Perm() != 0o400 || string(b) != "v2" {
		t.Errorf("K: %v %v %q", st, err, b)
	}
	for _, bad := range []string{"../../escaped", "a/b", "..", ""} {
		if err := writeOwned(dir, bad, []byte("x"), uid, gid); err == nil {
			t.Errorf("name %q written", bad)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "escaped")); !os.IsNotExist(err) {
		t.Errorf("a file was written outside its folder: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("the folder holds %v", ents)
	}
}
