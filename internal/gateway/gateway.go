// Package gateway is pyship's ingress: a reverse proxy on loopback that routes
// NAME.localhost (and REVISION---NAME.localhost) to the live replicas of each app,
// balances across them, splits traffic between revisions by weight with a sticky
// cookie, retries an idempotent request once on another replica when a connection is
// refused or reset, tracks in-flight requests per replica for draining, and writes an
// access log. Its routing table is an immutable snapshot swapped atomically (the
// kamal-proxy invariant), read from a JSON file that pyship commands write.
package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Routes is the file pyship commands write and the gateway reads.
type Routes struct {
	Version int64                `json:"version"`
	Apps    map[string]AppRoutes `json:"apps"`
}

// AppRoutes lists an app's revisions, their replicas' addresses and their weights
// (percent; the revisions with weight 0 are reachable only by their own host name).
type AppRoutes struct {
	Revisions map[string][]string `json:"revisions"`
	Weights   map[string]int      `json:"weights"`
}

// ReadRoutes reads a routes file; a missing file is an empty table.
func ReadRoutes(path string) (*Routes, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &Routes{Apps: map[string]AppRoutes{}}, nil
	}
	if err != nil {
		return nil, err
	}
	r := &Routes{}
	if err := json.Unmarshal(b, r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if r.Apps == nil {
		r.Apps = map[string]AppRoutes{}
	}
	return r, nil
}

// WriteRoutes writes the file atomically (temp + rename), so the gateway never reads
// half a table.
func WriteRoutes(path string, r *Routes) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dirOf(path), ".routes-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func dirOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return "."
}

type backend struct {
	addr     string
	inflight atomic.Int64
}

type revision struct {
	name     string
	weight   int
	backends []*backend
	next     atomic.Uint64
}

type app struct {
	revisions []*revision // sorted by name
	total     int
}

type table struct {
	version int64
	apps    map[string]*app
	src     *Routes // as loaded, for the admin status
}

// Gateway is the proxy.
type Gateway struct {
	table    atomic.Pointer[table]
	mu       sync.Mutex
	backends map[string]*backend // kept across reloads so in-flight counts carry over
	proxy    *httputil.ReverseProxy
	log      io.Writer
	logMu    sync.Mutex
}

// New returns a gateway with an empty table; access lines go to log.
func New(log io.Writer) *Gateway {
	g := &Gateway{backends: map[string]*backend{}, log: log}
	g.table.Store(&table{apps: map[string]*app{}})
	transport := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     60 * time.Second,
		// A proxy passes bodies as they are: left on, the transport would ask the app
		// for gzip and unpack it again for every client that did not ask.
		DisableCompression: true,
	}
	g.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			b := pr.In.Context().Value(ctxBackend{}).(*backend)
			pr.Out.URL.Scheme, pr.Out.URL.Host = "http", b.addr
			pr.Out.Host = pr.In.Host // the app sees the name it was called by
			pr.SetXForwarded()
		},
		Transport: &retrier{g: g, base: transport},
		// Without a pool every response allocates a 32 KB copy buffer: at a thousand
		// requests a second that garbage alone runs the collector ten times a second.
		BufferPool: bufferPool{},
		// 0, not -1: a response of known length goes out in as few writes as its size
		// allows; streams (event streams, chunked bodies) are flushed at every write
		// anyway. Flushing every write cost a fifth of the gateway's CPU in syscalls.
		FlushInterval: 0,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "pyship gateway: the app did not answer: "+err.Error(), http.StatusBadGateway)
		},
	}
	return g
}

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// bufferPool lends ReverseProxy its copy buffers.
type bufferPool struct{}

func (bufferPool) Get() []byte  { return *copyBuffers.Get().(*[]byte) }
func (bufferPool) Put(b []byte) { copyBuffers.Put(&b) }

// Load installs a routing table. Backends that stay keep their in-flight counts.
func (g *Gateway) Load(r *Routes) {
	g.mu.Lock()
	defer g.mu.Unlock()
	t := &table{version: r.Version, apps: map[string]*app{}, src: r}
	for name, ar := range r.Apps {
		a := &app{}
		var revs []string
		for rev := range ar.Revisions {
			revs = append(revs, rev)
		}
		sort.Strings(revs)
		for _, rev := range revs {
			rv := &revision{name: rev, weight: ar.Weights[rev]}
			for _, addr := range ar.Revisions[rev] {
				b, ok := g.backends[addr]
				if !ok {
					b = &backend{addr: addr}
					g.backends[addr] = b
				}
				rv.backends = append(rv.backends, b)
			}
			a.total += rv.weight
			a.revisions = append(a.revisions, rv)
		}
		t.apps[name] = a
	}
	g.table.Store(t)
}

// Version is the version of the table in use.
func (g *Gateway) Version() int64 { return g.table.Load().version }

// Routes is the table in use, as it was loaded.
func (g *Gateway) Routes() *Routes { return g.table.Load().src }

// Inflight reports in-flight requests per backend address.
func (g *Gateway) Inflight() map[string]int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]int64{}
	for addr, b := range g.backends {
		out[addr] = b.inflight.Load()
	}
	return out
}

type ctxBackend struct{}
type ctxAlternatives struct{}

const cookiePrefix = "pyship-rev-"

// route finds the app, revision and backend for a request.
func (g *Gateway) route(w http.ResponseWriter, r *http.Request) (*revision, *backend, []*backend, string) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	name, ok := strings.CutSuffix(host, ".localhost")
	if !ok {
		return nil, nil, nil, "use NAME.localhost as the host name"
	}
	want := ""
	if rev, appName, ok := strings.Cut(name, "---"); ok {
		want, name = rev, appName
	}
	t := g.table.Load()
	a := t.apps[name]
	if a == nil || len(a.revisions) == 0 {
		return nil, nil, nil, fmt.Sprintf("no app %q is deployed", name)
	}
	var rv *revision
	switch {
	case want != "":
		for _, x := range a.revisions {
			if x.name == want || x.name == name+"--"+want {
				rv = x
			}
		}
		if rv == nil {
			return nil, nil, nil, fmt.Sprintf("app %q has no running revision %q", name, want)
		}
	case a.total > 0:
		// Sticky: a client keeps its revision while that revision takes traffic.
		if c, err := r.Cookie(cookiePrefix + name); err == nil {
			for _, x := range a.revisions {
				if x.name == c.Value && x.weight > 0 {
					rv = x
				}
			}
		}
		if rv == nil {
			n := rand.IntN(a.total)
			for _, x := range a.revisions {
				if n < x.weight {
					rv = x
					break
				}
				n -= x.weight
			}
			if multiple(a) {
				http.SetCookie(w, &http.Cookie{Name: cookiePrefix + name, Value: rv.name, Path: "/", HttpOnly: true})
			}
		}
	}
	if rv == nil || len(rv.backends) == 0 {
		return nil, nil, nil, fmt.Sprintf("app %q has no ready replica", name)
	}
	i := rv.next.Add(1)
	b := rv.backends[int(i)%len(rv.backends)]
	// Alternatives for a retry: the revision's other replicas, then other live ones.
	var alts []*backend
	for j := 1; j < len(rv.backends); j++ {
		alts = append(alts, rv.backends[(int(i)+j)%len(rv.backends)])
	}
	for _, x := range a.revisions {
		if x != rv && x.weight > 0 {
			alts = append(alts, x.backends...)
		}
	}
	return rv, b, alts, ""
}

func multiple(a *app) bool {
	n := 0
	for _, x := range a.revisions {
		if x.weight > 0 {
			n++
		}
	}
	return n > 1
}

// ServeHTTP proxies one request.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rv, b, alts, why := g.route(w, r)
	if b == nil {
		http.Error(w, "pyship gateway: "+why, http.StatusNotFound)
		g.access(r, http.StatusNotFound, start, "-", "-")
		return
	}
	b.inflight.Add(1)
	defer b.inflight.Add(-1)
	ctx := context.WithValue(r.Context(), ctxBackend{}, b)
	ctx = context.WithValue(ctx, ctxAlternatives{}, alts)
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	g.proxy.ServeHTTP(rec, r.WithContext(ctx))
	g.access(r, rec.status, start, rv.name, b.addr)
}

func (g *Gateway) access(r *http.Request, status int, start time.Time, rev, addr string) {
	if g.log == nil {
		return
	}
	g.logMu.Lock()
	defer g.logMu.Unlock()
	fmt.Fprintf(g.log, "%s %s %s %s %d %.1fms rev=%s backend=%s\n", start.UTC().Format(time.RFC3339Nano), r.Host, r.Method, r.URL.RequestURI(), status,
		float64(time.Since(start).Microseconds())/1000, rev, addr)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach Flush and Hijack (WebSocket upgrades).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// retrier retries an idempotent request once on another replica when the connection
// to the first was refused or reset before any response: a replica that is stopping
// or not yet listening then costs a few milliseconds, not an error.
type retrier struct {
	g    *Gateway
	base http.RoundTripper
}

func (t *retrier) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err == nil || !retriable(req, err) {
		return resp, err
	}
	alts, _ := req.Context().Value(ctxAlternatives{}).([]*backend)
	if len(alts) == 0 {
		return nil, err
	}
	b := alts[0] // once: a second failure is the answer
	r2 := req.Clone(req.Context())
	r2.URL.Host = b.addr
	b.inflight.Add(1)
	resp, err2 := t.base.RoundTrip(r2)
	if resp != nil && resp.Body != nil {
		resp.Body = &releaseBody{ReadCloser: resp.Body, b: b}
	} else {
		b.inflight.Add(-1)
	}
	return resp, err2
}

type releaseBody struct {
	io.ReadCloser
	b    *backend
	once sync.Once
}

func (r *releaseBody) Close() error {
	r.once.Do(func() { r.b.inflight.Add(-1) })
	return r.ReadCloser.Close()
}

// retriable: a request whose body was not consumed can go to another replica when the
// connection was refused (it never reached the app); after a reset the app may have
// acted on it, so only idempotent methods are retried then.
func retriable(req *http.Request, err error) bool {
	if req.Body != nil && req.Body != http.NoBody && req.ContentLength != 0 {
		return false
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
	}
	return false
}
