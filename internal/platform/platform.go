// Package platform runs apps on the local Docker engine the way Azure Container Apps
// runs them in the cloud: immutable revisions (image, command, env, secret references
// with their value digests, port, probe, replicas), health-gated switches behind
// pyship's gateway with no failed request, rollbacks, env and secret changes as new
// revisions, and merged logs. State lives in package store; container labels are the
// ground truth when they disagree.
package platform

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/pyship/pyship/internal/engine"
	"github.com/pyship/pyship/internal/gateway"
	"github.com/pyship/pyship/internal/store"
)

// Labels on every replica.
const (
	LabelApp      = "pyship.app"
	LabelRevision = "pyship.revision"
	LabelReplica  = "pyship.replica"
	LabelSpec     = "pyship.spec"
	LabelIP       = "pyship.ip" // the replica's fixed address on NetworkName
	// LabelState names the state directory a replica belongs to (see StateID): two
	// state directories may each have an app "web", and neither may touch the other's.
	LabelState = "pyship.state"
)

// NetworkName is the bridge network replicas join, each with a fixed address: the
// gateway dials that address, sparing every request the engine's userland port
// forwarder, and it stays right across restarts of replicas and of the engine.
const NetworkName = "pyship"

// Platform is the local platform: state, engine, gateway addresses.
type Platform struct {
	Store  *store.Store
	Engine *engine.Client
	Listen string // gateway, "127.0.0.1:8080"
	Admin  string // gateway admin, "127.0.0.1:8081"
	Log    func(format string, args ...any)
	// Timeouts.
	StartTimeout time.Duration // for a replica to answer its probe (default 90 s)
	DrainTimeout time.Duration // for in-flight requests to finish (default 30 s)
	StopGrace    int           // seconds between SIGTERM and SIGKILL (default 30)
}

func (p *Platform) logf(format string, args ...any) {
	if p.Log != nil {
		p.Log(format, args...)
	}
}

func goarch() string { return runtime.GOARCH }

func (p *Platform) routesPath() string { return filepath.Join(p.Store.Dir, "gateway", "routes.json") }

// URL is the app's address at the gateway.
func (p *Platform) URL(app string) string {
	_, port, _ := net.SplitHostPort(p.Listen)
	return fmt.Sprintf("http://%s.localhost:%s/", app, port)
}

// StateID is the first 8 hex digits of the sha256 of the state directory's path.
func (p *Platform) StateID() string {
	sum := sha256.Sum256([]byte(p.Store.Dir))
	return hex.EncodeToString(sum[:])[:8]
}

// Replicas lists an app's containers of this state directory.
func (p *Platform) Replicas(ctx context.Context, app string) ([]engine.Summary, error) {
	return p.replicas(ctx, app, "")
}

// replicas lists an app's containers, optionally of one revision.
func (p *Platform) replicas(ctx context.Context, app, rev string) ([]engine.Summary, error) {
	labels := []string{LabelState + "=" + p.StateID(), LabelApp + "=" + app}
	if rev != "" {
		labels = append(labels, LabelRevision+"="+rev)
	}
	cs, err := p.Engine.List(ctx, labels...)
	sort.Slice(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
	return cs, err
}

// PublishRoutes writes the routing table from the store and the running replicas, and
// waits until the gateway has installed it.
func (p *Platform) PublishRoutes(ctx context.Context) error {
	apps, err := p.Store.List()
	if err != nil {
		return err
	}
	r := &gateway.Routes{Version: time.Now().UnixNano(), Apps: map[string]gateway.AppRoutes{}}
	for _, a := range apps {
		ar := gateway.AppRoutes{Revisions: map[string][]string{}, Weights: map[string]int{}}
		weights := a.Traffic
		if len(weights) == 0 && a.Live != "" {
			weights = map[string]int{a.Live: 100}
		}
		for rev, w := range weights {
			rv := a.Revision(rev)
			if rv == nil || rv.State != store.Ready {
				continue
			}
			addrs, err := p.addrs(ctx, a.Name, rv.Name)
			if err != nil {
				return err
			}
			ar.Revisions[rv.Name], ar.Weights[rv.Name] = addrs, w
		}
		if !hasReplica(ar) {
			// Known but serving nothing (a first deploy that failed, replicas gone): the
			// gateway says so with a 503 naming the newest revision, not "no app".
			ar.Idle = &gateway.Idle{}
			if n := len(a.Revisions); n > 0 {
				newest := a.Revisions[n-1]
				for _, rv := range a.Revisions {
					if rv.Created.After(newest.Created) {
						newest = rv
					}
				}
				ar.Idle.Revision, ar.Idle.State = newest.Name, newest.State
			}
		}
		r.Apps[a.Name] = ar
	}
	if err := gateway.WriteRoutes(p.routesPath(), r); err != nil {
		return err
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := gateway.Query(ctx, p.Admin)
		if err == nil && st.Version >= r.Version {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the gateway did not take the new routes (pyship gateway status; docker logs %s): %v", p.GatewayName(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// hasReplica reports whether an app's routes have a replica to send a request to.
func hasReplica(ar gateway.AppRoutes) bool {
	for _, addrs := range ar.Revisions {
		if len(addrs) > 0 {
			return true
		}
	}
	return false
}

// addrs are the addresses the gateway uses for a revision's running replicas.
func (p *Platform) addrs(ctx context.Context, app, rev string) ([]string, error) {
	cs, err := p.replicas(ctx, app, rev)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range cs {
		if c.State == "running" && c.Labels["pyship.hostport"] != "" {
			out = append(out, p.addrOf(c))
		}
	}
	return out, nil
}

// addrOf prefers the replica's fixed address when this machine reaches it (Linux: the
// bridge network), which spares every request the engine's userland port forwarder;
// otherwise (Docker Desktop, rootless engines) the published loopback port, which
// always works. Both survive restarts; an address the engine assigns anew at every
// start would not (two replicas swap theirs when the engine restarts). The gateway
// shares the host's network, so what pyship reaches, it does.
func (p *Platform) addrOf(c engine.Summary) string {
	loopback := "127.0.0.1:" + c.Labels["pyship.hostport"]
	port, ip := c.Labels["pyship.port"], c.Labels[LabelIP]
	if port == "" || ip == "" {
		return loopback
	}
	direct := net.JoinHostPort(ip, port)
	conn, err := net.DialTimeout("tcp", direct, 300*time.Millisecond)
	if err != nil {
		return loopback
	}
	conn.Close()
	return direct
}

// Reconcile brings the engine in line with the store after an interrupted command
// (kill -9 mid-deploy): replicas of revisions that never became ready are removed, and
// replicas of revisions that no longer take traffic are stopped and removed. The
// revision serving traffic is never touched.
func (p *Platform) Reconcile(ctx context.Context, app *store.App) error {
	cs, err := p.replicas(ctx, app.Name, "")
	if err != nil {
		return err
	}
	serving := map[string]bool{app.Live: true}
	for rev, w := range app.Traffic {
		if w > 0 {
			serving[rev] = true
		}
	}
	changed := false
	for _, c := range cs {
		rev := c.Labels[LabelRevision]
		if serving[rev] {
			continue
		}
		p.logf("removing %s (revision %s takes no traffic)", c.Name, rev)
		// A container the killed command was still starting can refuse removal for
		// a moment ("is starting", "removal in progress"): try again briefly.
		for try := 0; ; try++ {
			err := p.Engine.Remove(ctx, c.ID)
			if err == nil || try == 20 {
				if err != nil {
					p.logf("removing %s: %v", c.Name, err)
				}
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		if r := app.Revision(rev); r != nil && r.State == store.Provisioning {
			r.State, r.Reason, changed = store.Failed, "interrupted before it became ready", true
		}
	}
	for i := range app.Revisions {
		r := &app.Revisions[i]
		if r.State == store.Provisioning && !serving[r.Name] {
			r.State, r.Reason, changed = store.Failed, "interrupted before it became ready", true
		}
	}
	if changed {
		if err := p.Store.Put(app); err != nil {
			return err
		}
	}
	// An older pyship's secret copies of revisions with no container left, and the
	// probe containers of killed commands.
	if err := p.removeLegacySecretCopies(ctx); err != nil {
		p.logf("warning: %v (the next command of %s tries again)", err, app.Name)
	}
	if err := p.removeStaleProbes(ctx); err != nil {
		p.logf("warning: %v (the next command of %s tries again)", err, app.Name)
	}
	return nil
}

// freeIP picks an address of subnet that no pyship replica holds (running or not:
// a stopped replica gets its address back when it starts).
func (p *Platform) freeIP(ctx context.Context, subnet netip.Prefix) (netip.Addr, error) {
	cs, err := p.Engine.List(ctx, LabelIP)
	if err != nil {
		return netip.Addr{}, err
	}
	taken := map[netip.Addr]bool{}
	for _, c := range cs {
		if a, err := netip.ParseAddr(c.Labels[LabelIP]); err == nil {
			taken[a] = true
		}
	}
	// Start at a random offset: two pyships choosing at once rarely collide, and a
	// collision only costs a retry. .0 is the network, .1 the engine's gateway.
	n := 1 << (32 - subnet.Bits())
	start := 2 + rand.IntN(max(n-3, 1))
	for i := 0; i < n; i++ {
		off := (start-2+i)%(n-3) + 2
		a := subnet.Masked().Addr().As4()
		v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
		v += uint32(off)
		ip := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
		if !taken[ip] {
			return ip, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("network %s (%s) has no free address", NetworkName, subnet)
}

// freePort picks a free loopback port for a replica; the engine binds it and keeps it
// across restarts, so the gateway's routes stay right after the engine reboots.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func short(rev string) string {
	if i := strings.LastIndex(rev, "--"); i >= 0 {
		return rev[i+2:]
	}
	return rev
}
