// Package index reads Python package indexes: the simple repository API in its JSON
// (PEP 691) and HTML (PEP 503) forms, core metadata files (PEP 658/714), and local
// --find-links directories; it downloads files into a cache keyed by their sha256 and
// checks every byte against the hash the index or lock file gave.
package index

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pyship/pyship/internal/atomicfile"
	"github.com/pyship/pyship/internal/pyproject"
	"github.com/pyship/pyship/internal/wheel"
)

// File is one distribution file a project offers.
type File struct {
	Filename       string            `json:"filename"`
	URL            string            `json:"url"`
	Hashes         map[string]string `json:"hashes,omitempty"`
	RequiresPython string            `json:"requires_python,omitempty"`
	Yanked         bool              `json:"yanked,omitempty"`
	YankedReason   string            `json:"yanked_reason,omitempty"`
	// MetadataHashes is set when the index serves the core metadata beside the file
	// (PEP 658); empty but non-nil when it does without a hash.
	MetadataHashes map[string]string `json:"core_metadata,omitempty"`
	Size           int64             `json:"size,omitempty"`
	Index          string            `json:"index"` // the index or find-links location, redacted
}

// SHA256 is the file's sha256 as the index gave it ("" if none).
func (f File) SHA256() string { return strings.ToLower(f.Hashes["sha256"]) }

// Client talks to the configured indexes.
type Client struct {
	// Indexes are tried in order and the first that knows a project answers for it
	// alone (uv's first-index strategy: no mixing that a dependency-confusion attack
	// could exploit).
	Indexes   []string
	FindLinks []string // directories or URLs of pages listing files
	HTTP      *http.Client
	CacheDir  string
	Retries   int // attempts per request beyond the first
	// Log receives one line per network fetch, for progress output.
	Log func(format string, args ...any)

	mu    sync.Mutex
	pages map[string][]File
}

// ErrNotFound is returned for a project no index knows.
var ErrNotFound = errors.New("not found")

func (c *Client) logf(format string, args ...any) {
	if c.Log != nil {
		c.Log(format, args...)
	}
}

// Project lists the files of a project from the first index that has it, plus any
// from --find-links.
func (c *Client) Project(ctx context.Context, name string) ([]File, error) {
	name = pyproject.Normalize(name)
	c.mu.Lock()
	if files, ok := c.pages[name]; ok {
		c.mu.Unlock()
		return files, nil
	}
	c.mu.Unlock()
	var files []File
	found := false
	for _, fl := range c.FindLinks {
		got, err := c.findLinks(ctx, fl, name)
		if err != nil {
			return nil, err
		}
		if len(got) > 0 {
			found = true
			files = append(files, got...)
		}
	}
	var tried []string
	for _, idx := range c.Indexes {
		got, err := c.simple(ctx, idx, name)
		if errors.Is(err, ErrNotFound) {
			tried = append(tried, redact(idx))
			continue
		}
		if err != nil {
			return nil, err
		}
		found = true
		files = append(files, got...)
		break
	}
	if !found {
		where := strings.Join(tried, ", ")
		if len(c.FindLinks) > 0 {
			where += " and --find-links " + strings.Join(c.FindLinks, ", ")
		}
		return nil, fmt.Errorf("package %s: %w on %s", name, ErrNotFound, where)
	}
	c.mu.Lock()
	if c.pages == nil {
		c.pages = map[string][]File{}
	}
	c.pages[name] = files
	c.mu.Unlock()
	return files, nil
}

const accept = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"

func (c *Client) simple(ctx context.Context, idx, name string) ([]File, error) {
	u := strings.TrimSuffix(idx, "/") + "/" + name + "/"
	body, final, ctype, err := c.get(ctx, u, accept)
	if err != nil {
		return nil, err
	}
	base, err := url.Parse(final)
	if err != nil {
		return nil, err
	}
	mt, _, _ := mime.ParseMediaType(ctype)
	var files []File
	if mt == "application/vnd.pypi.simple.v1+json" || mt == "application/vnd.pypi.simple.latest+json" {
		files, err = parseJSON(body, base)
	} else {
		files, err = parseHTML(body, base)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", redact(u), err)
	}
	for i := range files {
		files[i].Index = redact(idx)
	}
	return files, nil
}

type jsonPage struct {
	Meta struct {
		APIVersion string `json:"api-version"`
	} `json:"meta"`
	Files []struct {
		Filename       string            `json:"filename"`
		URL            string            `json:"url"`
		Hashes         map[string]string `json:"hashes"`
		RequiresPython *string           `json:"requires-python"`
		Yanked         json.RawMessage   `json:"yanked"`
		CoreMetadata   json.RawMessage   `json:"core-metadata"`
		DistInfo       json.RawMessage   `json:"dist-info-metadata"`
		Size           int64             `json:"size"`
	} `json:"files"`
}

func parseJSON(body []byte, base *url.URL) ([]File, error) {
	var p jsonPage
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("invalid PEP 691 JSON: %v", err)
	}
	if err := checkAPIVersion(p.Meta.APIVersion); err != nil {
		return nil, err
	}
	var out []File
	for _, f := range p.Files {
		ref, err := url.Parse(f.URL)
		if err != nil {
			continue
		}
		file := File{Filename: f.Filename, URL: base.ResolveReference(ref).String(), Hashes: lower(f.Hashes), Size: f.Size}
		if f.RequiresPython != nil {
			file.RequiresPython = *f.RequiresPython
		}
		file.Yanked, file.YankedReason = yanked(f.Yanked)
		md := f.CoreMetadata
		if len(md) == 0 {
			md = f.DistInfo
		}
		file.MetadataHashes = metadataHashes(md)
		out = append(out, file)
	}
	return out, nil
}

func yanked(raw json.RawMessage) (bool, string) {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return true, s
	}
	return false, ""
}

func metadataHashes(raw json.RawMessage) map[string]string {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		if b {
			return map[string]string{}
		}
		return nil
	}
	var m map[string]string
	if json.Unmarshal(raw, &m) == nil {
		return lower(m)
	}
	return nil
}

func lower(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = strings.ToLower(v)
	}
	return out
}

func checkAPIVersion(v string) error {
	if v == "" {
		return nil
	}
	major, _, _ := strings.Cut(v, ".")
	if major != "1" {
		return fmt.Errorf("repository API version %s is not supported (1.x is)", v)
	}
	return nil
}

var (
	anchorRe = regexp.MustCompile(`(?is)<a\s([^>]*)>(.*?)</a>`)
	attrRe   = regexp.MustCompile(`(?s)([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?`)
	metaRe   = regexp.MustCompile(`(?is)<meta\s+name="pypi:repository-version"\s+content="([^"]*)"`)
)

func parseHTML(body []byte, base *url.URL) ([]File, error) {
	if m := metaRe.FindSubmatch(body); m != nil {
		if err := checkAPIVersion(string(m[1])); err != nil {
			return nil, err
		}
	}
	var out []File
	for _, m := range anchorRe.FindAllSubmatch(body, -1) {
		attrs := map[string]string{}
		present := map[string]bool{}
		for _, a := range attrRe.FindAllSubmatch(m[1], -1) {
			k := strings.ToLower(string(a[1]))
			v := string(a[2]) + string(a[3]) + string(a[4])
			attrs[k] = html.UnescapeString(v)
			present[k] = true
		}
		href := attrs["href"]
		if href == "" {
			continue
		}
		ref, err := url.Parse(href)
		if err != nil {
			continue
		}
		abs := base.ResolveReference(ref)
		f := File{Hashes: map[string]string{}}
		if frag := abs.Fragment; frag != "" {
			if algo, hexv, ok := strings.Cut(frag, "="); ok {
				f.Hashes[strings.ToLower(algo)] = strings.ToLower(hexv)
			}
			abs.Fragment = ""
		}
		f.URL = abs.String()
		f.Filename = strings.TrimSpace(html.UnescapeString(string(m[2])))
		if f.Filename == "" || strings.ContainsAny(f.Filename, "<>") {
			f.Filename = path.Base(abs.Path)
		}
		f.RequiresPython = attrs["data-requires-python"]
		if present["data-yanked"] {
			f.Yanked, f.YankedReason = true, attrs["data-yanked"]
		}
		for _, k := range []string{"data-core-metadata", "data-dist-info-metadata"} {
			if !present[k] || f.MetadataHashes != nil {
				continue
			}
			v := attrs[k]
			if v == "false" {
				continue
			}
			f.MetadataHashes = map[string]string{}
			if algo, hexv, ok := strings.Cut(v, "="); ok {
				f.MetadataHashes[strings.ToLower(algo)] = strings.ToLower(hexv)
			}
		}
		out = append(out, f)
	}
	return out, nil
}

// findLinks lists matching files in a directory or on an HTML page.
func (c *Client) findLinks(ctx context.Context, loc, name string) ([]File, error) {
	matches := func(filename string) bool {
		n, err := wheel.ParseName(filename)
		if err == nil {
			return n.Dist == name
		}
		base := strings.TrimSuffix(strings.TrimSuffix(filename, ".tar.gz"), ".zip")
		if i := strings.LastIndex(base, "-"); i > 0 && base != filename {
			return pyproject.Normalize(base[:i]) == name
		}
		return false
	}
	if u, err := url.Parse(loc); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		body, final, _, err := c.get(ctx, loc, "text/html")
		if err != nil {
			return nil, err
		}
		base, _ := url.Parse(final)
		all, err := parseHTML(body, base)
		if err != nil {
			return nil, err
		}
		var out []File
		for _, f := range all {
			if matches(f.Filename) {
				f.Index = redact(loc)
				out = append(out, f)
			}
		}
		return out, nil
	}
	dir := strings.TrimPrefix(loc, "file://")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("--find-links %s: %w", loc, err)
	}
	var out []File
	for _, e := range entries {
		if e.IsDir() || !matches(e.Name()) {
			continue
		}
		abs, _ := filepath.Abs(filepath.Join(dir, e.Name()))
		info, _ := e.Info()
		out = append(out, File{Filename: e.Name(), URL: (&url.URL{Scheme: "file", Path: abs}).String(), Size: info.Size(), Index: loc})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Filename < out[j].Filename })
	return out, nil
}

// get fetches a URL with bounded retries on network errors and 429/5xx answers.
func (c *Client) get(ctx context.Context, u, acceptHeader string) (body []byte, final, ctype string, err error) {
	rc, final, ctype, _, err := c.open(ctx, u, acceptHeader)
	if err != nil {
		return nil, "", "", err
	}
	defer rc.Close()
	body, err = io.ReadAll(io.LimitReader(rc, 256<<20))
	if err != nil {
		return nil, "", "", fmt.Errorf("%s: %w", redact(u), err)
	}
	return body, final, ctype, nil
}

func (c *Client) open(ctx context.Context, u, acceptHeader string) (rc io.ReadCloser, final, ctype string, size int64, err error) {
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	delay := 250 * time.Millisecond
	for attempt := 0; ; attempt++ {
		req, rerr := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if rerr != nil {
			return nil, "", "", 0, fmt.Errorf("%s: %w", redact(u), rerr)
		}
		if acceptHeader != "" {
			req.Header.Set("Accept", acceptHeader)
		}
		req.Header.Set("User-Agent", "pyship")
		c.logf("GET %s", redact(u))
		resp, herr := hc.Do(req)
		retry := false
		switch {
		case herr != nil:
			err, retry = fmt.Errorf("%s: %v", redact(u), stripURL(herr)), ctx.Err() == nil
		case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
			resp.Body.Close()
			return nil, "", "", 0, ErrNotFound
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			resp.Body.Close()
			err, retry = fmt.Errorf("%s: %s", redact(u), resp.Status), true
		case resp.StatusCode != http.StatusOK:
			resp.Body.Close()
			return nil, "", "", 0, fmt.Errorf("%s: %s", redact(u), resp.Status)
		default:
			return resp.Body, resp.Request.URL.String(), resp.Header.Get("Content-Type"), resp.ContentLength, nil
		}
		if !retry || attempt >= c.retries() {
			if retry {
				err = fmt.Errorf("%w (gave up after %d attempts)", err, attempt+1)
			}
			return nil, "", "", 0, err
		}
		select {
		case <-ctx.Done():
			return nil, "", "", 0, ctx.Err()
		case <-time.After(delay):
		}
		delay *= 2
	}
}

func (c *Client) retries() int {
	if c.Retries < 0 {
		return 0
	}
	if c.Retries == 0 {
		return 3
	}
	return c.Retries
}

func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// redact hides credentials in an index URL for messages.
// Redact hides credentials in a URL for messages.
func Redact(u string) string { return redact(u) }

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.User == nil {
		return u
	}
	return p.Redacted()
}

// Download fetches a file into the cache (or finds it there) and returns its path and
// sha256. want is the sha256 the caller trusts (from a lock file) or "" to use the
// index's; a mismatch is an error and nothing is kept.
func (c *Client) Download(ctx context.Context, f File, want string) (string, string, error) {
	want = strings.ToLower(want)
	if want == "" {
		want = f.SHA256()
	}
	if want != "" {
		p := filepath.Join(c.CacheDir, "wheels", want, f.Filename)
		if _, err := os.Stat(p); err == nil {
			return p, want, nil
		}
	}
	var rc io.ReadCloser
	if strings.HasPrefix(f.URL, "file://") {
		u, _ := url.Parse(f.URL)
		fh, err := os.Open(u.Path)
		if err != nil {
			return "", "", err
		}
		rc = fh
	} else {
		r, _, _, _, err := c.open(ctx, c.withCredentials(f.URL), "")
		if errors.Is(err, ErrNotFound) {
			return "", "", fmt.Errorf("%s: 404 Not Found", redact(f.URL))
		}
		if err != nil {
			return "", "", err
		}
		rc = r
	}
	defer rc.Close()
	dir := filepath.Join(c.CacheDir, "wheels")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	tmp, err := os.CreateTemp(dir, "download-*")
	if err != nil {
		return "", "", err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), rc)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", redact(f.URL), err)
	}
	got := hex.EncodeToString(h.Sum(nil))
	if want != "" && got != want {
		return "", "", fmt.Errorf("%s: hash mismatch: expected sha256 %s, got %s (%d bytes); the file was not used", f.Filename, want, got, n)
	}
	if f.Size > 0 && n != f.Size {
		return "", "", fmt.Errorf("%s: size mismatch: index says %d bytes, got %d", f.Filename, f.Size, n)
	}
	final := filepath.Join(dir, got, f.Filename)
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return "", "", err
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return "", "", err
	}
	c.logf("downloaded %s (%d bytes)", f.Filename, n)
	return final, got, nil
}

// Metadata returns a wheel's core metadata: the PEP 658 file when the index serves
// one (hash-checked), else from the downloaded wheel. Cached by the wheel's hash.
func (c *Client) Metadata(ctx context.Context, f File) (*wheel.Metadata, error) {
	sum := f.SHA256()
	cachePath := ""
	if sum != "" {
		cachePath = filepath.Join(c.CacheDir, "metadata", sum+".METADATA")
		if b, err := os.ReadFile(cachePath); err == nil {
			return wheel.ParseMetadata(f.Filename+".metadata", b)
		}
	}
	var data []byte
	if f.MetadataHashes != nil && !strings.HasPrefix(f.URL, "file://") {
		b, _, _, err := c.get(ctx, f.URL+".metadata", "")
		if err == nil {
			if want := f.MetadataHashes["sha256"]; want != "" {
				got := sha256.Sum256(b)
				if hex.EncodeToString(got[:]) != want {
					return nil, fmt.Errorf("%s.metadata: hash mismatch against the index's data-core-metadata", f.Filename)
				}
			}
			data = b
		}
	}
	if data == nil {
		p, _, err := c.Download(ctx, f, "")
		if err != nil {
			return nil, err
		}
		w, err := wheel.Open(p)
		if err != nil {
			return nil, err
		}
		defer w.Close()
		m, err := w.Metadata()
		if err != nil {
			return nil, err
		}
		if cachePath != "" {
			_ = atomicfile.Write(cachePath, metadataText(m), 0o644)
		}
		return m, nil
	}
	if cachePath != "" {
		_ = atomicfile.Write(cachePath, data, 0o644)
	}
	return wheel.ParseMetadata(f.Filename+".metadata", data)
}

// metadataText writes the fields pyship reads back in core-metadata form.
func metadataText(m *wheel.Metadata) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "Metadata-Version: 2.1\nName: %s\nVersion: %s\n", m.Name, m.Version)
	if m.RequiresPython != "" {
		fmt.Fprintf(&b, "Requires-Python: %s\n", m.RequiresPython)
	}
	for _, r := range m.RequiresDist {
		fmt.Fprintf(&b, "Requires-Dist: %s\n", r)
	}
	for _, e := range m.ProvidesExtra {
		fmt.Fprintf(&b, "Provides-Extra: %s\n", e)
	}
	return []byte(b.String())
}

// withCredentials adds the user information of a configured index on the same host to
// a URL that has none (lock files never store credentials).
func (c *Client) withCredentials(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.User != nil {
		return u
	}
	for _, idx := range append(append([]string{}, c.Indexes...), c.FindLinks...) {
		ip, err := url.Parse(idx)
		if err == nil && ip.User != nil && ip.Host == p.Host {
			p.User = ip.User
			return p.String()
		}
	}
	return u
}
