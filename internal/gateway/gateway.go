// Package gateway is pyship's ingress: a reverse proxy on loopback that routes
// NAME.localhost (and REVISION---NAME.localhost) to the live replicas of each app,
// balances across them, splits traffic between revisions by weight with a sticky
// cookie, retries an idempotent request once on another replica when a connection is
// refused or reset, tracks in-flight requests per replica for draining, and writes an
// access log. Its routing table is an immutable snapshot swapped atomically (the
// kamal-proxy invariant), read from a JSON file that pyship commands write.
package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
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
	// Idle says why an app that exists serves nothing (no replica in Revisions): its
	// requests get 503 with this, not 404 "no app is deployed" while pyship ls lists it.
	Idle *Idle `json:"idle,omitempty"`
}

// Idle describes an app with no live revision.
type Idle struct {
	// Revision is the app's newest revision and State its state (store's "failed",
	// "provisioning", ...); both empty when it has none.
	Revision string `json:"revision,omitempty"`
	State    string `json:"state,omitempty"`
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
	client   *fasthttp.HostClient
	left     time.Time // when it left the table (zero while it is in it); under Gateway.mu
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
	idle      *Idle
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
	server   *fasthttp.Server
	log      io.Writer
	logMu    sync.Mutex
	limits   Limits
	notices  io.Writer // the operator's log; nil: none
	noticeMu sync.Mutex
	traffic  traffic // answers per app over the last minute
}

// New returns a gateway with an empty table and DefaultLimits; access lines go to
// log.
func New(log io.Writer, opts ...Option) *Gateway {
	g := &Gateway{backends: map[string]*backend{}, log: log, limits: DefaultLimits()}
	for _, o := range opts {
		o(g)
	}
	g.table.Store(&table{apps: map[string]*app{}})
	g.server = g.newServer()
	return g
}

// Load installs a routing table. Backends that stay keep their in-flight counts.
func (g *Gateway) Load(r *Routes) {
	g.mu.Lock()
	defer g.mu.Unlock()
	t := &table{version: r.Version, apps: map[string]*app{}, src: r}
	used := map[string]bool{}
	for name, ar := range r.Apps {
		a := &app{idle: ar.Idle}
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
					b = &backend{addr: addr, client: newClient(addr)}
					g.backends[addr] = b
				}
				used[addr] = true
				rv.backends = append(rv.backends, b)
			}
			a.total += rv.weight
			a.revisions = append(a.revisions, rv)
		}
		t.apps[name] = a
	}
	g.table.Store(t)
	// A replica that left the table is forgotten, with its pooled connections, once
	// nothing is in flight to it and a request that picked it from the previous table
	// has long since counted itself (forgotten at once, such a request would be
	// invisible to Inflight, and a drain would stop the replica under it).
	now := time.Now()
	for addr, b := range g.backends {
		switch {
		case used[addr]:
			b.left = time.Time{}
		case b.left.IsZero():
			b.left = now
		case now.Sub(b.left) > time.Minute && b.inflight.Load() == 0:
			b.client.CloseIdleConnections()
			delete(g.backends, addr)
		}
	}
}

// Traffic is what each app's requests did over the last minute.
func (g *Gateway) Traffic() map[string]AppTraffic { return g.traffic.snapshot(time.Now()) }

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

const cookiePrefix = "pyship-rev-"

// pick is where a request goes: a replica of a revision, the replicas to retry on,
// and whether to set the sticky cookie (the app splits its traffic).
type pick struct {
	app    string
	rev    *revision
	b      *backend
	alts   []*backend
	cookie bool
}

// noRoute is why a request has nowhere to go, and its status: 404 for what does not
// exist, 503 for an app that exists but has nothing serving.
type noRoute struct {
	why    string
	status int
}

func notFound(format string, args ...any) *noRoute {
	return &noRoute{fmt.Sprintf(format, args...), fasthttp.StatusNotFound}
}

func unavailable(format string, args ...any) *noRoute {
	return &noRoute{fmt.Sprintf(format, args...), fasthttp.StatusServiceUnavailable}
}

// idleWhy says why a known app serves nothing, and what to do about it.
func idleWhy(name string, idle *Idle) *noRoute {
	if idle == nil || idle.Revision == "" {
		return unavailable("app %q has no running replica (pyship status %s)", name, name)
	}
	switch idle.State {
	case "failed":
		return unavailable("app %q is not serving: its revision %s did not become healthy and no earlier revision serves (pyship revisions %s says why; fix it and deploy again)", name, idle.Revision, name)
	case "provisioning":
		return unavailable("app %q is not serving yet: its revision %s is starting (pyship revisions %s)", name, idle.Revision, name)
	}
	return unavailable("app %q is not serving: its revision %s is %s (pyship status %s; pyship logs %s)", name, idle.Revision, idle.State, name, name)
}

// route finds the app, revision and backend for a request, or says why there is none.
func (g *Gateway) route(req *fasthttp.RequestHeader) (pick, *noRoute) {
	host := string(req.Host())
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	name, ok := strings.CutSuffix(host, ".localhost")
	if !ok {
		return pick{}, notFound("use NAME.localhost as the host name")
	}
	want := ""
	if rev, appName, ok := strings.Cut(name, "---"); ok {
		want, name = rev, appName
	}
	t := g.table.Load()
	a := t.apps[name]
	if a == nil {
		return pick{}, notFound("no app %q is deployed (pyship ls lists the apps)", name)
	}
	if len(a.revisions) == 0 {
		return pick{}, idleWhy(name, a.idle)
	}
	p := pick{app: name}
	switch {
	case want != "":
		for _, x := range a.revisions {
			if x.name == want || x.name == name+"--"+want {
				p.rev = x
			}
		}
		if p.rev == nil {
			return pick{}, notFound("app %q has no running revision %q", name, want)
		}
	case a.total > 0:
		// Sticky: a client keeps its revision while that revision takes traffic.
		if c := req.Cookie(cookiePrefix + name); len(c) > 0 {
			for _, x := range a.revisions {
				if x.name == string(c) && x.weight > 0 {
					p.rev = x
				}
			}
		}
		if p.rev == nil {
			n := rand.IntN(a.total)
			for _, x := range a.revisions {
				if n < x.weight {
					p.rev = x
					break
				}
				n -= x.weight
			}
			if multiple(a) {
				p.cookie = true
			}
		}
	}
	rv := p.rev
	if rv == nil || len(rv.backends) == 0 {
		return pick{}, unavailable("app %q has no ready replica (pyship status %s)", name, name)
	}
	i := rv.next.Add(1)
	p.b = rv.backends[int(i)%len(rv.backends)]
	// Alternatives for a retry: the revision's other replicas, then other live ones.
	for j := 1; j < len(rv.backends); j++ {
		p.alts = append(p.alts, rv.backends[(int(i)+j)%len(rv.backends)])
	}
	for _, x := range a.revisions {
		if x != rv && x.weight > 0 {
			p.alts = append(p.alts, x.backends...)
		}
	}
	return p, nil
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

func (g *Gateway) access(host, method, uri string, status int, start time.Time, rev, addr string) {
	g.traffic.add(rev, status, start)
	if g.log == nil || g.log == io.Discard {
		return
	}
	g.logMu.Lock()
	defer g.logMu.Unlock()
	fmt.Fprintf(g.log, "%s %s %s %s %d %.1fms rev=%s backend=%s\n", start.UTC().Format(time.RFC3339Nano), host, method, uri, status,
		float64(time.Since(start).Microseconds())/1000, rev, addr)
}
