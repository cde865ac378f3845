package store

import (
	"os"
	"path/filepath"
	"testing"
)

// A state directory another local user can read is made private when pyship opens it,
// with what it held, and Open says what it changed — once.
func TestOpenMakesStateDirPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	sec := filepath.Join(dir, "secrets", "shop")
	run := filepath.Join(dir, "run", "shop--12345678")
	for _, d := range []string{sec, run} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(sec, "K"), []byte("v"), 0o644)
	os.WriteFile(filepath.Join(run, "K"), []byte("v"), 0o444)
	for _, d := range []string{dir, filepath.Join(dir, "secrets"), sec, filepath.Join(dir, "run"), run} {
		os.Chmod(d, 0o755) // whatever the umask made of MkdirAll's mode
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]os.FileMode{dir: 0o700, filepath.Join(dir, "secrets"): 0o700, sec: 0o700, filepath.Join(sec, "K"): 0o600,
		filepath.Join(dir, "run"): 0o700, run: 0o700, filepath.Join(run, "K"): 0o400}
	for p, m := range want {
		st, err := os.Stat(p)
		if err != nil || st.Mode().Perm() != m {
			t.Errorf("%s: %v %v, want %04o", p, st.Mode().Perm(), err, m)
		}
	}
	if len(s.Loosened) != len(want) || s.Loosened[0].Path != dir || s.Loosened[0].Was != 0o755 {
		t.Errorf("Open reported %+v", s.Loosened)
	}
	if s, err := Open(dir); err != nil || len(s.Loosened) != 0 {
		t.Errorf("a second Open reported %+v, %v", s.Loosened, err)
	}
}
