// Package store keeps pyship's platform state: apps, their settings and secret
// references, and their revisions, in one bbolt file under the user's data directory;
// secret values live beside it in 0600 files, never in the database. Docker labels on
// the containers remain the ground truth when the two disagree (see platform.Reconcile).
package store

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Spec is everything that makes a revision: changing any of it makes a new one.
type Spec struct {
	Image    string            `json:"image"` // image ID
	ImageRef string            `json:"image_ref,omitempty"`
	Cmd      []string          `json:"cmd,omitempty"`
	Env      map[string]string `json:"env,omitempty"`
	// Secrets maps the env var a secret reaches the app as to the keyed digest of its
	// value (Store.Digest; the value itself stays in the secret file).
	Secrets     map[string]string `json:"secrets,omitempty"`
	SecretFiles bool              `json:"secret_files,omitempty"` // also as /run/secrets/NAME
	Port        int               `json:"port"`
	Probe       string            `json:"probe"` // HTTP path
	Replicas    int               `json:"replicas"`
	// MaxReplicas above Replicas lets the target add replicas under CPU load, up to it
	// (Kubernetes: a HorizontalPodAutoscaler), CPUPercent being the average use of the
	// CPU request it aims for. Zero (the local engine): a fixed count.
	MaxReplicas int `json:"max_replicas,omitempty"`
	CPUPercent  int `json:"cpu_percent,omitempty"`
}

// Hash names the spec: the first 8 hex digits of the sha256 of its canonical JSON.
func (s Spec) Hash() string {
	b, _ := json.Marshal(s) // maps marshal with sorted keys: canonical
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:8]
}

// Revision states.
const (
	Provisioning = "provisioning"
	Ready        = "ready"   // serving or able to
	Failed       = "failed"  // never became healthy
	Retired      = "retired" // stopped; kept for rollback
)

// Revision is an immutable spec and where it runs.
type Revision struct {
	Name       string    `json:"name"` // APP--HASH
	Spec       Spec      `json:"spec"`
	State      string    `json:"state"`
	Created    time.Time `json:"created"`
	Containers []string  `json:"containers,omitempty"`
	Reason     string    `json:"reason,omitempty"` // why it failed
}

// App is one deployed application.
type App struct {
	Name        string            `json:"name"`
	Port        int               `json:"port"`
	Probe       string            `json:"probe"`
	Replicas    int               `json:"replicas"`
	MaxReplicas int               `json:"max_replicas,omitempty"`
	CPUPercent  int               `json:"cpu_percent,omitempty"`
	Env         map[string]string `json:"env"`
	Secrets     map[string]string `json:"secrets"` // name → keyed digest of the value
	SecretFiles bool              `json:"secret_files"`
	Image       string            `json:"image"`
	ImageRef    string            `json:"image_ref"`
	Cmd         []string          `json:"cmd,omitempty"`
	Revisions   []Revision        `json:"revisions"`
	Live        string            `json:"live"`              // the revision taking traffic (single mode)
	Traffic     map[string]int    `json:"traffic,omitempty"` // multiple mode: revision → weight
	Created     time.Time         `json:"created"`
	// Target is where the app runs; the zero Target is the local engine.
	Target Target `json:"target,omitzero"`
	// Host is the public host name a Kubernetes Ingress routes to the app ("": none).
	Host string `json:"host,omitempty"`
}

// Revision finds a revision by name or by its hash suffix.
func (a *App) Revision(name string) *Revision {
	for i := range a.Revisions {
		r := &a.Revisions[i]
		if r.Name == name || r.Name == a.Name+"--"+name {
			return r
		}
	}
	return nil
}

// Weights is each revision's share of the app's requests as recorded: its traffic
// split, else all of it to the live revision (nil: nothing serves).
func (a *App) Weights() map[string]int {
	if len(a.Traffic) > 0 {
		return a.Traffic
	}
	if a.Live != "" {
		return map[string]int{a.Live: 100}
	}
	return nil
}

// Newest is the revision made, or started again (a rollback), last; nil: none.
func (a *App) Newest() *Revision {
	var newest *Revision
	for i := range a.Revisions {
		if r := &a.Revisions[i]; newest == nil || !r.Created.Before(newest.Created) { // a tie: the later one
			newest = r
		}
	}
	return newest
}

// Spec is the spec the app's current settings give. Its maps are copies: a revision
// keeps the settings it was made with when the app's change later.
func (a *App) Spec() Spec {
	return Spec{Image: a.Image, ImageRef: a.ImageRef, Cmd: slices.Clone(a.Cmd), Env: maps.Clone(a.Env), Secrets: maps.Clone(a.Secrets), SecretFiles: a.SecretFiles, Port: a.Port, Probe: a.Probe, Replicas: a.Replicas, MaxReplicas: a.MaxReplicas, CPUPercent: a.CPUPercent}
}

var nameRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$`)

// ValidName checks an app name: lowercase letters, digits and dashes (it becomes a DNS
// label, NAME.localhost, and part of container names); no "--" (revision separator).
func ValidName(name string) error {
	if !nameRe.MatchString(name) || regexp.MustCompile(`--`).MatchString(name) {
		return fmt.Errorf("app name %q: use 1-40 lowercase letters, digits and single dashes (it becomes %s.localhost)", name, name)
	}
	return nil
}

// Store is the state directory. The database is opened for each operation and closed
// right after: bbolt locks the file while it is open, and a long-running command
// (logs -f, a deploy waiting on probes) must not block every other pyship command.
type Store struct {
	Dir string
	// Loosened lists what Open found readable by other users and made private; the
	// caller says so (once: the next Open finds nothing to fix).
	Loosened []Loosened
	key      []byte // see Digest
}

var bucket = []byte("apps")

// DefaultDir is $PYSHIP_STATE_DIR, else $XDG_DATA_HOME/pyship, else ~/.local/share/pyship.
func DefaultDir() string {
	if d := os.Getenv("PYSHIP_STATE_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "pyship")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "pyship-state")
	}
	return filepath.Join(home, ".local", "share", "pyship")
}

// Open opens (creating) the state directory, makes it private if it was not (see
// Loosened), and turns digests an older pyship recorded into keyed ones.
func Open(dir string) (*Store, error) {
	// MkdirAll leaves an existing directory's mode as it is: makePrivate checks it.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	s := &Store{Dir: dir}
	var err error
	if s.Loosened, err = s.makePrivate(); err != nil {
		return nil, err
	}
	if err := s.loadKey(); err != nil {
		return nil, err
	}
	db, err := s.openDB()
	if err != nil {
		return nil, err
	}
	defer db.Close()
	migrated := false
	err = db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(bucket); err != nil {
			return err
		}
		migrated, err = s.migrateDigests(tx)
		return err
	})
	if err == nil && migrated {
		err = s.compact(db)
	}
	return s, err
}

// Close is a no-op kept for symmetry with Open: nothing stays open between operations.
func (s *Store) Close() error { return nil }

func (s *Store) dbPath() string { return filepath.Join(s.Dir, "pyship.db") }

// openDB opens the database, waiting for other commands' short transactions (bbolt's
// file lock). A command that waited may find the file replaced meanwhile (the one-time
// compaction after a digest migration renames a fresh copy over it): it then opens the
// new one, or its writes would go to the unlinked old file.
func (s *Store) openDB() (*bolt.DB, error) {
	path := s.dbPath()
	for try := 0; ; try++ {
		before, statErr := os.Stat(path)
		db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 30 * time.Second})
		if err != nil {
			return nil, fmt.Errorf("opening %s: %w", path, err)
		}
		after, err := os.Stat(path)
		if statErr != nil || (err == nil && os.SameFile(before, after)) || try == 10 {
			return db, nil
		}
		db.Close()
	}
}

// with runs fn in a transaction of the database.
func (s *Store) with(write bool, fn func(tx *bolt.Tx) error) error {
	db, err := s.openDB()
	if err != nil {
		return err
	}
	defer db.Close()
	if write {
		return db.Update(fn)
	}
	return db.View(fn)
}

func (s *Store) update(fn func(tx *bolt.Tx) error) error { return s.with(true, fn) }
func (s *Store) view(fn func(tx *bolt.Tx) error) error   { return s.with(false, fn) }

// ErrNoApp is returned for an unknown app.
var ErrNoApp = errors.New("no such app")

// Get reads an app.
func (s *Store) Get(name string) (*App, error) {
	var a *App
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket).Get([]byte(name))
		if b == nil {
			return fmt.Errorf("%w %q (pyship ls lists them)", ErrNoApp, name)
		}
		a = &App{}
		return json.Unmarshal(b, a)
	})
	if a != nil {
		if a.Env == nil {
			a.Env = map[string]string{}
		}
		if a.Secrets == nil {
			a.Secrets = map[string]string{}
		}
	}
	return a, err
}

// Put writes an app.
func (s *Store) Put(a *App) error {
	if err := a.Validate(); err != nil {
		return err
	}
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Put([]byte(a.Name), b) })
}

// Delete removes an app and its secrets.
func (s *Store) Delete(name string) error {
	if err := s.update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Delete([]byte(name)) }); err != nil {
		return err
	}
	return os.RemoveAll(filepath.Join(s.Dir, "secrets", name))
}

// List returns every app, sorted by name.
func (s *Store) List() ([]*App, error) {
	var out []*App
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).ForEach(func(k, v []byte) error {
			a := &App{}
			if err := json.Unmarshal(v, a); err != nil {
				return err
			}
			out = append(out, a)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

var secretNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ValidSecretName reports whether name can be a secret's name (an environment variable).
func ValidSecretName(name string) bool { return secretNameRe.MatchString(name) }

// ErrSecretName is a secret name that is not an environment variable's. It does not
// quote the name: what was typed there may be the value ("NAME=VALUE").
var ErrSecretName = errors.New("the secret name is not valid: use letters, digits and _, not starting with a digit (it becomes an environment variable); the value comes from standard input or --file, never from the command line")

// SetSecret stores a secret's value in a 0600 file and returns its keyed digest.
func (s *Store) SetSecret(app, name string, value []byte) (string, error) {
	if !secretNameRe.MatchString(name) {
		return "", ErrSecretName
	}
	dir := filepath.Join(s.Dir, "secrets", app)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return "", err
	}
	if _, err := tmp.Write(value); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return "", err
	}
	return s.Digest(value), nil
}

// Secret reads a secret's value.
func (s *Store) Secret(app, name string) ([]byte, error) {
	if !secretNameRe.MatchString(name) { // names also come from container labels
		return nil, ErrSecretName
	}
	b, err := os.ReadFile(filepath.Join(s.Dir, "secrets", app, name))
	if err != nil {
		return nil, fmt.Errorf("secret %s of %s: %w", name, app, err)
	}
	return b, nil
}

// RemoveSecret deletes a secret's file.
func (s *Store) RemoveSecret(app, name string) error {
	if !secretNameRe.MatchString(name) {
		return ErrSecretName
	}
	err := os.Remove(filepath.Join(s.Dir, "secrets", app, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// Lock is held by the one command deploying an app; another waits (or, with wait
// false, fails at once). The kernel drops the lock when its process dies, even by
// kill -9, so a crashed deploy never leaves the app locked.
type Lock struct{ f *os.File }

// BusyError is an app whose deploy lock another command holds (LockApp without wait).
// It is typed so that callers can tell a conflict from a failure.
type BusyError struct{ App string }

func (e *BusyError) Error() string {
	return fmt.Sprintf("another pyship command is deploying %s; wait for it (or pass --wait)", e.App)
}

// LockApp takes the app's deploy lock.
func (s *Store) LockApp(app string, wait bool) (*Lock, error) {
	dir := filepath.Join(s.Dir, "locks")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, app+".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	how := syscall.LOCK_EX
	if !wait {
		how |= syscall.LOCK_NB
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &BusyError{App: app}
		}
		return nil, err
	}
	return &Lock{f: f}, nil
}

// Unlock releases the lock.
func (l *Lock) Unlock() error {
	syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	return l.f.Close()
}
