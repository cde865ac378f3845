package platform

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

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
	name, spec := RevisionOf(app)
	if r := app.Revision(name); r != nil && r.State == store.Ready && app.Live == name && len(app.Traffic) == 0 {
		// An autoscaled revision may run more than its minimum.
		if reps, _ := p.rt().List(ctx, app.Name); servingReplicas(reps, name) == spec.Replicas || spec.MaxReplicas > 0 && servingReplicas(reps, name) >= spec.Replicas {
			return r, false, nil // nothing changed
		}
	}
	rel, err := p.release(app, name, spec)
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
	if reps, _ := p.rt().List(ctx, app.Name); slices.ContainsFunc(reps, func(r Replica) bool { return r.Revision == name }) {
		p.rt().Remove(ctx, app.Name, name, 0)
	}
	started := time.Now()
	err = p.rt().Start(ctx, rel)
	if err == nil {
		err = p.waitHealthy(ctx, rel)
	}
	if err == nil {
		p.logf("revision %s: healthy %.2fs after its containers were created", name, time.Since(started).Seconds())
	}
	if err != nil {
		p.rt().Remove(context.WithoutCancel(ctx), app.Name, name, 0)
		r := app.Revision(name)
		r.State, r.Reason = store.Failed, err.Error()
		nothing := app.Live == "" && len(app.Traffic) == 0
		var de *DeployError
		if errors.As(err, &de) {
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
	return p.switchTo(ctx, app, name)
}

// RevisionOf is the revision the app's current settings describe: its name (APP--HASH
// of the spec) and spec. pyship render names the objects it writes with it, so that
// they are the ones a deploy of the same settings applies.
func RevisionOf(app *store.App) (string, store.Spec) {
	spec := app.Spec()
	if spec.Replicas < 1 {
		spec.Replicas = 1
	}
	return app.Name + "--" + spec.Hash(), spec
}

// ReleaseEnv is the environment a revision's replicas get: its settings, sorted, and
// PORT. Secrets are never in it.
func ReleaseEnv(spec store.Spec) []string {
	var env []string
	for _, k := range sortedKeys(spec.Env) {
		env = append(env, k+"="+spec.Env[k])
	}
	return append(env, "PORT="+strconv.Itoa(spec.Port))
}

// servingReplicas counts the replicas of rev that can take requests.
func servingReplicas(reps []Replica, rev string) int {
	n := 0
	for _, r := range reps {
		if r.Revision == rev && r.Serving {
			n++
		}
	}
	return n
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

// release is what the runtime needs to run revision name of app: its spec, the
// environment (settings and PORT) and the secret values. Secrets are not in the
// environment — the container config (docker inspect) would show them; the runtime
// delivers them out of sight (secretfiles.go).
func (p *Platform) release(app *store.App, name string, spec store.Spec) (Release, error) {
	env := ReleaseEnv(spec)
	secrets := map[string][]byte{}
	for _, k := range sortedKeys(spec.Secrets) {
		v, err := p.Store.Secret(app.Name, k)
		if err != nil {
			return Release{}, err
		}
		if p.Store.Digest(v) != spec.Secrets[k] {
			if d, ok := app.Secrets[k]; ok && d != spec.Secrets[k] {
				// An earlier revision (a traffic split with one that is not running).
				return Release{}, fmt.Errorf("revision %s ran with an earlier value of secret %s, which pyship does not keep: it cannot run again (give traffic to a revision with the current value, or deploy)", name, k)
			}
			return Release{}, fmt.Errorf("secret %s of %s changed outside pyship; set it again with pyship secret set", k, app.Name)
		}
		secrets[k] = v
	}
	return Release{App: app.Name, Revision: name, Spec: spec, Env: env, Secrets: secrets}, nil
}

func (p *Platform) grace() int {
	if p.StopGrace > 0 {
		return p.StopGrace
	}
	return 30
}

// switchTo moves traffic to rev, then drains and removes every other revision's
// replicas.
func (p *Platform) switchTo(ctx context.Context, app *store.App, rev string) (*store.Revision, bool, error) {
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

// retireOthers drains the replicas of revisions not in keep — waits until no request
// is in flight to them, DrainTimeout at most — then stops them with the grace period.
func (p *Platform) retireOthers(ctx context.Context, app *store.App, keep map[string]bool) error {
	reps, err := p.rt().List(ctx, app.Name)
	if err != nil {
		return err
	}
	var old []string
	for _, r := range reps {
		if !keep[r.Revision] && !slices.Contains(old, r.Revision) {
			old = append(old, r.Revision)
		}
	}
	if len(old) == 0 {
		return nil
	}
	drain := p.DrainTimeout
	if drain == 0 {
		drain = 30 * time.Second
	}
	if err := p.rt().Drain(ctx, app.Name, old, drain); err != nil {
		p.logf("warning: draining %s: %v", strings.Join(old, ", "), err)
	}
	var wg sync.WaitGroup
	for _, rev := range old {
		wg.Add(1)
		go func(rev string) {
			defer wg.Done()
			if err := p.rt().Remove(ctx, app.Name, rev, time.Duration(p.grace())*time.Second); err != nil {
				p.logf("warning: removing %s: %v", rev, err)
			}
		}(rev)
	}
	wg.Wait()
	// The secrets of the replicas just removed went with them; what the runtime kept
	// beside them goes now, once no replica of their revision is left.
	if err := p.tidy(ctx); err != nil {
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
	app.MaxReplicas, app.CPUPercent = s.MaxReplicas, s.CPUPercent
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
// forgets it (and its secrets). A replica the runtime would not remove keeps its
// secrets (it could start again): Down says so, and running it again finishes the job.
func (p *Platform) Down(ctx context.Context, app string) error {
	reps, err := p.rt().List(ctx, app)
	if err != nil {
		return err
	}
	if err := p.Store.Delete(app); err != nil {
		return err
	}
	if err := p.PublishRoutes(ctx); err != nil {
		p.logf("warning: %v", err)
	}
	var failed, revs []string
	for _, r := range reps {
		if !slices.Contains(revs, r.Revision) {
			revs = append(revs, r.Revision)
		}
	}
	for _, rev := range revs {
		if err := p.rt().Remove(ctx, app, rev, time.Duration(p.grace())*time.Second); err != nil {
			failed = append(failed, err.Error())
		}
	}
	if err := p.tidy(ctx); err != nil {
		return err
	}
	if pg, ok := p.rt().(Purger); ok && len(failed) == 0 {
		if err := pg.Purge(ctx, app); err != nil {
			failed = append(failed, err.Error())
		}
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
	reps, err := p.rt().List(ctx, app.Name)
	if err != nil {
		return err
	}
	for _, name := range sortedKeys(resolved) {
		r := app.Revision(name)
		if servingReplicas(reps, name) > 0 && r.State == store.Ready {
			continue
		}
		spec := r.Spec
		spec.Replicas = max(1, spec.Replicas)
		rel, err := p.release(app, name, spec)
		if err != nil {
			return err
		}
		err = p.rt().Start(ctx, rel)
		if err == nil {
			err = p.waitHealthy(ctx, rel)
		}
		if err != nil {
			p.rt().Remove(context.WithoutCancel(ctx), app.Name, name, 0)
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

// Preview is the revision Deploy would run for the app's settings now, and whether it
// differs from what serves, without starting, routing or storing anything (deploy
// --dry-run).
func (p *Platform) Preview(app *store.App) (Release, bool, error) {
	name, spec := RevisionOf(app)
	rel, err := p.release(app, name, spec)
	return rel, app.Live != name || len(app.Traffic) > 0, err
}
