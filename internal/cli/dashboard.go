package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/pyship/pyship/internal/dashboard"
	"github.com/pyship/pyship/internal/gateway"
	"github.com/pyship/pyship/internal/platform"
	"github.com/pyship/pyship/internal/store"
)

type dashboardFlags struct {
	pf   platformFlags
	port int
	open bool
}

func newDashboard(g *globals) *cobra.Command {
	f := &dashboardFlags{}
	cmd := &cobra.Command{
		Use:   "dashboard",
		Short: "Serve a local page that shows and steers every app: revisions, traffic, replicas, live logs",
		Long: `dashboard serves a web page on 127.0.0.1 for the apps of the state directory: each
app's URL, target, live revision, replicas, and requests per second and error rate over
the last minute (the gateway's counts); its revisions as a timeline (what each changed:
the code, settings, secret names, the scale; never a secret value), its traffic split,
each replica's state, CPU and memory, and its live logs. Rollback, scale, traffic and
restarting a replica are buttons that ask for confirmation and then run the same code as
the commands (the same lock and health gate).

The page is for you alone: it listens on loopback only, answers only to its own address
(127.0.0.1:PORT or localhost:PORT), and needs this run's token, which the printed URL
carries once (the browser then keeps it in a SameSite=Strict cookie); a request that
changes something must also come from the page itself (its Origin). Stop it with Ctrl-C.`,
		Example: `  pyship dashboard
  pyship dashboard --port 7080 --open
  pyship dashboard --json     # {"url": "http://127.0.0.1:7080/?token=..."} then serves`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDashboard(cmd.Context(), g, f, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f.pf.bind(cmd)
	cmd.Flags().IntVar(&f.port, "port", 7080, "the loopback `PORT` to serve on (0: any free one)")
	cmd.Flags().BoolVar(&f.open, "open", false, "open the page in the default browser (xdg-open)")
	return cmd
}

func runDashboard(ctx context.Context, g *globals, f *dashboardFlags, stdout, stderr io.Writer) error {
	if f.port < 0 || f.port > 65535 {
		return usagef("--port %d is not a TCP port", f.port)
	}
	token, err := dashboard.NewToken()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(f.port)))
	if err != nil {
		return fmt.Errorf("cannot serve the dashboard on 127.0.0.1:%d: %w (give another --port)", f.port, err)
	}
	addr := ln.Addr().String()
	s := &dashboard.Server{Src: &dashboardSource{g: g, pf: f.pf}, Token: token, Addr: addr}
	// Requests live in the command's context: Ctrl-C ends the open log streams too.
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	url := "http://" + addr + "/?token=" + token
	if g.json {
		if err := writeJSON(stdout, map[string]string{"url": url}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "pyship dashboard: %s\n(this URL signs your browser in; Ctrl-C stops the dashboard)\n", url)
	}
	if f.open {
		if err := openBrowser(ctx, url); err != nil {
			fmt.Fprintf(stderr, "pyship: cannot open a browser (%v): open the URL above\n", err)
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	return nil
}

// openBrowser opens url in the user's browser without putting it on a command line
// (another user could read the token there in /proc): xdg-open gets a 0600 file, in a
// 0700 directory, that forwards to it, removed once the browser has had time to read it.
func openBrowser(ctx context.Context, url string) error {
	dir, err := os.MkdirTemp("", "pyship-dashboard-")
	if err != nil {
		return err
	}
	page := filepath.Join(dir, "open.html")
	html := `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=` + template.HTMLEscapeString(url) + `"><title>pyship dashboard</title>`
	if err := os.WriteFile(page, []byte(html), 0o600); err != nil {
		os.RemoveAll(dir)
		return err
	}
	cmd := exec.Command("xdg-open", page)
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return err
	}
	go func() {
		cmd.Wait()
		select {
		case <-ctx.Done():
		case <-time.After(30 * time.Second):
		}
		os.RemoveAll(dir)
	}()
	return nil
}

// dashboardSource is the page's dashboard.Source: each call opens the state as a
// command does and acts through the commands' own code (settleApp, the platform's
// Rollback, SetTraffic and Deploy).
type dashboardSource struct {
	g  *globals
	pf platformFlags
}

func (d *dashboardSource) open() (*platform.Platform, func(), error) {
	pf := d.pf
	pf.wait = true
	return pf.openStore(io.Discard)
}

// record opens the state as a command does and reads the app's record:
// dashboard.ErrNoApp when the state directory has none. done closes the state.
func (d *dashboardSource) record(name string) (p *platform.Platform, done func(), rec *store.App, err error) {
	if p, done, err = d.open(); err != nil {
		return nil, nil, nil, err
	}
	rec, err = p.Store.Get(name)
	if errors.Is(err, store.ErrNoApp) {
		err = fmt.Errorf("%w: %s", dashboard.ErrNoApp, name)
	}
	if err != nil {
		done()
		return nil, nil, nil, err
	}
	return p, done, rec, nil
}

func (d *dashboardSource) Apps(ctx context.Context) ([]dashboard.App, error) {
	p, done, err := d.open()
	if err != nil {
		return nil, err
	}
	defer done()
	apps, err := p.Store.List()
	if err != nil {
		return nil, err
	}
	// One listing of the engine's replicas for every local app.
	var local []platform.Replica
	if connectEngine(ctx, p) == nil {
		local, _ = p.List(ctx, "")
	}
	// The gateway's counts of the last minute, if it answers at once.
	var counted map[string]gateway.AppTraffic
	qctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	if st, err := gateway.Query(qctx, p.Admin); err == nil {
		counted = map[string]gateway.AppTraffic{} // it answered: no entry is no request
		for k, v := range st.Traffic {
			counted[k] = v
		}
	}
	cancel()
	out := []dashboard.App{}
	for _, a := range apps {
		v := appView(p, a, false)
		if a.Target.Kind == store.Local && counted != nil {
			c := counted[a.Name]
			v.PerSecond, v.ErrorRate, v.Measured = c.PerSecond, c.ErrorRate, true
		}
		switch {
		case a.Target.Kind == store.Local:
			v.Ready = servingOf(local, a.Name, a.Live)
		case a.Target.Kind == store.Kubernetes:
			if q, qdone, err := d.open(); err == nil {
				if attachTarget(q, a.Target) == nil {
					reps, _ := q.List(ctx, a.Name)
					v.Ready = servingOf(reps, a.Name, a.Live)
				}
				qdone()
			}
		default:
			v.Ready = v.Desired // Azure's own count is in the portal; pyship status NAME asks it
		}
		out = append(out, v)
	}
	return out, nil
}

func servingOf(reps []platform.Replica, app, live string) int {
	n := 0
	for _, r := range reps {
		if r.App == app && r.Serving && (live == "" || r.Revision == live) {
			n++
		}
	}
	return n
}

// appView is the page's view of an app: settings and revisions, never a secret's
// value (the view has no field for one; revisions say which secret names changed).
func appView(p *platform.Platform, a *store.App, full bool) dashboard.App {
	v := dashboard.App{Name: a.Name, URL: p.URLFor(a.Name, a.Target), Target: a.Target.String(), Live: a.Live, Desired: a.Replicas,
		Traffic: map[string]int{}, Actions: !store.IsAzure(a.Target.Kind)}
	maps.Copy(v.Traffic, a.Weights())
	if newest := a.Newest(); newest != nil {
		v.Deployed, v.Result = newest.Created, newest.State
	}
	if !full {
		return v
	}
	var prev *store.Spec
	revs := make([]dashboard.Revision, 0, len(a.Revisions))
	for i := range a.Revisions {
		r := a.Revisions[i]
		revs = append(revs, dashboard.Revision{Name: r.Name, State: r.State, Image: shortID(r.Spec.Image), Created: r.Created,
			Replicas: r.Spec.Replicas, Traffic: v.Traffic[r.Name], Changes: dashboard.Changes(prev, r.Spec), Reason: r.Reason})
		prev = &a.Revisions[i].Spec
	}
	// Newest first, by when each last started (a rollback starts an old revision
	// again); what each changed stays relative to the one made before it.
	sort.SliceStable(revs, func(i, j int) bool { return revs[i].Created.After(revs[j].Created) })
	v.Revisions = revs
	return v
}

func (d *dashboardSource) App(ctx context.Context, name string) (*dashboard.App, error) {
	p, done, rec, err := d.record(name)
	if err != nil {
		return nil, err
	}
	defer done()
	if store.IsAzure(rec.Target.Kind) {
		v := appView(p, rec, true)
		v.Ready = v.Desired
		return &v, nil
	}
	// As pyship status does: the lock if free, a reconcile, the runtime's replicas.
	app, release, err := settleApp(ctx, p, name, false, false)
	if err != nil {
		return nil, err
	}
	release()
	v := appView(p, app, true)
	reps, err := p.List(ctx, name)
	if err != nil {
		return nil, err
	}
	for _, r := range reps {
		v.Replicas = append(v.Replicas, dashboard.Replica{Name: r.Name, Revision: r.Revision, State: r.State, Ready: r.Serving, Restarts: r.Restarts, Created: r.Created})
	}
	v.Ready = servingOf(reps, name, app.Live)
	return &v, nil
}

func (d *dashboardSource) Logs(ctx context.Context, name string, tail int, emit func(dashboard.LogLine) error) error {
	p, done, rec, err := d.record(name)
	if err != nil {
		return err
	}
	defer done()
	if store.IsAzure(rec.Target.Kind) {
		return fmt.Errorf("%s runs on Azure: pyship logs %s -f streams it", name, name)
	}
	app, release, err := settleApp(ctx, p, name, false, false)
	if err != nil {
		return err
	}
	release()
	// platform.Logs writes JSON Lines; each complete line becomes one event.
	w := &lineWriter{emit: func(b []byte) error {
		var l dashboard.LogLine
		if err := json.Unmarshal(b, &l); err != nil {
			return nil
		}
		return emit(l)
	}}
	o := platform.LogOptions{Follow: true, Tail: tail, JSON: true}
	if tail == 0 {
		// Only what comes from now on (the page has the rest): Tail 0 is "all" to the
		// platform.
		o.Since = time.Now().UTC().Format(time.RFC3339Nano)
	}
	err = p.Logs(ctx, app, o, w)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// lineWriter hands each complete line written to it to emit.
type lineWriter struct {
	buf  []byte
	emit func([]byte) error
}

func (w *lineWriter) Write(b []byte) (int, error) {
	w.buf = append(w.buf, b...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		line := w.buf[:i]
		w.buf = w.buf[i+1:]
		if err := w.emit(line); err != nil {
			return len(b), err
		}
	}
	if len(w.buf) > 1<<20 {
		w.buf = w.buf[:0] // a line longer than 1 MiB is dropped, not kept growing
	}
	return len(b), nil
}

// act runs fn on the app as a command that changes it does: its lock (waiting for a
// deploy under way), a reconcile, its target.
func (d *dashboardSource) act(ctx context.Context, name string, fn func(p *platform.Platform, app *store.App) error) error {
	p, done, rec, err := d.record(name)
	if err != nil {
		return err
	}
	defer done()
	if store.IsAzure(rec.Target.Kind) {
		return notOnAzure("the dashboard", rec)
	}
	app, release, err := settleApp(ctx, p, name, true, true)
	if err != nil {
		return err
	}
	defer release()
	return fn(p, app)
}

func (d *dashboardSource) Rollback(ctx context.Context, name, revision string) error {
	return d.act(ctx, name, func(p *platform.Platform, app *store.App) error {
		if err := p.EnsureGateway(ctx); err != nil {
			return err
		}
		_, err := p.Rollback(ctx, app, revision)
		return err
	})
}

func (d *dashboardSource) Scale(ctx context.Context, name string, replicas int) error {
	if err := store.ValidReplicas(replicas); err != nil {
		return err
	}
	return d.act(ctx, name, func(p *platform.Platform, app *store.App) error {
		app.Replicas = replicas
		if err := (&autoscaleFlags{}).apply(app, func(string) bool { return false }); err != nil {
			return err
		}
		return deployAndReport(ctx, &globals{}, p, app, io.Discard)
	})
}

func (d *dashboardSource) SetTraffic(ctx context.Context, name string, weights map[string]int) error {
	return d.act(ctx, name, func(p *platform.Platform, app *store.App) error {
		if err := p.EnsureGateway(ctx); err != nil {
			return err
		}
		return p.SetTraffic(ctx, app, weights)
	})
}

// Stats samples the CPU and memory of the app's replicas on the local engine, all at
// once (each sample takes the engine about a second). A cluster's or Azure's replicas
// have none here: their metrics are the cluster's and the portal's.
func (d *dashboardSource) Stats(ctx context.Context, name string) (map[string]dashboard.ReplicaStats, error) {
	p, done, rec, err := d.record(name)
	if err != nil {
		return nil, err
	}
	defer done()
	out := map[string]dashboard.ReplicaStats{}
	if rec.Target.Kind != store.Local {
		return out, nil
	}
	if err := connectEngine(ctx, p); err != nil {
		return nil, err
	}
	reps, err := p.Replicas(ctx, name)
	if err != nil {
		return nil, err
	}
	type sample struct {
		name string
		s    dashboard.ReplicaStats
		ok   bool
	}
	ch := make(chan sample, len(reps))
	for _, r := range reps {
		go func() {
			st, err := p.Engine.Stats(ctx, r.ID)
			ch <- sample{r.Name, dashboard.ReplicaStats{CPUPercent: st.CPUPercent, MemoryBytes: st.MemoryBytes, MemoryLimit: st.MemoryLimit}, err == nil}
		}()
	}
	for range reps {
		if s := <-ch; s.ok {
			out[s.name] = s.s
		}
	}
	return out, nil
}

// Restart restarts one of the app's replicas on the local engine, under the app's
// lock (a deploy does not run meanwhile). The gateway retries a refused connection on
// another replica, so with more than one the app keeps answering.
func (d *dashboardSource) Restart(ctx context.Context, name, replica string) error {
	return d.act(ctx, name, func(p *platform.Platform, app *store.App) error {
		if app.Target.Kind != store.Local {
			return usagef("%s runs on %s: restart its pods there (kubectl rollout restart), or deploy again", name, app.Target)
		}
		reps, err := p.Replicas(ctx, name)
		if err != nil {
			return err
		}
		for _, r := range reps {
			if r.Name == replica {
				return p.Engine.Restart(ctx, r.ID)
			}
		}
		return fmt.Errorf("%s has no replica %s (pyship status %s lists them)", name, replica, name)
	})
}
