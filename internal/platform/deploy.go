package platform

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pyship/pyship/internal/engine"
	"github.com/pyship/pyship/internal/gateway"
	"github.com/pyship/pyship/internal/store"
)

// DeployError is a revision that never became healthy: it gets no traffic, and what
// served before (if anything did) keeps serving.
type DeployError struct {
	Revision  string
	Diagnosis string
	Logs      string
	// App and Live name the app and the revision that keeps serving, if one does.
	App, Live string
	// NothingServes: no revision of the app serves (its first deploy, or every earlier
	// one failed), so there is no previous revision to fall back on.
	NothingServes bool
}

func (e *DeployError) Error() string {
	s := fmt.Sprintf("revision %s did not become healthy: %s", e.Revision, e.Diagnosis)
	switch {
	case e.NothingServes:
		// Saying "the previous revision keeps serving" here sent users looking for
		// one; the gateway answers 503 for the app until a deploy succeeds.
		s += fmt.Sprintf("; nothing serves %s yet (no revision of it has become healthy): fix it and run the same pyship deploy again", e.App)
	case e.Live != "":
		// As in Container Apps, the change stays the app's desired state; saying so
		// spares a surprise when the next env or secret change fails the same way.
		s += fmt.Sprintf("; the previous revision keeps serving (the app's settings keep this change: fix it and deploy again, or go back to the serving revision's settings with pyship rollback %s %s)", e.App, e.Live)
	default:
		s += "; the revisions that served before keep serving"
	}
	if e.Logs != "" {
		s += "\n--- its logs ---\n" + e.Logs
	}
	return s
}

// Deploy creates the revision the app's current settings describe, starts its
// replicas, waits until every one answers its probe, switches the gateway to it, then
// drains and stops the revision that served before. A revision that does not become
// healthy gets no traffic and is removed, and Deploy returns a *DeployError.
func (p *Platform) Deploy(ctx context.Context, app *store.App) (*store.Revision, bool, error) {
	if err := p.Reconcile(ctx, app); err != nil {
		return nil, false, err
	}
	spec := app.Spec()
	if spec.Replicas < 1 {
		spec.Replicas = 1
	}
	name := app.Name + "--" + spec.Hash()
	if r := app.Revision(name); r != nil && r.State == store.Ready && app.Live == name && len(app.Traffic) == 0 {
		if addrs, _ := p.addrs(ctx, app.Name, name); len(addrs) == spec.Replicas {
			return r, false, nil // nothing changed
		}
	}
	env, err := p.env(app, spec)
	if err != nil {
		return nil, false, err
	}
	rev := store.Revision{Name: name, Spec: spec, State: store.Provisioning, Created: time.Now().UTC()}
	app.Revisions = upsert(app.Revisions, rev)
	if err := p.Store.Put(app); err != nil {
		return nil, false, err
	}
	p.logf("revision %s: starting %d replica(s) of %s", name, spec.Replicas, shortImage(spec.Image))
	// Leftovers of an earlier attempt at the same revision.
	if old, _ := p.replicas(ctx, app.Name, name); len(old) > 0 {
		for _, c := range old {
			p.Engine.Remove(ctx, c.ID)
		}
	}
	started := time.Now()
	ids, err := p.startReplicas(ctx, app, name, spec, env, 0, spec.Replicas)
	if err == nil {
		err = p.waitHealthy(ctx, name, spec, ids)
	}
	if err == nil {
		p.logf("revision %s: healthy %.2fs after its containers were created", name, time.Since(started).Seconds())
	}
	if err != nil {
		for _, id := range ids {
			p.Engine.Remove(context.WithoutCancel(ctx), id)
		}
		r := app.Revision(name)
		r.State, r.Reason = store.Failed, err.Error()
		nothing := app.Live == "" && len(app.Traffic) == 0
		if de, ok := err.(*DeployError); ok {
			r.Reason = de.Diagnosis
			de.App, de.Live, de.NothingServes = app.Name, app.Live, nothing
		}
		p.Store.Put(app)
		if nothing {
			// The gateway learns that the app exists and why it does not serve, so it
			// answers 503 naming the failed revision, not 404 "no app is deployed".
			if perr := p.PublishRoutes(context.WithoutCancel(ctx)); perr != nil {
				p.logf("warning: %v", perr)
			}
		}
		return nil, false, err
	}
	return p.switchTo(ctx, app, name, ids)
}

func upsert(revs []store.Revision, r store.Revision) []store.Revision {
	for i := range revs {
		if revs[i].Name == r.Name {
			revs[i] = r
			return revs
		}
	}
	return append(revs, r)
}

func shortImage(id string) string {
	_, h, ok := strings.Cut(id, ":")
	if ok && len(h) > 12 {
		return h[:12]
	}
	return id
}

// env is the replica environment: settings and PORT. Secrets are not in it — the
// container config (docker inspect) would show them; see secretFiles.
func (p *Platform) env(app *store.App, spec store.Spec) ([]string, error) {
	var env []string
	for _, k := range sortedKeys(spec.Env) {
		env = append(env, k+"="+spec.Env[k])
	}
	env = append(env, "PORT="+strconv.Itoa(spec.Port))
	for _, k := range sortedKeys(spec.Secrets) {
		v, err := p.Store.Secret(app.Name, k)
		if err != nil {
			return nil, err
		}
		if p.Store.Digest(v) != spec.Secrets[k] {
			return nil, fmt.Errorf("secret %s of %s changed outside pyship; set it again with pyship secret set", k, app.Name)
		}
	}
	return env, nil
}

func (p *Platform) startReplicas(ctx context.Context, a *store.App, rev string, spec store.Spec, env []string, from, to int) ([]string, error) {
	app := a.Name
	files, entrypoint, cmd, err := p.secretFiles(ctx, a, spec)
	if err != nil {
		return nil, err
	}
	if cmd == nil {
		cmd = spec.Cmd
	}
	subnet, err := p.Engine.EnsureNetwork(ctx, NetworkName, map[string]string{"pyship.network": "1"})
	if err != nil {
		return nil, err
	}
	var ids []string
	for i := from; i < to; i++ {
		// Another pyship can take the same free port or address between the choice and
		// the start: choose again.
		for try := 0; ; try++ {
			port, err := freePort()
			if err != nil {
				return ids, err
			}
			ip, err := p.freeIP(ctx, subnet)
			if err != nil {
				return ids, err
			}
			id, err := p.Engine.Create(ctx, engine.CreateOptions{
				Name:       fmt.Sprintf("pyship-%s-%d", rev, i),
				Image:      spec.Image,
				Entrypoint: entrypoint,
				Cmd:        cmd,
				Env:        env,
				Files:      files,
				Labels: map[string]string{LabelState: p.StateID(), LabelApp: app, LabelRevision: rev, LabelReplica: strconv.Itoa(i), LabelSpec: short(rev),
					"pyship.hostport": strconv.Itoa(port), "pyship.port": strconv.Itoa(spec.Port), LabelIP: ip.String(), LabelSpecJSON: specLabel(spec)},
				Port:        spec.Port,
				HostPort:    port,
				Network:     NetworkName,
				IP:          ip,
				Restart:     "unless-stopped",
				StopTimeout: p.grace(),
			})
			if err != nil && try < 5 && strings.Contains(err.Error(), "already") {
				continue
			}
			if err != nil {
				return ids, err
			}
			ids = append(ids, id)
			break
		}
	}
	return ids, nil
}

func (p *Platform) grace() int {
	if p.StopGrace > 0 {
		return p.StopGrace
	}
	return 30
}

var hints = []struct {
	re   *regexp.Regexp
	hint string
}{
	{regexp.MustCompile(`ModuleNotFoundError: No module named '([^']+)'`), "the image has no module $1: add its distribution to the project's dependencies (or fix the import)"},
	{regexp.MustCompile(`SyntaxError`), "the app's code has a syntax error (see the logs)"},
	{regexp.MustCompile(`(?:KeyError|ImproperlyConfigured|environ)\S*:? '?([A-Z][A-Z0-9_]+)'?`), "the app reads $1, which is not set: pyship env set (or pyship secret set) $1"},
	{regexp.MustCompile(`Address already in use`), "the port is already in use inside the container"},
	{regexp.MustCompile(`(?i)exec: "?([^"\s:]+)"?: executable file not found`), "the command $1 is not in the image: is the server in the dependencies?"},
	{regexp.MustCompile(`Failed to find attribute '([^']+)' in '([^']+)'`), "the entry point names $2:$1, which does not exist"},
}

// CrashDiagnosis explains a replica that exited or restarts, from its state and logs.
func CrashDiagnosis(st engine.State, logs string) string {
	what := fmt.Sprintf("it exited with code %d", st.ExitCode)
	if st.OOMKilled {
		what = "it was killed for using too much memory"
	}
	if st.RestartCount > 0 && st.Running {
		what = fmt.Sprintf("it crashed and restarted %d time(s)", st.RestartCount)
	}
	for _, h := range hints {
		if m := h.re.FindStringSubmatchIndex(logs); m != nil {
			return what + ": " + string(h.re.ExpandString(nil, h.hint, logs, m))
		}
	}
	return what
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// switchTo moves traffic to rev, then drains and removes every other revision's
// replicas.
func (p *Platform) switchTo(ctx context.Context, app *store.App, rev string, _ []string) (*store.Revision, bool, error) {
	r := app.Revision(rev)
	r.State, r.Reason = store.Ready, ""
	previous := app.Live
	app.Live, app.Traffic = rev, nil
	if err := p.Store.Put(app); err != nil {
		return nil, false, err
	}
	if err := p.PublishRoutes(ctx); err != nil {
		return nil, false, err
	}
	p.logf("traffic: 100%% to %s%s", rev, func() string {
		if previous != "" && previous != rev {
			return " (was " + previous + ")"
		}
		return ""
	}())
	return r, true, p.retireOthers(ctx, app, map[string]bool{rev: true})
}

// retireOthers drains the replicas of revisions not in keep — waits until the gateway
// has no request in flight to them — then stops them with the grace period.
func (p *Platform) retireOthers(ctx context.Context, app *store.App, keep map[string]bool) error {
	cs, err := p.replicas(ctx, app.Name, "")
	if err != nil {
		return err
	}
	var old []engine.Summary
	for _, c := range cs {
		if !keep[c.Labels[LabelRevision]] {
			old = append(old, c)
		}
	}
	if len(old) == 0 {
		return nil
	}
	// The gateway counts in-flight requests by the address it dials: the loopback port
	// or the replica's own address.
	oldAddrs := map[string]bool{}
	for _, c := range old {
		oldAddrs["127.0.0.1:"+c.Labels["pyship.hostport"]] = true
		oldAddrs[p.addrOf(c)] = true
	}
	drain := p.DrainTimeout
	if drain == 0 {
		drain = 30 * time.Second
	}
	deadline := time.Now().Add(drain)
	for {
		st, err := gateway.Query(ctx, p.Admin)
		busy := int64(0)
		if err == nil {
			for a := range oldAddrs {
				busy += st.Inflight[a]
			}
		}
		if busy == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	var wg sync.WaitGroup
	for _, c := range old {
		wg.Add(1)
		go func(c engine.Summary) {
			defer wg.Done()
			p.Engine.Stop(ctx, c.ID, p.grace())
			p.Engine.Remove(ctx, c.ID)
		}(c)
	}
	wg.Wait()
	// The secrets of the replicas just removed went with them. An older pyship's copies
	// on the host go now, once no container of their revision is left.
	if err := p.removeLegacySecretCopies(ctx); err != nil {
		p.logf("warning: %v (the next command of %s tries again)", err, app.Name)
	}
	changed := false
	for i := range app.Revisions {
		r := &app.Revisions[i]
		if !keep[r.Name] && r.State == store.Ready {
			r.State, changed = store.Retired, true
		}
	}
	if changed {
		return p.Store.Put(app)
	}
	return nil
}

// Rollback deploys an earlier revision's spec again (same image, env, secrets…).
func (p *Platform) Rollback(ctx context.Context, app *store.App, to string) (*store.Revision, error) {
	var target *store.Revision
	if to != "" {
		target = app.Revision(to)
		if target == nil {
			return nil, fmt.Errorf("app %s has no revision %s (pyship revisions %s)", app.Name, to, app.Name)
		}
	} else {
		// The newest revision before the live one that once served.
		for i := len(app.Revisions) - 1; i >= 0; i-- {
			r := app.Revisions[i]
			if r.Name != app.Live && (r.State == store.Retired || r.State == store.Ready) {
				target = &app.Revisions[i]
				break
			}
		}
		if target == nil {
			return nil, fmt.Errorf("app %s has no earlier revision to roll back to", app.Name)
		}
	}
	s := target.Spec
	for k, d := range s.Secrets {
		v, err := p.Store.Secret(app.Name, k)
		if err != nil || p.Store.Digest(v) != d {
			return nil, fmt.Errorf("revision %s used another value of secret %s, which pyship does not keep; set it again, then deploy", target.Name, k)
		}
	}
	app.Image, app.ImageRef, app.Cmd, app.Port, app.Probe, app.Replicas = s.Image, s.ImageRef, s.Cmd, s.Port, s.Probe, s.Replicas
	app.SecretFiles = s.SecretFiles
	app.Env, app.Secrets = map[string]string{}, map[string]string{}
	for k, v := range s.Env {
		app.Env[k] = v
	}
	for k, v := range s.Secrets {
		app.Secrets[k] = v
	}
	// The chosen revision's spec becomes the app's settings even when it already
	// serves (Deploy then changes nothing and stores nothing): after a failed deploy,
	// `rollback APP LIVE` is how the failed change is dropped, and the next env set
	// must not build it again.
	if err := p.Store.Put(app); err != nil {
		return nil, err
	}
	r, _, err := p.Deploy(ctx, app)
	return r, err
}

// Down stops and removes every replica of the app — its secrets go with them — and
// forgets it (and its secrets). A replica the engine would not remove keeps its
// secrets (it could start again): Down says so, and running it again finishes the job.
func (p *Platform) Down(ctx context.Context, app string) error {
	cs, err := p.replicas(ctx, app, "")
	if err != nil {
		return err
	}
	if err := p.Store.Delete(app); err != nil {
		return err
	}
	if err := p.PublishRoutes(ctx); err != nil {
		p.logf("warning: %v", err)
	}
	var failed []string
	for _, c := range cs {
		p.Engine.Stop(ctx, c.ID, p.grace())
		if err := p.Engine.Remove(ctx, c.ID); err != nil {
			failed = append(failed, fmt.Sprintf("%s (%v)", c.Name, err))
		}
	}
	if err := p.removeLegacySecretCopies(ctx); err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("%s is forgotten, but the engine did not remove %s; their secrets stay until they are gone: run pyship down %s again", app, strings.Join(failed, ", "), app)
	}
	return nil
}

// SetTraffic splits traffic between revisions (multiple-revision mode; weights sum to
// 100). Revisions that are not running are started and health-gated first; revisions
// left out are drained and stopped.
func (p *Platform) SetTraffic(ctx context.Context, app *store.App, weights map[string]int) error {
	total := 0
	resolved := map[string]int{}
	for name, w := range weights {
		r := app.Revision(name)
		if r == nil {
			return fmt.Errorf("app %s has no revision %s", app.Name, name)
		}
		if w < 0 || w > 100 {
			return fmt.Errorf("weight %d for %s: use 0-100", w, name)
		}
		if r.State == store.Failed {
			return fmt.Errorf("revision %s never became healthy; it cannot take traffic", r.Name)
		}
		resolved[r.Name] = w
		total += w
	}
	if total != 100 {
		return fmt.Errorf("weights add up to %d, not 100", total)
	}
	for name := range resolved {
		r := app.Revision(name)
		if addrs, _ := p.addrs(ctx, app.Name, name); len(addrs) > 0 && r.State == store.Ready {
			continue
		}
		env, err := p.env(app, r.Spec)
		if err != nil {
			return err
		}
		ids, err := p.startReplicas(ctx, app, name, r.Spec, env, 0, max(1, r.Spec.Replicas))
		if err == nil {
			err = p.waitHealthy(ctx, name, r.Spec, ids)
		}
		if err != nil {
			for _, id := range ids {
				p.Engine.Remove(context.WithoutCancel(ctx), id)
			}
			return err
		}
		r.State = store.Ready
	}
	best, bw := "", -1
	for name, w := range resolved {
		if w > bw || (w == bw && name > best) {
			best, bw = name, w
		}
	}
	app.Live, app.Traffic = best, resolved
	if err := p.Store.Put(app); err != nil {
		return err
	}
	if err := p.PublishRoutes(ctx); err != nil {
		return err
	}
	keep := map[string]bool{}
	for name := range resolved {
		keep[name] = true
	}
	return p.retireOthers(ctx, app, keep)
}
