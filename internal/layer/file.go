package layer

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/pyship/pyship/internal/atomicfile"
)

// File is a gzip-compressed layer stored in a file, with its digests known: offering it
// to a registry costs a HEAD request, not a pass over its bytes (ko's lazy layers).
type File struct {
	Path      string          `json:"-"`
	DigestHex string          `json:"digest"`
	DiffIDHex string          `json:"diff_id"`
	SizeBytes int64           `json:"size"`
	Uncomp    int64           `json:"uncompressed_size"`
	Media     types.MediaType `json:"media_type"`
}

var _ v1.Layer = (*File)(nil)

// Digest is the sha256 of the compressed bytes.
func (f *File) Digest() (v1.Hash, error) { return v1.Hash{Algorithm: "sha256", Hex: f.DigestHex}, nil }

// DiffID is the sha256 of the uncompressed tar.
func (f *File) DiffID() (v1.Hash, error) { return v1.Hash{Algorithm: "sha256", Hex: f.DiffIDHex}, nil }

// Compressed opens the stored file.
func (f *File) Compressed() (io.ReadCloser, error) { return os.Open(f.Path) }

// Uncompressed streams the tar.
func (f *File) Uncompressed() (io.ReadCloser, error) {
	fh, err := os.Open(f.Path)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(fh)
	if err != nil {
		fh.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{zr, fh}, nil
}

// Size is the compressed size.
func (f *File) Size() (int64, error) { return f.SizeBytes, nil }

// MediaType is an OCI or Docker gzip layer type, matched to the base image.
func (f *File) MediaType() (types.MediaType, error) { return f.Media, nil }

// Store keeps layers in a directory by a key the caller derives from the layer's inputs,
// so that an unchanged input costs no tar, no gzip and no hashing.
type Store struct{ Dir string }

// Get returns the layer stored under key, if any.
func (s Store) Get(key string, media types.MediaType) (*File, bool) {
	b, err := os.ReadFile(filepath.Join(s.Dir, key+".json"))
	if err != nil {
		return nil, false
	}
	var f File
	if json.Unmarshal(b, &f) != nil {
		return nil, false
	}
	f.Path = filepath.Join(s.Dir, key+".tar.gz")
	if st, err := os.Stat(f.Path); err != nil || st.Size() != f.SizeBytes {
		return nil, false
	}
	f.Media = media
	return &f, true
}

// Put writes a layer under key: the tar from write is hashed, compressed and hashed
// again in one pass into a temporary file that is renamed into place when complete.
func (s Store) Put(key string, media types.MediaType, write func(io.Writer) error) (*File, error) {
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(s.Dir, key+".*.tmp")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	f, err := compress(tmp, write)
	if err != nil {
		return nil, err
	}
	f.Media = media
	if err := tmp.Sync(); err != nil {
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	f.Path = filepath.Join(s.Dir, key+".tar.gz")
	if err := os.Rename(tmp.Name(), f.Path); err != nil {
		return nil, err
	}
	meta, _ := json.Marshal(f)
	if err := atomicfile.Write(filepath.Join(s.Dir, key+".json"), meta, 0o644); err != nil {
		return nil, err
	}
	return f, nil
}

// Note records that the inputs named by key passed a check, so that a later build with
// the same inputs may skip it (Noted). Like a layer, the record is only as trustworthy
// as the store's directory.
func (s Store) Note(key string) error {
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(s.Dir, key+".ok"), nil, 0o644)
}

// Noted reports whether Note(key) was done.
func (s Store) Noted(key string) bool {
	st, err := os.Stat(filepath.Join(s.Dir, key+".ok"))
	return err == nil && st.Mode().IsRegular()
}

// compress runs write → sha256 (diffID) → gzip → sha256 (digest) → w.
func compress(w io.Writer, write func(io.Writer) error) (*File, error) {
	digest := sha256.New()
	cw := &counter{w: io.MultiWriter(w, digest)}
	// BestSpeed: layers are compressed once and cached; level 1 is about three times
	// faster than the default for a few percent more bytes.
	zw, err := gzip.NewWriterLevel(cw, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	diff := sha256.New()
	uw := &counter{w: io.MultiWriter(zw, diff)}
	if err := write(uw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return &File{
		DigestHex: hex.EncodeToString(digest.Sum(nil)),
		DiffIDHex: hex.EncodeToString(diff.Sum(nil)),
		SizeBytes: cw.n,
		Uncomp:    uw.n,
	}, nil
}

type counter struct {
	w io.Writer
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
