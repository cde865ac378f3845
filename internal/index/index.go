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
	"io/fs"
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

	"github.com/pyship/pyship/internal/atomicfile"
	"github.com/pyship/pyship/internal/pep440"
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
	// Timeouts for each request; zero fields take DefaultTimeouts'.
	Timeouts Timeouts
	// MaxDownload caps a download; 0 means $PYSHIP_MAX_DOWNLOAD, else
	// DefaultMaxDownload.
	MaxDownload int64
	// MaxPage caps an index page or metadata file; 0 means DefaultMaxPage.
	MaxPage int64
	// Log receives one line per network fetch, for progress output.
	Log func(format string, args ...any)

	mu       sync.Mutex
	pages    map[string][]File
	httpOnce sync.Once
	http     *http.Client
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
	body, final, ctype, err := c.get(ctx, u, accept, c.maxPage())
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
	files, err = checkListed(redact(u), files)
	if err != nil {
		return nil, err
	}
	for i := range files {
		files[i].Index = redact(idx)
	}
	return files, nil
}

// checkListed vets what a remote page lists before any of it is used: a file name is
// one path element and a link is http(s), since a page must not make pyship read local
// files (file:///dev/zero, ~/.ssh). A file whose sha256 is not hex (the cache is keyed
// by it) or a wheel whose name is not a wheel name is dropped: neither could be used.
func checkListed(page string, files []File) ([]File, error) {
	out := files[:0]
	for _, f := range files {
		if err := CheckFileName(f.Filename); err != nil {
			return nil, fmt.Errorf("%s lists %w", page, err)
		}
		if u, err := url.Parse(f.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("%s links %s to %s: an index page may link only http(s) files", page, f.Filename, quoteShort(redact(f.URL)))
		}
		if h := f.Hashes["sha256"]; h != "" && CheckSHA256(h) != nil {
			continue // it could never be checked against its hash
		}
		if strings.HasSuffix(f.Filename, ".whl") && CheckWheelName(f.Filename) != nil {
			continue
		}
		out = append(out, f)
	}
	return out, nil
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
		body, final, _, err := c.get(ctx, loc, "text/html", c.maxPage())
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
			// A find-links page is any HTML page: only the links to this project's
			// files are its business, and those are vetted like an index's.
			if matches(f.Filename) {
				f.Index = redact(loc)
				out = append(out, f)
			}
		}
		return checkListed(redact(loc), out)
	}
	dir := strings.TrimPrefix(loc, "file://")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("--find-links %s: %w", loc, err)
	}
	var out []File
	for _, e := range entries {
		// Regular files and links (Download follows a link only within the
		// directory); a FIFO or device named like a wheel is not a wheel.
		if !(e.Type().IsRegular() || e.Type()&fs.ModeSymlink != 0) || !matches(e.Name()) {
			continue
		}
		abs, _ := filepath.Abs(filepath.Join(dir, e.Name()))
		f := File{Filename: e.Name(), URL: (&url.URL{Scheme: "file", Path: abs}).String(), Index: loc}
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
			f.Size = info.Size()
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Filename < out[j].Filename })
	return out, nil
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

// Metadata returns a wheel's core metadata: the PEP 658 file when the index serves
// one (hash-checked), else from the downloaded wheel. Cached by the wheel's hash.
func (c *Client) Metadata(ctx context.Context, f File) (*wheel.Metadata, error) {
	sum := f.SHA256()
	cachePath := ""
	if CheckSHA256(sum) == nil { // the cache is keyed by it: a hash that is a path is not used
		cachePath = filepath.Join(c.CacheDir, "metadata", sum+".METADATA")
		if b, err := os.ReadFile(cachePath); err == nil {
			return wheel.ParseMetadata(f.Filename+".metadata", b)
		}
	}
	var data []byte
	if f.MetadataHashes != nil && !strings.HasPrefix(f.URL, "file://") {
		b, _, _, err := c.get(ctx, f.URL+".metadata", "", c.maxPage())
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
	m, err := wheel.ParseMetadata(f.Filename+".metadata", data)
	if err != nil {
		return nil, err
	}
	// The wheel itself is refused when opened if its METADATA names another project;
	// the PEP 658 file must be held to the same rule, or `pyship lock` would pin it.
	if err := sameIdentity(f.Filename, m); err != nil {
		return nil, err
	}
	if cachePath != "" {
		_ = atomicfile.Write(cachePath, data, 0o644)
	}
	return m, nil
}

// sameIdentity checks that core metadata names the project and version of the wheel's
// file name.
func sameIdentity(filename string, m *wheel.Metadata) error {
	n, err := wheel.ParseName(filename)
	if err != nil {
		return nil // not a wheel (an sdist's metadata): nothing to hold it to
	}
	if pyproject.Normalize(m.Name) != n.Dist {
		return fmt.Errorf("%s.metadata says Name: %s, but the file is for %s", filename, m.Name, n.Dist)
	}
	v, err := pep440.Parse(m.Version)
	if err != nil || !v.Equal(n.Version) {
		return fmt.Errorf("%s.metadata says Version: %s, but the file name has %s", filename, m.Version, n.Version)
	}
	return nil
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
