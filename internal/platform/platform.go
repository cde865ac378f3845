// Package platform runs apps on the local Docker engine the way Azure Container Apps
// runs them in the cloud: immutable revisions (image, command, env, secret references
// with their value digests, port, probe, replicas), health-gated switches behind
// pyship's gateway with no failed request, rollbacks, env and secret changes as new
// revisions, and merged logs. State lives in package store; what the runtime reports
// (on the local engine, the containers' labels) is the ground truth when they disagree.
//
// The revision state machine (Deploy, Rollback, SetTraffic, Reconcile, Down, App) is
// written against Runtime, where replicas run; dockerRuntime is the local engine's.
package platform

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/pyship/pyship/internal/engine"
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

// Platform is the revision state machine over a store and a Runtime: by default the
// local engine and its gateway.
type Platform struct {
	Store *store.Store
	// Runtime is where replicas run; nil for the local engine, Engine.
	Runtime Runtime
	// Target is where Runtime runs replicas: the apps recorded with another target are
	// not this runtime's to route (the local gateway's table holds local apps only).
	Target store.Target
	Engine *engine.Client
	Listen string // gateway, "127.0.0.1:8080"
	Admin  string // gateway admin, "127.0.0.1:8081"
	Log    func(format string, args ...any)
	// Timeouts.
	StartTimeout time.Duration // for a replica to answer its probe (default 90 s)
	DrainTimeout time.Duration // for in-flight requests to finish (default 30 s)
	StopGrace    int           // seconds between SIGTERM and SIGKILL (default 30)

	progressEvery time.Duration // ProgressEvery when zero; tests shorten it
}

func (p *Platform) logf(format string, args ...any) {
	if p.Log != nil {
		p.Log(format, args...)
	}
}

func goarch() string { return runtime.GOARCH }

func (p *Platform) routesPath() string { return p.docker().routesPath() }

// URL is the app's address: at the gateway for the local engine, the Service's name
// inside the cluster for Kubernetes.
func (p *Platform) URL(app string) string { return p.URLFor(app, p.Target) }

// URLFor is the address of an app that runs on target t.
func (p *Platform) URLFor(app string, t store.Target) string {
	if t.Kind == store.Kubernetes {
		return fmt.Sprintf("http://%s.%s.svc/", app, t.Namespace)
	}
	if store.IsAzure(t.Kind) {
		return t.URL
	}
	_, port, _ := net.SplitHostPort(p.Listen)
	return fmt.Sprintf("http://%s.localhost:%s/", app, port)
}

// List lists an app's replicas where it runs.
func (p *Platform) List(ctx context.Context, app string) ([]Replica, error) {
	return p.rt().List(ctx, app)
}

// StateID is the first 8 hex digits of the sha256 of the state directory's path.
func (p *Platform) StateID() string {
	sum := sha256.Sum256([]byte(p.Store.Dir))
	return hex.EncodeToString(sum[:])[:8]
}

// Replicas lists an app's containers of this state directory on the local engine.
func (p *Platform) Replicas(ctx context.Context, app string) ([]engine.Summary, error) {
	return p.docker().containers(ctx, app, "")
}

// PublishRoutes has the runtime route every app as the store says — the revisions
// that take traffic, if they are ready — and waits until the routes are in place.
func (p *Platform) PublishRoutes(ctx context.Context) error {
	apps, err := p.Store.List()
	if err != nil {
		return err
	}
	routes := map[string]Traffic{}
	for _, a := range apps {
		if !a.Target.SamePlace(p.Target) {
			continue
		}
		t := Traffic{Weights: map[string]int{}, Host: a.Host}
		for rev, w := range a.Weights() {
			if rv := a.Revision(rev); rv != nil && rv.State == store.Ready {
				t.Weights[rv.Name] = w
			}
		}
		if newest := a.Newest(); newest != nil {
			t.Newest, t.NewestState = newest.Name, newest.State
		}
		routes[a.Name] = t
	}
	return p.rt().Route(ctx, routes)
}

// Reconcile brings the runtime in line with the store after an interrupted command
// (kill -9 mid-deploy): replicas of revisions that never became ready are removed, and
// replicas of revisions that no longer take traffic are stopped and removed. The
// revision serving traffic is never touched.
func (p *Platform) Reconcile(ctx context.Context, app *store.App) error {
	reps, err := p.rt().List(ctx, app.Name)
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
	var remove []string
	for _, c := range reps {
		rev := c.Revision
		if serving[rev] {
			continue
		}
		p.logf("removing %s (revision %s takes no traffic)", c.Name, rev)
		if !slices.Contains(remove, rev) {
			remove = append(remove, rev)
		}
	}
	for _, rev := range remove {
		if err := p.rt().Remove(ctx, app.Name, rev, 0); err != nil {
			p.logf("removing %s: %v", rev, err)
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
	if err := p.tidy(ctx); err != nil {
		p.logf("warning: %v (the next command of %s tries again)", err, app.Name)
	}
	return nil
}

func short(rev string) string {
	if i := strings.LastIndex(rev, "--"); i >= 0 {
		return rev[i+2:]
	}
	return rev
}
