package index

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

func wheelBytes(t *testing.T, name, version string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	di := fmt.Sprintf("%s-%s.dist-info", name, version)
	files := map[string]string{
		di + "/METADATA": fmt.Sprintf("Metadata-Version: 2.1\nName: %s\nVersion: %s\nRequires-Dist: dep>=1\n", name, version),
		di + "/WHEEL":    "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n",
	}
	var rec strings.Builder
	for n, body := range files {
		w, _ := zw.Create(n)
		w.Write([]byte(body))
		sum := sha256.Sum256([]byte(body))
		fmt.Fprintf(&rec, "%s,sha256=%s,%d\n", n, b64(sum[:]), len(body))
	}
	rec.WriteString(di + "/RECORD,,\n")
	w, _ := zw.Create(di + "/RECORD")
	w.Write([]byte(rec.String()))
	zw.Close()
	return buf.Bytes()
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// server speaks PEP 691 JSON when asked for it and PEP 503 HTML otherwise, like
// PyPI and warehouse-compatible indexes; fail makes the first N requests answer 503.
func server(t *testing.T, fail int32) (*httptest.Server, []byte, *atomic.Int32) {
	whl := wheelBytes(t, "demo", "1.0")
	meta := []byte("Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nRequires-Dist: dep>=1\n")
	var hits atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/simple/demo/", func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) <= fail {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		if strings.Contains(r.Header.Get("Accept"), "application/vnd.pypi.simple.v1+json") && r.URL.Query().Get("html") == "" {
			w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
			fmt.Fprintf(w, `{"meta":{"api-version":"1.1"},"name":"demo","files":[
 {"filename":"demo-1.0-py3-none-any.whl","url":"../../files/demo-1.0-py3-none-any.whl","hashes":{"sha256":"%s"},"requires-python":">=3.8","core-metadata":{"sha256":"%s"},"size":%d},
 {"filename":"demo-0.9-py3-none-any.whl","url":"https://elsewhere.invalid/demo-0.9-py3-none-any.whl","hashes":{},"yanked":"broken"},
 {"filename":"demo-1.0.tar.gz","url":"../../files/demo-1.0.tar.gz","hashes":{"sha256":"00"}}]}`, sum(whl), sum(meta), len(whl))
			return
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!DOCTYPE html><html><head><meta name="pypi:repository-version" content="1.0"></head><body>
<a href="../../files/demo-1.0-py3-none-any.whl#sha256=%s" data-requires-python="&gt;=3.8" data-dist-info-metadata="sha256=%s">demo-1.0-py3-none-any.whl</a>
<a href="https://elsewhere.invalid/demo-0.9-py3-none-any.whl" data-yanked="">demo-0.9-py3-none-any.whl</a>
</body></html>`, sum(whl), sum(meta))
	})
	mux.HandleFunc("/files/demo-1.0-py3-none-any.whl", func(w http.ResponseWriter, r *http.Request) { w.Write(whl) })
	mux.HandleFunc("/files/demo-1.0-py3-none-any.whl.metadata", func(w http.ResponseWriter, r *http.Request) { w.Write(meta) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, whl, &hits
}

func TestJSONAndHTML(t *testing.T) {
	srv, whl, _ := server(t, 0)
	for _, mode := range []string{"json", "html"} {
		t.Run(mode, func(t *testing.T) {
			idx := srv.URL + "/simple"
			if mode == "html" {
				// A server that ignores Accept and sends HTML is read as HTML.
				idx = srv.URL + "/simple"
			}
			c := &Client{Indexes: []string{idx}, CacheDir: t.TempDir()}
			if mode == "html" {
				c.HTTP = &http.Client{Transport: htmlOnly{}}
			}
			files, err := c.Project(context.Background(), "Demo")
			if err != nil {
				t.Fatal(err)
			}
			var f File
			for _, x := range files {
				if x.Filename == "demo-1.0-py3-none-any.whl" {
					f = x
				}
				if x.Filename == "demo-0.9-py3-none-any.whl" && !x.Yanked {
					t.Errorf("yanked file not marked: %+v", x)
				}
			}
			if f.URL != srv.URL+"/files/demo-1.0-py3-none-any.whl" || f.SHA256() != sum(whl) || f.RequiresPython != ">=3.8" || f.MetadataHashes == nil {
				t.Fatalf("%+v", f)
			}
			m, err := c.Metadata(context.Background(), f)
			if err != nil || m.Name != "demo" || len(m.RequiresDist) != 1 {
				t.Fatalf("metadata %+v %v", m, err)
			}
			p, got, err := c.Download(context.Background(), f, "")
			if err != nil || got != sum(whl) {
				t.Fatalf("download %v %s", err, got)
			}
			if b, _ := os.ReadFile(p); !bytes.Equal(b, whl) {
				t.Error("downloaded bytes differ")
			}
		})
	}
}

// htmlOnly strips the Accept header, as a plain static file server would ignore it.
type htmlOnly struct{}

func (htmlOnly) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	q := r.URL.Query()
	q.Set("html", "1")
	r.URL.RawQuery = q.Encode()
	return http.DefaultTransport.RoundTrip(r)
}

func TestHashMismatchKeepsNothing(t *testing.T) {
	srv, _, _ := server(t, 0)
	c := &Client{Indexes: []string{srv.URL + "/simple"}, CacheDir: t.TempDir()}
	f := File{Filename: "demo-1.0-py3-none-any.whl", URL: srv.URL + "/files/demo-1.0-py3-none-any.whl"}
	_, _, err := c.Download(context.Background(), f, strings.Repeat("ab", 32))
	if err == nil || !strings.Contains(err.Error(), "hash mismatch") {
		t.Fatalf("err = %v", err)
	}
	left, _ := filepath.Glob(filepath.Join(c.CacheDir, "wheels", "*", "*"))
	if len(left) != 0 {
		t.Errorf("a file that failed its hash was kept: %v", left)
	}
}

func TestRetriesThenGivesUp(t *testing.T) {
	srv, _, hits := server(t, 2)
	c := &Client{Indexes: []string{srv.URL + "/simple"}, CacheDir: t.TempDir()}
	if _, err := c.Project(context.Background(), "demo"); err != nil {
		t.Fatalf("two 503s then success: %v", err)
	}
	if hits.Load() != 3 {
		t.Errorf("%d requests, want 3", hits.Load())
	}
	srv2, _, _ := server(t, 100)
	c = &Client{Indexes: []string{srv2.URL + "/simple"}, CacheDir: t.TempDir(), Retries: 2}
	_, err := c.Project(context.Background(), "demo")
	if err == nil || !strings.Contains(err.Error(), "gave up after 3 attempts") {
		t.Errorf("err = %v", err)
	}
	// An index that is down entirely.
	down := &Client{Indexes: []string{"http://127.0.0.1:1/simple"}, CacheDir: t.TempDir(), Retries: 1}
	if _, err := down.Project(context.Background(), "demo"); err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("down index: %v", err)
	}
}

func TestFirstIndexWinsAndNotFound(t *testing.T) {
	srv, _, _ := server(t, 0)
	empty := httptest.NewServer(http.NotFoundHandler())
	defer empty.Close()
	c := &Client{Indexes: []string{empty.URL + "/simple", srv.URL + "/simple"}, CacheDir: t.TempDir()}
	files, err := c.Project(context.Background(), "demo")
	if err != nil || len(files) == 0 || files[0].Index != srv.URL+"/simple" {
		t.Fatalf("%v %+v", err, files)
	}
	_, err = c.Project(context.Background(), "nosuch")
	if err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("err = %v", err)
	}
}

func TestFindLinksAndRedaction(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "demo-2.0-py3-none-any.whl"), wheelBytes(t, "demo", "2.0"), 0o644)
	os.WriteFile(filepath.Join(dir, "other-1.0-py3-none-any.whl"), []byte("x"), 0o644)
	c := &Client{FindLinks: []string{dir}, CacheDir: t.TempDir()}
	files, err := c.Project(context.Background(), "demo")
	if err != nil || len(files) != 1 || !strings.HasPrefix(files[0].URL, "file://") {
		t.Fatalf("%v %+v", err, files)
	}
	m, err := c.Metadata(context.Background(), files[0])
	if err != nil || m.Version != "2.0" {
		t.Fatalf("%v %+v", err, m)
	}
	if got := Redact("https://user:s3cret@example.com/simple"); strings.Contains(got, "s3cret") {
		t.Errorf("Redact kept the password: %s", got)
	}
}

func FuzzParseHTML(f *testing.F) {
	f.Add([]byte(`<a href="x-1.0-py3-none-any.whl#sha256=00" data-yanked="r" data-core-metadata="true">x-1.0-py3-none-any.whl</a>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parseHTML(b, mustURL("https://example.com/simple/x/"))
		_, _ = parseJSON(b, mustURL("https://example.com/simple/x/"))
	})
}

// A PEP 658 metadata file is held to the wheel's own rule: it must name the project and
// version of the file it describes, or `pyship lock` would pin an impostor.
func TestMetadataFileIdentity(t *testing.T) {
	for _, meta := range []string{"Metadata-Version: 2.1\nName: flask\nVersion: 1.0\n", "Metadata-Version: 2.1\nName: demo\nVersion: 2.0\n"} {
		mux := http.NewServeMux()
		mux.HandleFunc("/files/demo-1.0-py3-none-any.whl.metadata", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(meta)) })
		srv := httptest.NewServer(mux)
		c := &Client{Indexes: []string{srv.URL + "/simple"}, CacheDir: t.TempDir()}
		f := File{Filename: "demo-1.0-py3-none-any.whl", URL: srv.URL + "/files/demo-1.0-py3-none-any.whl",
			Hashes: map[string]string{"sha256": strings.Repeat("a", 64)}, MetadataHashes: map[string]string{}}
		m, err := c.Metadata(context.Background(), f)
		if err == nil || !strings.Contains(err.Error(), "demo-1.0-py3-none-any.whl.metadata says") {
			t.Errorf("metadata %q accepted for demo-1.0: %+v %v", meta, m, err)
		}
		if _, err := os.Stat(filepath.Join(c.CacheDir, "metadata", strings.Repeat("a", 64)+".METADATA")); err == nil {
			t.Error("refused metadata was cached")
		}
		srv.Close()
	}
}
