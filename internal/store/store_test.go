package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAppsSecretsAndLocks(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := &App{Name: "shop", Port: 8000, Replicas: 1, Probe: "/", Env: map[string]string{"A": "1"}}
	if err := s.Put(a); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get("shop")
	if err != nil || got.Port != 8000 || got.Env["A"] != "1" || got.Secrets == nil {
		t.Fatalf("%+v %v", got, err)
	}
	if _, err := s.Get("nope"); err == nil || !strings.Contains(err.Error(), "no such app") {
		t.Errorf("unknown app: %v", err)
	}
	d, err := s.SetSecret("shop", "DB_PASSWORD", []byte("hunter2"))
	if err != nil || !strings.HasPrefix(d, DigestPrefix) || len(d) != len(DigestPrefix)+64 {
		t.Fatalf("%s %v", d, err)
	}
	st, _ := os.Stat(filepath.Join(dir, "secrets", "shop", "DB_PASSWORD"))
	if st.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode %o", st.Mode().Perm())
	}
	if _, err := s.SetSecret("shop", "bad-name", []byte("x")); err == nil {
		t.Error("a secret name that is not an env name was accepted")
	}
	db, _ := os.ReadFile(filepath.Join(dir, "pyship.db"))
	if strings.Contains(string(db), "hunter2") {
		t.Error("the database holds a secret value")
	}
	l, err := s.LockApp("shop", false)
	if err != nil {
		t.Fatal(err)
	}
	var busy *BusyError
	if _, err := s.LockApp("shop", false); !errors.As(err, &busy) || busy.App != "shop" || !strings.Contains(err.Error(), "another pyship command") {
		t.Errorf("second lock: %v", err)
	}
	done := make(chan struct{})
	go func() {
		l2, err := s.LockApp("shop", true)
		if err == nil {
			l2.Unlock()
		}
		close(done)
	}()
	time.Sleep(50 * time.Millisecond)
	l.Unlock()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a waiting deploy never got the lock")
	}
	if err := s.Delete("shop"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "secrets", "shop")); !os.IsNotExist(err) {
		t.Error("down left the secrets behind")
	}
}

func TestNamesAndSpecHash(t *testing.T) {
	for _, ok := range []string{"web", "my-api", "a1"} {
		if ValidName(ok) != nil {
			t.Errorf("%s rejected", ok)
		}
	}
	for _, bad := range []string{"", "Web", "a--b", "-a", "a_b", strings.Repeat("a", 41)} {
		if ValidName(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	a := Spec{Image: "sha256:1", Env: map[string]string{"A": "1", "B": "2"}, Port: 80, Replicas: 1}
	b := Spec{Image: "sha256:1", Env: map[string]string{"B": "2", "A": "1"}, Port: 80, Replicas: 1}
	if a.Hash() != b.Hash() {
		t.Error("the same spec hashed twice differently")
	}
	b.Secrets = map[string]string{"K": "digest"}
	if a.Hash() == b.Hash() {
		t.Error("a secret change did not change the revision")
	}
}

// A revision's spec does not change with the app's settings after it was taken.
func TestSpecIsACopy(t *testing.T) {
	a := &App{Name: "web", Cmd: []string{"gunicorn"}, Env: map[string]string{"A": "1"}, Secrets: map[string]string{"T": "d1"}}
	s := a.Spec()
	a.Cmd[0], a.Env["A"], a.Secrets["T"] = "uvicorn", "2", "d2"
	if s.Cmd[0] != "gunicorn" || s.Env["A"] != "1" || s.Secrets["T"] != "d1" {
		t.Errorf("the spec follows the app: %+v", s)
	}
}
