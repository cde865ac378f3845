package store

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
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

// A pyship that is not root opens a state directory holding a revision folder that
// belongs to the image's uid (written by a root pyship): Open must not fail on the
// folder it cannot list. Run as root, the test opens the store in a child process
// running as nobody.
func TestOpenSkipsFoldersOfOtherUsers(t *testing.T) {
	if dir := os.Getenv("PYSHIP_TEST_OPEN_AS_NOBODY"); dir != "" {
		if _, err := Open(dir); err != nil {
			fmt.Println("open:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a folder of another user")
	}
	const nobody, wwwData = 65534, 33
	base, err := os.MkdirTemp("", "pyship-store-") // t.TempDir's parent is root's alone
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o755)
	state := filepath.Join(base, "state")
	rev := filepath.Join(state, "run", "web--12345678")
	if err := os.MkdirAll(rev, 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(rev, "K"), []byte("v"), 0o400)
	for _, p := range []string{state, filepath.Join(state, "run")} {
		os.Chown(p, nobody, nobody)
	}
	os.Chown(rev, wwwData, wwwData)
	os.Chown(filepath.Join(rev, "K"), wwwData, wwwData)
	// The test binary's own folder is root's: nobody runs a copy.
	exe := filepath.Join(base, "store.test")
	if b, err := os.ReadFile(os.Args[0]); err != nil || os.WriteFile(exe, b, 0o755) != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run", "^TestOpenSkipsFoldersOfOtherUsers$")
	cmd.Dir = base
	cmd.Env = append(os.Environ(), "PYSHIP_TEST_OPEN_AS_NOBODY="+state)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("Open as nobody: %v\n%s", err, out)
	}
}
