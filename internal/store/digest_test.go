package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// A secret's recorded digest must not be a plain hash: "hunter2"'s sha256 is in every
// password list, and the digest shows in secret list and (through the spec hash) in
// every revision name.
func TestDigestIsKeyedPerStateDir(t *testing.T) {
	value := []byte("hunter2")
	sum := sha256.Sum256(value)
	plain := hex.EncodeToString(sum[:])

	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.SetSecret("shop", "DB_PASSWORD", value)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(d, plain[:12]) {
		t.Fatalf("the digest %s contains the value's plain sha256", d)
	}
	if d != s.Digest(value) || !strings.HasPrefix(d, DigestPrefix) {
		t.Fatalf("SetSecret's digest %s is not Digest's %s", d, s.Digest(value))
	}
	// The same directory keeps its key; another has its own.
	again, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if again.Digest(value) != d {
		t.Error("the digest changed when the state directory was opened again")
	}
	other, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if other.Digest(value) == d {
		t.Error("two state directories digest a value alike: the key is not theirs")
	}
	st, err := os.Stat(filepath.Join(dir, keyFile))
	if err != nil || st.Mode().Perm() != 0o600 || st.Size() != 32 {
		t.Fatalf("key file: %v %v", st, err)
	}
	// A damaged key is refused, not replaced (every recorded digest would be wrong).
	os.WriteFile(filepath.Join(dir, keyFile), []byte("short"), 0o600)
	var ke *KeyError
	if _, err := Open(dir); !errors.As(err, &ke) {
		t.Errorf("a damaged key file: %v", err)
	}
}

// Commands starting at once on a new state directory agree on one key.
func TestDigestKeyMadeOnce(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	digests := make([]string, 8)
	for i := range digests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := &Store{Dir: dir}
			if err := s.loadKey(); err != nil {
				t.Error(err)
				return
			}
			digests[i] = s.Digest([]byte("x"))
		}()
	}
	wg.Wait()
	for _, d := range digests[1:] {
		if d != digests[0] {
			t.Fatalf("concurrent first opens made different keys: %v", digests)
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("temporary key files left: %v", ents)
	}
}

// State written by a pyship that recorded bare sha256 digests is converted when opened:
// the current value's digest becomes keyed, an older value's (not kept) matches nothing,
// and no plain digest stays in the database.
func TestLegacyDigestsMigrated(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	hexsum := func(v string) string { sum := sha256.Sum256([]byte(v)); return hex.EncodeToString(sum[:]) }
	if _, err := s.SetSecret("shop", "K", []byte("current")); err != nil {
		t.Fatal(err)
	}
	a := &App{Name: "shop", Port: 8000, Replicas: 1, Probe: "/", Secrets: map[string]string{"K": hexsum("current")}, Revisions: []Revision{
		{Name: "shop--old", Spec: Spec{Secrets: map[string]string{"K": hexsum("older")}}},
		{Name: "shop--cur", Spec: Spec{Secrets: map[string]string{"K": hexsum("current")}}},
	}}
	if err := s.Put(a); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Get("shop")
	if err != nil {
		t.Fatal(err)
	}
	want := s.Digest([]byte("current"))
	if got.Secrets["K"] != want || got.Revision("cur").Spec.Secrets["K"] != want {
		t.Errorf("the current value's digest was not keyed: %v / %v", got.Secrets, got.Revision("cur").Spec.Secrets)
	}
	if d := got.Revision("old").Spec.Secrets["K"]; d != "" {
		t.Errorf("an older value's digest %q was kept", d)
	}
	db, _ := os.ReadFile(filepath.Join(dir, "pyship.db"))
	for _, v := range []string{"current", "older"} {
		if bytes.Contains(db, []byte(hexsum(v))) {
			t.Errorf("the database still holds the plain sha256 of %q", v)
		}
	}
}

// A damaged app record is left to Get to report: opening the state directory (which
// converts digests) must not stop every command for every app.
func TestMigrationSkipsDamagedRecords(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(&App{Name: "good", Port: 8000, Replicas: 1, Probe: "/"}); err != nil {
		t.Fatal(err)
	}
	if err := s.update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Put([]byte("bad"), []byte("{not json")) }); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(dir); err != nil {
		t.Fatalf("a damaged record stopped Open: %v", err)
	}
	if _, err := s.Get("good"); err != nil {
		t.Error(err)
	}
	if _, err := s.Get("bad"); err == nil {
		t.Error("the damaged record read without an error")
	}
}
