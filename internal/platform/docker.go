package platform

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pyship/pyship/internal/engine"
	"github.com/pyship/pyship/internal/gateway"
)

// dockerRuntime runs replicas as containers of the local Docker engine, each on the
// pyship network with a fixed address and a published loopback port, behind pyship's
// gateway (which reads its routes from a file in the state directory).
type dockerRuntime struct {
	engine   *engine.Client
	stateID  string // LabelState of every container of this state directory
	stateDir string
	admin    string // the gateway's admin address
	gateway  string // the gateway's container, for messages
	grace    int    // seconds the engine gives a replica between SIGTERM and SIGKILL
	logf     func(format string, args ...any)
}

var _ Runtime = (*dockerRuntime)(nil)
var _ Tidier = (*dockerRuntime)(nil)

// docker is the local engine's runtime for this platform.
func (p *Platform) docker() *dockerRuntime {
	return &dockerRuntime{engine: p.Engine, stateID: p.StateID(), stateDir: p.Store.Dir, admin: p.Admin, gateway: p.GatewayName(), grace: p.grace(), logf: p.logf}
}

func (d *dockerRuntime) routesPath() string {
	return filepath.Join(d.stateDir, "gateway", "routes.json")
}

// containers lists an app's containers, optionally of one revision.
func (d *dockerRuntime) containers(ctx context.Context, app, rev string) ([]engine.Summary, error) {
	labels := []string{LabelState + "=" + d.stateID, LabelApp}
	if app != "" {
		labels[1] = LabelApp + "=" + app
	}
	if rev != "" {
		labels = append(labels, LabelRevision+"="+rev)
	}
	cs, err := d.engine.List(ctx, labels...)
	sort.Slice(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
	return cs, err
}

// List implements Runtime.
func (d *dockerRuntime) List(ctx context.Context, app string) ([]Replica, error) {
	cs, err := d.containers(ctx, app, "")
	if err != nil {
		return nil, err
	}
	out := make([]Replica, 0, len(cs))
	for _, c := range cs {
		out = append(out, replicaOf(c))
	}
	return out, nil
}

func replicaOf(c engine.Summary) Replica {
	r := Replica{ID: c.ID, Name: c.Name, App: c.Labels[LabelApp], Revision: c.Labels[LabelRevision], Index: c.Labels[LabelReplica],
		State: c.State, Running: c.State == "running" || c.State == "restarting",
		Serving: c.State == "running" && c.Labels["pyship.hostport"] != "", Created: c.Created}
	if spec, ok := parseSpecLabel(c.Labels[LabelSpecJSON]); ok {
		r.Spec = &spec
	}
	return r
}

// Start implements Runtime: one container per replica, its secrets put into its own
// filesystem before it starts (secretfiles.go).
func (d *dockerRuntime) Start(ctx context.Context, rel Release) error {
	spec := rel.Spec
	files, entrypoint, cmd, err := d.secretFiles(ctx, spec, rel.Secrets)
	if err != nil {
		return err
	}
	if cmd == nil {
		cmd = spec.Cmd
	}
	subnet, err := d.engine.EnsureNetwork(ctx, NetworkName, map[string]string{"pyship.network": "1"})
	if err != nil {
		return err
	}
	for i := 0; i < spec.Replicas; i++ {
		// Another pyship can take the same free port or address between the choice and
		// the start: choose again.
		for try := 0; ; try++ {
			port, err := freePort()
			if err != nil {
				return err
			}
			ip, err := d.freeIP(ctx, subnet)
			if err != nil {
				return err
			}
			_, err = d.engine.Create(ctx, engine.CreateOptions{
				Name:       fmt.Sprintf("pyship-%s-%d", rel.Revision, i),
				Image:      spec.Image,
				Entrypoint: entrypoint,
				Cmd:        cmd,
				Env:        rel.Env,
				Files:      files,
				Labels: map[string]string{LabelState: d.stateID, LabelApp: rel.App, LabelRevision: rel.Revision, LabelReplica: strconv.Itoa(i), LabelSpec: short(rel.Revision),
					"pyship.hostport": strconv.Itoa(port), "pyship.port": strconv.Itoa(spec.Port), LabelIP: ip.String(), LabelSpecJSON: specLabel(spec)},
				Port:        spec.Port,
				HostPort:    port,
				Network:     NetworkName,
				IP:          ip,
				Restart:     "unless-stopped",
				StopTimeout: d.grace,
			})
			if err != nil && try < 5 && strings.Contains(err.Error(), "already") {
				continue
			}
			if err != nil {
				return err
			}
			break
		}
	}
	return nil
}

// Remove implements Runtime. A container a killed command was still starting can
// refuse removal for a moment ("is starting", "removal in progress"): each is tried
// again briefly.
func (d *dockerRuntime) Remove(ctx context.Context, app, rev string, grace time.Duration) error {
	if rev == "" {
		return errors.New("no revision to remove") // an empty label would match them all
	}
	cs, err := d.containers(ctx, app, rev)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	var failed []string
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Add(1)
		go func(c engine.Summary) {
			defer wg.Done()
			if grace > 0 {
				d.engine.Stop(ctx, c.ID, int(grace/time.Second))
			}
			for try := 0; ; try++ {
				err := d.engine.Remove(ctx, c.ID)
				if err == nil {
					return
				}
				if try == 20 || ctx.Err() != nil {
					mu.Lock()
					failed = append(failed, fmt.Sprintf("%s (%v)", c.Name, err))
					mu.Unlock()
					return
				}
				time.Sleep(250 * time.Millisecond)
			}
		}(c)
	}
	wg.Wait()
	if len(failed) > 0 {
		sort.Strings(failed)
		return errors.New(strings.Join(failed, ", "))
	}
	return nil
}

// Tidy implements Tidier: an older pyship's secret copies of revisions with no
// container left, and the probe containers of killed commands.
func (d *dockerRuntime) Tidy(ctx context.Context) error {
	return errors.Join(d.removeLegacySecretCopies(ctx), d.removeStaleProbes(ctx))
}

// Route implements Runtime: the gateway's table, written from apps and the replicas
// that run, and installed before Route returns.
func (d *dockerRuntime) Route(ctx context.Context, apps map[string]Traffic) error {
	r := &gateway.Routes{Version: time.Now().UnixNano(), Apps: map[string]gateway.AppRoutes{}}
	for name, t := range apps {
		ar := gateway.AppRoutes{Revisions: map[string][]string{}, Weights: map[string]int{}}
		for rev, w := range t.Weights {
			addrs, err := d.addrs(ctx, name, rev)
			if err != nil {
				return err
			}
			ar.Revisions[rev], ar.Weights[rev] = addrs, w
		}
		if !hasReplica(ar) {
			// Known but serving nothing (a first deploy that failed, replicas gone): the
			// gateway says so with a 503 naming the newest revision, not "no app".
			ar.Idle = &gateway.Idle{Revision: t.Newest, State: t.NewestState}
		}
		r.Apps[name] = ar
	}
	if err := gateway.WriteRoutes(d.routesPath(), r); err != nil {
		return err
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := gateway.Query(ctx, d.admin)
		if err == nil && st.Version >= r.Version {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the gateway did not take the new routes (pyship gateway status; docker logs %s): %v", d.gateway, err)
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

// Routed implements Runtime: what the gateway routes is what serves.
func (d *dockerRuntime) Routed(ctx context.Context, app string) (map[string]int, error) {
	st, err := gateway.Query(ctx, d.admin)
	if err != nil {
		return nil, err
	}
	if st.Routes == nil {
		return nil, nil
	}
	ar, ok := st.Routes.Apps[app]
	if !ok {
		return nil, nil
	}
	return ar.Weights, nil
}

// Drain implements Runtime: the gateway counts in-flight requests by the address it
// dials, the loopback port or the replica's own address.
func (d *dockerRuntime) Drain(ctx context.Context, app string, revs []string, timeout time.Duration) error {
	cs, err := d.containers(ctx, app, "")
	if err != nil {
		return err
	}
	drained := map[string]bool{}
	for _, rev := range revs {
		drained[rev] = true
	}
	addrs := map[string]bool{}
	for _, c := range cs {
		if drained[c.Labels[LabelRevision]] {
			addrs["127.0.0.1:"+c.Labels["pyship.hostport"]] = true
			addrs[addrOf(c)] = true
		}
	}
	deadline := time.Now().Add(timeout)
	for {
		st, err := gateway.Query(ctx, d.admin)
		busy := int64(0)
		if err == nil {
			for a := range addrs {
				busy += st.Inflight[a]
			}
		}
		if busy == 0 || time.Now().After(deadline) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// addrs are the addresses the gateway uses for a revision's running replicas.
func (d *dockerRuntime) addrs(ctx context.Context, app, rev string) ([]string, error) {
	cs, err := d.containers(ctx, app, rev)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range cs {
		if c.State == "running" && c.Labels["pyship.hostport"] != "" {
			out = append(out, addrOf(c))
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
func addrOf(c engine.Summary) string {
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

// Logs implements Runtime.
func (d *dockerRuntime) Logs(ctx context.Context, r Replica, o LogOptions, w io.Writer) error {
	tail := "all"
	if o.Tail > 0 {
		tail = fmt.Sprint(o.Tail)
	}
	return d.engine.StreamLogs(ctx, r.ID, o.Follow, o.Since, tail, w)
}

// freeIP picks an address of subnet that no pyship replica holds (running or not:
// a stopped replica gets its address back when it starts).
func (d *dockerRuntime) freeIP(ctx context.Context, subnet netip.Prefix) (netip.Addr, error) {
	cs, err := d.engine.List(ctx, LabelIP)
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

// Secret implements Runtime: it reads a secret back from the environment the wrapper
// gave a running replica's main process, which is the value the app runs with (a
// replica of an older pyship has its files on the host, maybe gone with the state
// directory).
func (d *dockerRuntime) Secret(ctx context.Context, app, rev, key string) ([]byte, error) {
	cs, err := d.containers(ctx, app, rev)
	if err != nil {
		return nil, err
	}
	err = errors.New("no running replica")
	for _, c := range cs {
		if c.State != "running" {
			continue
		}
		var environ []byte
		if environ, err = d.engine.ReadFile(ctx, c.ID, "/proc/1/environ", 1<<20); err != nil {
			continue
		}
		for _, kv := range bytes.Split(environ, []byte{0}) {
			if v, ok := bytes.CutPrefix(kv, []byte(key+"=")); ok {
				return v, nil
			}
		}
		err = fmt.Errorf("%s is not in the environment of %s", key, c.Name)
	}
	return nil, err
}
