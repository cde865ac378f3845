package index

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// DefaultMaxDownload caps every download: a file whose size the index or lock does not
// declare is read up to it, and a declared size above it is refused. The largest wheels
// on PyPI (CUDA builds) are under 2 GiB.
const DefaultMaxDownload int64 = 2 << 30

// MaxDownloadEnv names the variable that changes DefaultMaxDownload: bytes, or a number
// with K, M or G (powers of 1024).
const MaxDownloadEnv = "PYSHIP_MAX_DOWNLOAD"

// LimitError is a download larger than it may be.
type LimitError struct {
	URL      string // redacted
	Limit    int64
	Declared bool // the limit is the size the index or lock declared
}

func (e *LimitError) Error() string {
	if e.Declared {
		return fmt.Sprintf("%s: more than the %d bytes the index or lock declared for it; the file was not used", e.URL, e.Limit)
	}
	return fmt.Sprintf("%s: larger than the download limit of %d bytes (%s changes it)", e.URL, e.Limit, MaxDownloadEnv)
}

// LocalFileError is a file:// URL that is not in a --find-links directory the user
// named: an index page or lock file may not make pyship read local files.
type LocalFileError struct {
	URL string
}

func (e *LocalFileError) Error() string {
	return fmt.Sprintf("%s: a local file outside the --find-links directories you named; pyship reads local files only from those", e.URL)
}

// ParseSize reads a size in bytes, or with a K, M or G suffix (powers of 1024).
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	if t != "" {
		switch strings.ToUpper(t[len(t)-1:]) {
		case "K":
			mult = 1 << 10
		case "M":
			mult = 1 << 20
		case "G":
			mult = 1 << 30
		}
		if mult > 1 {
			t = t[:len(t)-1]
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size (bytes, or a number with K, M or G)", s)
	}
	return n * mult, nil
}

// maxDownload is c.MaxDownload, else $PYSHIP_MAX_DOWNLOAD, else DefaultMaxDownload.
func (c *Client) maxDownload() (int64, error) {
	if c.MaxDownload > 0 {
		return c.MaxDownload, nil
	}
	if v := os.Getenv(MaxDownloadEnv); v != "" {
		n, err := ParseSize(v)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", MaxDownloadEnv, err)
		}
		return n, nil
	}
	return DefaultMaxDownload, nil
}

// Download fetches a wheel into the cache (or finds it there) and returns its path and
// sha256. want is the sha256 the caller trusts (from a lock file) or "" to use the
// index's; a mismatch is an error and nothing is kept. The file name and hash come
// from servers and lock files pyship does not control, so both are checked before
// either becomes a path, and every write goes through an os.Root at the cache.
func (c *Client) Download(ctx context.Context, f File, want string) (string, string, error) {
	ru := redact(f.URL)
	if err := CheckWheelName(f.Filename); err != nil {
		return "", "", fmt.Errorf("%s: %w", ru, err)
	}
	want = strings.ToLower(want)
	if want == "" {
		want = f.SHA256()
	}
	if want != "" {
		if err := CheckSHA256(want); err != nil {
			return "", "", fmt.Errorf("%s: sha256 %w", f.Filename, err)
		}
	}
	limit, err := c.maxDownload()
	if err != nil {
		return "", "", err
	}
	declared := f.Size > 0
	if declared {
		if f.Size > limit {
			return "", "", fmt.Errorf("%s: declared as %d bytes: %w", f.Filename, f.Size, &LimitError{URL: ru, Limit: limit})
		}
		limit = f.Size
	}
	if c.CacheDir == "" {
		return "", "", errors.New("no download cache directory")
	}
	wheels := filepath.Join(c.CacheDir, "wheels")
	if err := os.MkdirAll(wheels, 0o755); err != nil {
		return "", "", err
	}
	root, err := os.OpenRoot(wheels)
	if err != nil {
		return "", "", err
	}
	defer root.Close()
	if want != "" {
		rel := path.Join(want, f.Filename)
		if fi, err := root.Lstat(rel); err == nil && fi.Mode().IsRegular() {
			return filepath.Join(wheels, filepath.FromSlash(rel)), want, nil
		}
	}
	s := store{root: root, ctx: ctx, file: f, url: ru, want: want, limit: limit, declared: declared}
	u, err := url.Parse(f.URL)
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", ru, err)
	}
	switch u.Scheme {
	case "file":
		src, size, err := c.openLocal(u, ru)
		if err != nil {
			return "", "", err
		}
		defer src.Close()
		if size > limit {
			return "", "", &LimitError{URL: ru, Limit: limit, Declared: declared}
		}
		if err := s.save(namedReader{src, ru}); err != nil {
			if ctx.Err() != nil {
				return "", "", fmt.Errorf("%s: %w", ru, ctx.Err())
			}
			return "", "", err
		}
	case "http", "https":
		err := c.fetch(ctx, c.withCredentials(f.URL), "", func(r *response) error {
			if r.Length > limit {
				return &LimitError{URL: ru, Limit: limit, Declared: declared}
			}
			return s.save(r.Body)
		})
		if errors.Is(err, ErrNotFound) {
			return "", "", fmt.Errorf("%s: 404 Not Found", ru)
		}
		if err != nil {
			return "", "", err
		}
	default:
		return "", "", fmt.Errorf("%s: pyship downloads http(s) URLs and files in --find-links directories only", ru)
	}
	c.logf("downloaded %s (%d bytes)", f.Filename, s.n)
	return filepath.Join(wheels, filepath.FromSlash(s.rel)), s.sum, nil
}

// store writes one download into the cache root: a temporary file, removed on every
// failure, renamed to <sha256>/<file name> once size and hash are right.
type store struct {
	root     *os.Root
	ctx      context.Context
	file     File
	url      string
	want     string
	limit    int64
	declared bool

	sum, rel string // set by a successful save
	n        int64
}

func (s *store) save(r io.Reader) error {
	tmp := "download-" + rand.Text()
	fh, err := s.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	kept := false
	defer func() {
		if !kept {
			s.root.Remove(tmp)
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(cacheWriter{fh, s.file.Filename}, h), io.LimitReader(ctxReader{s.ctx, r}, s.limit+1))
	if cerr := fh.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("%s: writing to the download cache: %w", s.file.Filename, cerr)
	}
	if err != nil {
		return err
	}
	if n > s.limit {
		return &LimitError{URL: s.url, Limit: s.limit, Declared: s.declared}
	}
	got := hex.EncodeToString(h.Sum(nil))
	if s.want != "" && got != s.want {
		return fmt.Errorf("%s: hash mismatch: expected sha256 %s, got %s (%d bytes); the file was not used", s.file.Filename, s.want, got, n)
	}
	if s.declared && n != s.file.Size {
		return fmt.Errorf("%s: size mismatch: index says %d bytes, got %d", s.file.Filename, s.file.Size, n)
	}
	if err := s.root.MkdirAll(got, 0o755); err != nil {
		return err
	}
	rel := path.Join(got, s.file.Filename)
	if err := s.root.Rename(tmp, rel); err != nil {
		return err
	}
	kept = true
	s.sum, s.rel, s.n = got, rel, n
	return nil
}

// cacheWriter names the file in a write error (a full disk), which io.Copy would
// otherwise return bare.
type cacheWriter struct {
	w    io.Writer
	name string
}

func (c cacheWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if err != nil {
		err = fmt.Errorf("%s: writing to the download cache: %w", c.name, err)
	}
	return n, err
}

// namedReader names the URL in a read error.
type namedReader struct {
	r   io.Reader
	url string
}

func (n namedReader) Read(p []byte) (int, error) {
	k, err := n.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%s: %w", n.url, err)
	}
	return k, err
}

// ctxReader stops a copy when the build is cancelled (Ctrl-C): a local file, unlike a
// request, does not watch the context by itself.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// localRoots are the --find-links entries that are directories, as absolute paths.
func (c *Client) localRoots() []string {
	var out []string
	for _, fl := range c.FindLinks {
		if isRemote(fl) {
			continue
		}
		if abs, err := filepath.Abs(strings.TrimPrefix(fl, "file://")); err == nil {
			out = append(out, abs)
		}
	}
	return out
}

func isRemote(loc string) bool {
	u, err := url.Parse(loc)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https")
}

// openLocal opens a file:// URL when it names a regular file inside a --find-links
// directory the user gave, through an os.Root there so that a symbolic link cannot
// lead out of it.
func (c *Client) openLocal(u *url.URL, ru string) (*os.File, int64, error) {
	if u.Host != "" && u.Host != "localhost" {
		return nil, 0, &LocalFileError{URL: ru}
	}
	p := filepath.Clean(filepath.FromSlash(u.Path))
	if !filepath.IsAbs(p) {
		return nil, 0, &LocalFileError{URL: ru}
	}
	for _, dir := range c.localRoots() {
		rel, err := filepath.Rel(dir, p)
		if err != nil || !filepath.IsLocal(rel) {
			continue
		}
		root, err := os.OpenRoot(dir)
		if err != nil {
			return nil, 0, fmt.Errorf("--find-links %s: %w", dir, err)
		}
		defer root.Close()
		// Stat before Open: opening a FIFO would block until something writes to it.
		if fi, err := root.Stat(rel); err != nil {
			return nil, 0, fmt.Errorf("%s: %w", ru, err)
		} else if !fi.Mode().IsRegular() {
			return nil, 0, fmt.Errorf("%s: not a regular file", ru)
		}
		fh, err := root.Open(rel)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", ru, err)
		}
		fi, err := fh.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			fh.Close()
			return nil, 0, fmt.Errorf("%s: not a regular file", ru)
		}
		return fh, fi.Size(), nil
	}
	return nil, 0, &LocalFileError{URL: ru}
}
