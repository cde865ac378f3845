package store

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	bolt "go.etcd.io/bbolt"
)

// DigestPrefix starts every secret digest pyship records. The digest is an HMAC-SHA256
// of the value under a random key of the state directory: a plain sha256 of a weak
// secret can be guessed offline by anyone who sees it (secret list, and — through the
// spec hash — the revision name every container carries), a keyed one only with the
// key, which never leaves the state directory.
const DigestPrefix = "hmac-sha256:"

// keyFile holds the state directory's digest key (32 random bytes, 0600).
const keyFile = "digest.key"

// legacyDigest is what pyship recorded before digests were keyed: a bare sha256.
var legacyDigest = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Digest is the keyed digest of a secret value.
func (s *Store) Digest(value []byte) string {
	if s.key == nil {
		panic("store: Digest on a Store that Open did not make")
	}
	m := hmac.New(sha256.New, s.key)
	m.Write(value)
	return DigestPrefix + hex.EncodeToString(m.Sum(nil))
}

// loadKey reads the state directory's digest key, making it on first use. Two commands
// starting at once on a new directory must end up with the same key: the new key is
// written to a temporary file and linked into place, which fails if another got there
// first, and then that one's key is read.
func (s *Store) loadKey() error {
	path := filepath.Join(s.Dir, keyFile)
	for try := 0; try < 2; try++ {
		b, err := os.ReadFile(path)
		if err == nil {
			if len(b) != 32 {
				return &KeyError{Path: path, Size: len(b)}
			}
			s.key = b
			return nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		key := make([]byte, 32)
		rand.Read(key) // never fails (crypto/rand panics instead)
		tmp, err := os.CreateTemp(s.Dir, "."+keyFile+".tmp-*")
		if err != nil {
			return err
		}
		_, werr := tmp.Write(key)
		cerr := tmp.Close()
		if werr == nil {
			werr = cerr
		}
		if werr == nil {
			werr = os.Link(tmp.Name(), path)
		}
		os.Remove(tmp.Name())
		if werr == nil {
			s.key = key
			return nil
		}
		if !errors.Is(werr, os.ErrExist) {
			return werr
		}
	}
	return fmt.Errorf("%s: could not be read or made", path)
}

// KeyError is a digest key file of the wrong size: making a new one would make every
// recorded digest wrong, so pyship stops and says which file it is.
type KeyError struct {
	Path string
	Size int
}

func (e *KeyError) Error() string {
	return fmt.Sprintf("%s holds %d bytes, not the 32 of pyship's digest key: it was changed outside pyship (restore it, or remove it and set every secret again)", e.Path, e.Size)
}

// migrateDigests replaces the bare sha256 digests an older pyship recorded (in the
// apps' settings and in every revision's spec) by keyed ones. A digest that matches the
// stored value becomes that value's keyed digest; one that does not (an older value,
// which pyship does not keep) becomes "", which matches no value: rolling back to that
// revision is refused as before, and no guessable digest stays in the database.
func (s *Store) migrateDigests(tx *bolt.Tx) (changed bool, err error) {
	b := tx.Bucket(bucket)
	type change struct {
		name []byte
		data []byte
	}
	var changes []change
	err = b.ForEach(func(k, v []byte) error {
		a := &App{}
		if err := json.Unmarshal(v, a); err != nil {
			return nil // left as it is: Get reports it for that app, other apps work on
		}
		dirty := false
		fix := func(secrets map[string]string) {
			for name, d := range secrets {
				if !legacyDigest.MatchString(d) {
					continue
				}
				dirty = true
				secrets[name] = ""
				if v, err := s.Secret(a.Name, name); err == nil {
					if sum := sha256.Sum256(v); hex.EncodeToString(sum[:]) == d {
						secrets[name] = s.Digest(v)
					}
				}
			}
		}
		fix(a.Secrets)
		for i := range a.Revisions {
			fix(a.Revisions[i].Spec.Secrets)
		}
		if dirty {
			data, err := json.Marshal(a)
			if err != nil {
				return err
			}
			changes = append(changes, change{append([]byte(nil), k...), data})
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	for _, c := range changes { // bbolt forbids changing a bucket while iterating it
		if err := b.Put(c.name, c.data); err != nil {
			return false, err
		}
	}
	return len(changes) > 0, nil
}

// compact rewrites the database into a fresh file and renames it over the old one while
// db still holds the lock: bbolt leaves a replaced record's bytes in its free pages, and
// the plain digests just migrated must not stay readable there (see openDB for the
// commands that waited on the old file).
func (s *Store) compact(db *bolt.DB) error {
	tmp := s.dbPath() + ".compact"
	os.Remove(tmp)
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return err
	}
	err = bolt.Compact(dst, db, 0)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.dbPath())
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("compacting %s after converting its secret digests: %w", s.dbPath(), err)
	}
	return nil
}
