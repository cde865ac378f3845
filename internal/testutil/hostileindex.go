package testutil

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Shape is one way a hostile package index misbehaves.
type Shape string

// The shapes HostileIndex serves. Each is a project page for the one Dist it was given,
// with one malicious detail; the wheel's own bytes stay valid so that only that detail
// can make pyship fail.
const (
	// TraversalHTML names the file in a PEP 503 link text as a path out of the cache.
	TraversalHTML Shape = "traversal-html"
	// TraversalJSON does the same in a PEP 691 "filename".
	TraversalJSON Shape = "traversal-json"
	// HashTraversal gives a "sha256" that is a path (from the cache's wheels/ folder to
	// its parent's "outside"), since the cache is keyed by it.
	HashTraversal Shape = "hash-traversal"
	// FileURLHTML links the wheel to file:///dev/zero in a PEP 503 page.
	FileURLHTML Shape = "file-url-html"
	// FileURLJSON does the same in a PEP 691 "url".
	FileURLJSON Shape = "file-url-json"
	// EndlessBody serves a wheel that never ends (no size declared, no Content-Length;
	// see EndlessBackstop).
	EndlessBody Shape = "endless-body"
	// EndlessPage serves a project page that never ends.
	EndlessPage Shape = "endless-page"
	// StallBody sends the wheel's headers and a few bytes, then nothing, forever.
	StallBody Shape = "stall-body"
	// StallPage does the same for the project page.
	StallPage Shape = "stall-page"
	// HangPage never answers the page request at all (no headers).
	HangPage Shape = "hang-page"
	// Oversized serves far more bytes than the page's declared "size".
	Oversized Shape = "oversized"
)

// Shapes lists every hostile shape, for tests that try them all.
var Shapes = []Shape{TraversalHTML, TraversalJSON, HashTraversal, FileURLHTML, FileURLJSON, EndlessBody, EndlessPage, StallBody, StallPage, HangPage, Oversized}

// Traversal is the file name the traversal shapes use: from the cache's
// wheels/<sha256>/ folder it climbs to the cache's parent and into "outside".
const Traversal = "/../../../../outside/planted.whl"

// EndlessBackstop is where an "endless" body does end after all: far beyond any limit a
// test sets, but short of filling the disk of a machine that runs a client without one.
const EndlessBackstop = 256 << 20

// Hostile is a running hostile index.
type Hostile struct {
	URL    string // the /simple URL to pass as the index
	Root   string // the server's root URL
	Wheel  []byte // the valid wheel the shapes are built around
	Name   string // its file name
	mu     sync.Mutex
	counts map[string]int
}

// Requests is how many requests the server answered for a path (e.g. "/simple/demo/").
func (h *Hostile) Requests(path string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[path]
}

// HostileIndex serves d as a simple index in the given shape. Handlers that stall or
// stream forever stop when the client goes away or the test ends, so a test that fails
// to time out still ends. The file:// shapes link to /dev/zero.
func HostileIndex(t testing.TB, shape Shape, d Dist) *Hostile {
	t.Helper()
	return HostileIndexLinking(t, shape, d, "file:///dev/zero")
}

// HostileIndexLinking is HostileIndex with the file:// shapes linking to fileURL (a
// file outside every folder the user named, which must not be read).
func HostileIndexLinking(t testing.TB, shape Shape, d Dist, fileURL string) *Hostile {
	t.Helper()
	whl := Wheel(t, d)
	h := &Hostile{Wheel: whl, Name: d.Filename(), counts: map[string]int{}}
	sum := sha256.Sum256(whl)
	hexSum := hex.EncodeToString(sum[:])
	done := make(chan struct{})
	project := strings.ToLower(strings.ReplaceAll(strings.ReplaceAll(d.Name, "_", "-"), ".", "-"))

	name, href, hash, size := h.Name, "../../files/good/"+h.Name, hexSum, len(whl)
	json := false
	switch shape {
	case TraversalHTML:
		name = h.Name + Traversal
	case TraversalJSON:
		name, json = h.Name+Traversal, true
	case HashTraversal:
		hash, json = "../../outside", true
	case FileURLHTML:
		href = fileURL
	case FileURLJSON:
		href, json = fileURL, true
	case EndlessBody:
		href, size = "../../files/endless/"+h.Name, 0
	case StallBody:
		href, json = "../../files/stall/"+h.Name, true
	case Oversized:
		href, json = "../../files/oversized/"+h.Name, true
	}
	var page string
	if json {
		sizeField := ""
		if size > 0 {
			sizeField = fmt.Sprintf(`,"size":%d`, size)
		}
		page = fmt.Sprintf(`{"meta":{"api-version":"1.1"},"name":%q,"files":[{"filename":%q,"url":%q,"hashes":{"sha256":%q}%s}]}`, project, name, href, hash, sizeField)
	} else {
		page = fmt.Sprintf("<!DOCTYPE html><html><body>\n<a href=\"%s#sha256=%s\">%s</a>\n</body></html>\n", href, hash, name)
	}

	count := func(r *http.Request) {
		h.mu.Lock()
		h.counts[r.URL.Path]++
		h.mu.Unlock()
	}
	// wait blocks until the client gives up or the test ends.
	wait := func(r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}
	endless := func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 64<<10)
		for sent := 0; sent < EndlessBackstop; sent += len(buf) {
			if _, err := w.Write(buf); err != nil {
				return
			}
			select {
			case <-r.Context().Done():
				return
			case <-done:
				return
			default:
			}
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/simple/"+project+"/", func(w http.ResponseWriter, r *http.Request) {
		count(r)
		switch shape {
		case HangPage:
			wait(r)
			return
		case StallPage:
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<!DOCTYPE html><html><body>\n"))
			w.(http.Flusher).Flush()
			wait(r)
			return
		case EndlessPage:
			w.Header().Set("Content-Type", "text/html")
			endless(w, r)
			return
		}
		if json {
			w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
		} else {
			w.Header().Set("Content-Type", "text/html")
		}
		w.Write([]byte(page))
	})
	mux.HandleFunc("/files/good/", func(w http.ResponseWriter, r *http.Request) {
		count(r)
		w.Write(whl)
	})
	mux.HandleFunc("/files/endless/", func(w http.ResponseWriter, r *http.Request) {
		count(r)
		endless(w, r)
	})
	mux.HandleFunc("/files/stall/", func(w http.ResponseWriter, r *http.Request) {
		count(r)
		w.Write(whl[:len(whl)/2])
		w.(http.Flusher).Flush()
		wait(r)
	})
	mux.HandleFunc("/files/oversized/", func(w http.ResponseWriter, r *http.Request) {
		count(r)
		w.Write(whl)
		endless(w, r)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		close(done)
		srv.Close()
	})
	h.Root, h.URL = srv.URL, srv.URL+"/simple"
	return h
}

// RawIndex serves page (as contentType) for every project and body for every file
// under /files/, whatever their names: the fuzz target's index. "{sha256}" and
// "{size}" in page are replaced with body's, so that a seed can be a valid index.
func RawIndex(t testing.TB, contentType string, page, body []byte) string {
	t.Helper()
	sum := sha256.Sum256(body)
	page = []byte(strings.NewReplacer("{sha256}", hex.EncodeToString(sum[:]), "{size}", fmt.Sprint(len(body))).Replace(string(page)))
	mux := http.NewServeMux()
	mux.HandleFunc("/simple/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Write(page)
	})
	mux.HandleFunc("/files/", func(w http.ResponseWriter, r *http.Request) { w.Write(body) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/simple"
}
