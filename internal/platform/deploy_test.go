package platform

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pyship/pyship/internal/store"
)

// A healthy deploy starts the new revision, gates on its health, switches traffic to
// it, and only then drains and removes the revision that served before.
func TestDeploy_HealthySwitch(t *testing.T) {
	p, f := newPlatform(t)
	a := newApp(t, p, "sha256:v1")
	v1 := deploy(t, p, a, "sha256:v1")
	if diff := cmp.Diff([]string{"start " + v1 + " ×1", "ready " + v1, "route web:" + v1 + "=100"}, f.events()); diff != "" {
		t.Errorf("first deploy (-want +got):\n%s", diff)
	}
	f.reset()
	v2 := deploy(t, p, a, "sha256:v2")
	want := []string{
		"start " + v2 + " ×1", "ready " + v2,
		"route web:" + v2 + "=100",
		"drain " + v1,
		"remove " + v1 + " grace=30s",
	}
	if diff := cmp.Diff(want, f.events()); diff != "" {
		t.Errorf("second deploy (-want +got):\n%s", diff)
	}
	got := stored(t, p, "web")
	if got.Live != v2 || got.Revision(v2).State != store.Ready || got.Revision(v1).State != store.Retired {
		t.Errorf("live %s, %s %s, %s %s; want %s live and ready, %s retired", got.Live, v2, got.Revision(v2).State, v1, got.Revision(v1).State, v2, v1)
	}
	if revs := f.revisions("web"); !slices.Equal(revs, []string{v2}) {
		t.Errorf("replicas of %v run, want %s only", revs, v2)
	}
	if f.tidied == 0 {
		t.Error("the runtime was not tidied after the old replicas went")
	}
}

func TestDeploy_Unchanged(t *testing.T) {
	p, f := newPlatform(t)
	a := newApp(t, p, "sha256:v1")
	v1 := deploy(t, p, a, "sha256:v1")
	f.reset()
	r, changed, err := p.Deploy(context.Background(), a)
	if err != nil || changed || r.Name != v1 {
		t.Fatalf("Deploy unchanged = %v, %v, %v; want %s, false", r, changed, err, v1)
	}
	if ev := f.events(); len(ev) != 0 {
		t.Errorf("an unchanged deploy did %v", ev)
	}
	// The same spec with its replicas gone (removed by hand) is started again.
	f.Remove(context.Background(), "web", v1, 0)
	f.reset()
	if r, changed, err = p.Deploy(context.Background(), a); err != nil || !changed || r.Name != v1 {
		t.Fatalf("Deploy with no replicas left = %v, %v, %v; want %s started again", r, changed, err, v1)
	}
	if !slices.Contains(f.events(), "start "+v1+" ×1") {
		t.Errorf("no start in %v", f.events())
	}
}

// A revision that never becomes healthy gets no traffic: what served keeps serving,
// the settings keep the change, and the error says what went wrong and what to do.
func TestDeploy_Unhealthy(t *testing.T) {
	p, f := newPlatform(t)
	a := newApp(t, p, "sha256:v1")
	v1 := deploy(t, p, a, "sha256:v1")
	f.broken["sha256:v2"] = "it exited with code 1: the image has no module flask_cors"
	f.reset()
	a.Image = "sha256:v2"
	v2 := revName(a)
	_, _, err := p.Deploy(context.Background(), a)
	var de *DeployError
	if !errors.As(err, &de) {
		t.Fatalf("Deploy = %v, want a *DeployError", err)
	}
	want := DeployError{Revision: v2, Diagnosis: f.broken["sha256:v2"], Logs: de.Logs, App: "web", Live: v1}
	if diff := cmp.Diff(want, *de); diff != "" {
		t.Errorf("DeployError (-want +got):\n%s", diff)
	}
	for _, s := range []string{"did not become healthy", "flask_cors", "the previous revision keeps serving", "pyship rollback web " + v1, "--- its logs ---"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("%q does not say %q", err, s)
		}
	}
	got := stored(t, p, "web")
	if got.Live != v1 || got.Image != "sha256:v2" {
		t.Errorf("live %s, settings' image %s; want %s still live and the settings keeping sha256:v2", got.Live, got.Image, v1)
	}
	if r := got.Revision(v2); r.State != store.Failed || r.Reason != f.broken["sha256:v2"] {
		t.Errorf("%s: %s %q, want failed with the diagnosis", v2, r.State, r.Reason)
	}
	if revs := f.revisions("web"); !slices.Equal(revs, []string{v1}) {
		t.Errorf("replicas of %v run, want %s only", revs, v1)
	}
	for _, e := range f.events() {
		if strings.HasPrefix(e, "route") || strings.HasPrefix(e, "drain") || e == "remove "+v1+" grace=30s" {
			t.Errorf("a failed deploy did %q", e)
		}
	}
}

// A first deploy that fails leaves nothing serving: the router learns why (503 naming
// the failed revision), and the error does not point at a previous revision.
func TestDeploy_FirstFails(t *testing.T) {
	p, f := newPlatform(t)
	f.broken["sha256:bad"] = "it listens on 127.0.0.1:8000 only"
	a := newApp(t, p, "sha256:bad")
	rev := revName(a)
	_, _, err := p.Deploy(context.Background(), a)
	var de *DeployError
	if !errors.As(err, &de) || !de.NothingServes || de.Live != "" {
		t.Fatalf("Deploy = %#v, want a *DeployError with NothingServes", err)
	}
	if !strings.Contains(err.Error(), "nothing serves web yet") || strings.Contains(err.Error(), "previous revision") {
		t.Errorf("error: %v", err)
	}
	want := map[string]Traffic{"web": {Weights: map[string]int{}, Newest: rev, NewestState: store.Failed}}
	if diff := cmp.Diff(want, f.routes); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	if len(f.revisions("web")) != 0 {
		t.Errorf("replicas left: %v", f.revisions("web"))
	}
}

// Start can fail before any health check (an image the runtime cannot run): the
// revision fails, and whatever it created goes.
func TestDeploy_StartFails(t *testing.T) {
	p, f := newPlatform(t)
	a := newApp(t, p, "sha256:v1")
	v1 := deploy(t, p, a, "sha256:v1")
	f.startErr = errors.New("no such image")
	a.Image = "sha256:v2"
	v2 := revName(a)
	_, _, err := p.Deploy(context.Background(), a)
	if err == nil || !strings.Contains(err.Error(), "no such image") {
		t.Fatalf("Deploy = %v", err)
	}
	got := stored(t, p, "web")
	if r := got.Revision(v2); r.State != store.Failed || r.Reason != "no such image" || got.Live != v1 {
		t.Errorf("%s %s %q, live %s", v2, r.State, r.Reason, got.Live)
	}
	if revs := f.revisions("web"); !slices.Equal(revs, []string{v1}) {
		t.Errorf("replicas of %v run, want %s only", revs, v1)
	}
}

// Secrets reach the runtime as values beside the environment, never in it; a value
// changed behind pyship's back stops the deploy before anything starts.
func TestDeploy_Secrets(t *testing.T) {
	p, f := newPlatform(t)
	a := newApp(t, p, "sha256:v1")
	a.Env = map[string]string{"B": "2", "A": "1"}
	d, err := p.Store.SetSecret("web", "TOKEN", []byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	a.Secrets["TOKEN"] = d
	var rel Release
	f.onReady = func(r Release) { rel = r }
	deploy(t, p, a, "sha256:v1")
	if diff := cmp.Diff([]string{"A=1", "B=2", "PORT=8000"}, rel.Env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
	if string(rel.Secrets["TOKEN"]) != "s3cret" {
		t.Errorf("secrets: %q", rel.Secrets)
	}

	if _, err := p.Store.SetSecret("web", "TOKEN", []byte("changed")); err != nil {
		t.Fatal(err)
	}
	a.Env["C"] = "3"
	f.reset()
	if _, _, err := p.Deploy(context.Background(), a); err == nil || !strings.Contains(err.Error(), "changed outside pyship") {
		t.Fatalf("Deploy = %v", err)
	}
	if slices.ContainsFunc(f.events(), func(e string) bool { return strings.HasPrefix(e, "start") }) {
		t.Errorf("started with a changed secret: %v", f.events())
	}
}

// Scaling is a new revision with the new count, health-gated like any other.
func TestDeploy_Scale(t *testing.T) {
	p, f := newPlatform(t)
	a := newApp(t, p, "sha256:v1")
	v1 := deploy(t, p, a, "sha256:v1")
	a.Replicas = 3
	v3 := deploy(t, p, a, "sha256:v1")
	if v3 == v1 {
		t.Fatal("scaling kept the revision")
	}
	reps, _ := f.List(context.Background(), "web")
	if servingReplicas(reps, v3) != 3 || len(reps) != 3 {
		t.Errorf("replicas %v, want 3 of %s serving", reps, v3)
	}
	// Back to one: the first revision again.
	a.Replicas = 1
	if v := deploy(t, p, a, "sha256:v1"); v != v1 {
		t.Errorf("back to 1 replica: %s, want %s", v, v1)
	}
}

// The health gate waits for every replica, saying what it waits for every few seconds,
// and takes its timeout from StartTimeout.
func TestWaitHealthy_Progress(t *testing.T) {
	p, _ := newPlatform(t)
	var lines []string
	p.Log = func(format string, args ...any) { lines = append(lines, format) }
	p.progressEvery = time.Millisecond
	p.StartTimeout = 7 * time.Second
	rt := &slowReady{wait: 30 * time.Millisecond}
	p.Runtime = rt
	rel := Release{App: "web", Revision: "web--x", Spec: store.Spec{Replicas: 2, Port: 8000, Probe: "/"}}
	if err := p.waitHealthy(context.Background(), rel); err != nil {
		t.Fatal(err)
	}
	if rt.timeout != 7*time.Second {
		t.Errorf("Ready was given %s, want StartTimeout", rt.timeout)
	}
	if !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, "waiting for %s to answer") }) {
		t.Errorf("no progress line in %q", lines)
	}
	p.StartTimeout = 0
	p.waitHealthy(context.Background(), rel)
	if rt.timeout != 90*time.Second {
		t.Errorf("default timeout %s", rt.timeout)
	}
}

// slowReady reports one of two replicas ready, then the other after wait.
type slowReady struct {
	fakeRuntime
	wait    time.Duration
	timeout time.Duration
}

func (s *slowReady) Ready(ctx context.Context, rel Release, timeout time.Duration, status func(int, string)) error {
	s.timeout = timeout
	status(0, "")
	status(1, "answered once")
	time.Sleep(s.wait)
	status(1, "")
	return nil
}

// A kill in the middle of a deploy leaves a Provisioning revision and its replicas;
// the next command settles them, and never touches what serves.
func TestReconcile(t *testing.T) {
	for _, tc := range []struct {
		desc string
		// the store's revisions (name → state) and what serves
		states  map[string]string
		live    string
		traffic map[string]int
		running []string // revisions with replicas
		// after
		wantRunning []string
		wantStates  map[string]string
	}{
		{
			desc:   "killed while the new revision started",
			states: map[string]string{"web--a": store.Ready, "web--b": store.Provisioning}, live: "web--a",
			running:     []string{"web--a", "web--b"},
			wantRunning: []string{"web--a"},
			wantStates:  map[string]string{"web--a": store.Ready, "web--b": store.Failed},
		},
		{
			desc:   "killed before the new revision's replicas were created",
			states: map[string]string{"web--a": store.Ready, "web--b": store.Provisioning}, live: "web--a",
			running:     []string{"web--a"},
			wantRunning: []string{"web--a"},
			wantStates:  map[string]string{"web--a": store.Ready, "web--b": store.Failed},
		},
		{
			desc:   "killed while draining the old revision after the switch",
			states: map[string]string{"web--a": store.Ready, "web--b": store.Ready}, live: "web--b",
			running:     []string{"web--a", "web--b"},
			wantRunning: []string{"web--b"},
			wantStates:  map[string]string{"web--a": store.Ready, "web--b": store.Ready},
		},
		{
			desc:   "a traffic split keeps every revision with a share",
			states: map[string]string{"web--a": store.Ready, "web--b": store.Ready, "web--c": store.Retired}, traffic: map[string]int{"web--a": 50, "web--b": 50, "web--c": 0},
			running:     []string{"web--a", "web--b", "web--c"},
			wantRunning: []string{"web--a", "web--b"},
			wantStates:  map[string]string{"web--a": store.Ready, "web--b": store.Ready, "web--c": store.Retired},
		},
		{
			desc:        "a first deploy killed: nothing serves",
			states:      map[string]string{"web--a": store.Provisioning},
			running:     []string{"web--a"},
			wantRunning: nil,
			wantStates:  map[string]string{"web--a": store.Failed},
		},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			p, f := newPlatform(t)
			a := newApp(t, p, "sha256:v1")
			for _, name := range sortedKeys(tc.states) {
				a.Revisions = append(a.Revisions, store.Revision{Name: name, State: tc.states[name]})
			}
			a.Live, a.Traffic = tc.live, tc.traffic
			if err := p.Store.Put(a); err != nil {
				t.Fatal(err)
			}
			for _, rev := range tc.running {
				f.add(Replica{Name: "pyship-" + rev + "-0", App: "web", Revision: rev, Running: true, Serving: true})
			}
			f.add(Replica{Name: "pyship-other--a-0", App: "other", Revision: "other--a", Running: true})
			if err := p.Reconcile(context.Background(), a); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantRunning, f.revisions("web")); diff != "" {
				t.Errorf("running (-want +got):\n%s", diff)
			}
			if len(f.revisions("other")) != 1 {
				t.Error("another app's replica was removed")
			}
			got := stored(t, p, "web")
			for name, want := range tc.wantStates {
				r := got.Revision(name)
				if r.State != want {
					t.Errorf("%s: %s, want %s", name, r.State, want)
				}
				if want == store.Failed && r.Reason != "interrupted before it became ready" {
					t.Errorf("%s: reason %q", name, r.Reason)
				}
			}
			for _, e := range f.events() {
				if strings.HasPrefix(e, "remove") && !strings.HasSuffix(e, "grace=0s") {
					t.Errorf("%s: leftovers are removed at once", e)
				}
			}
		})
	}
}

// A deploy interrupted during the health gate (Ctrl-C) removes the new replicas, even
// though its context is done, and records the revision as failed.
func TestDeploy_Interrupted(t *testing.T) {
	p, f := newPlatform(t)
	a := newApp(t, p, "sha256:v1")
	v1 := deploy(t, p, a, "sha256:v1")
	ctx, cancel := context.WithCancel(context.Background())
	f.onReady = func(Release) { cancel() }
	a.Image = "sha256:v2"
	v2 := revName(a)
	if _, _, err := p.Deploy(ctx, a); !errors.Is(err, context.Canceled) {
		t.Fatalf("Deploy = %v, want context.Canceled", err)
	}
	if revs := f.revisions("web"); !slices.Equal(revs, []string{v1}) {
		t.Errorf("replicas of %v run, want %s only", revs, v1)
	}
	if got := stored(t, p, "web"); got.Revision(v2).State != store.Failed || got.Live != v1 {
		t.Errorf("%s %s, live %s", v2, got.Revision(v2).State, got.Live)
	}
}

// The old revision is removed only once the requests in flight to it have finished:
// the switch comes first, then the drain, then the stop.
func TestDeploy_DrainWaitsForInflight(t *testing.T) {
	p, f := newPlatform(t)
	a := newApp(t, p, "sha256:v1")
	v1 := deploy(t, p, a, "sha256:v1")
	gate := make(chan struct{})
	f.drainGate = gate
	p.DrainTimeout = time.Minute
	a.Image = "sha256:v2"
	v2 := revName(a)
	done := make(chan error, 1)
	go func() { _, _, err := p.Deploy(context.Background(), a); done <- err }()
	deadline := time.Now().Add(10 * time.Second)
	for !slices.Contains(f.events(), "drain "+v1) {
		if time.Now().After(deadline) {
			t.Fatalf("no drain: %v", f.events())
		}
		time.Sleep(time.Millisecond)
	}
	if !slices.Contains(f.events(), "route web:"+v2+"=100") {
		t.Errorf("drained before the switch: %v", f.events())
	}
	if revs := f.revisions("web"); !slices.Contains(revs, v1) {
		t.Errorf("%s removed while requests were in flight", v1)
	}
	close(gate) // the last request in flight ends
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if revs := f.revisions("web"); !slices.Equal(revs, []string{v2}) {
		t.Errorf("replicas of %v run, want %s only", revs, v2)
	}
	if f.drained != time.Minute {
		t.Errorf("Drain was given %s, want DrainTimeout", f.drained)
	}
	// Without DrainTimeout, 30 s.
	p.DrainTimeout = 0
	f.drainGate = nil
	deploy(t, p, a, "sha256:v3")
	if f.drained != 30*time.Second {
		t.Errorf("default drain %s", f.drained)
	}
}

func TestRollback(t *testing.T) {
	p, f := newPlatform(t)
	a := newApp(t, p, "sha256:v1")
	a.Env["MODE"] = "one"
	v1 := deploy(t, p, a, "sha256:v1")
	a.Env = map[string]string{"MODE": "two"}
	v2 := deploy(t, p, a, "sha256:v2")

	// To the newest revision before the live one.
	r, err := p.Rollback(context.Background(), a, "")
	if err != nil || r.Name != v1 {
		t.Fatalf("Rollback = %v, %v; want %s", r, err, v1)
	}
	got := stored(t, p, "web")
	if got.Live != v1 || got.Image != "sha256:v1" || got.Env["MODE"] != "one" {
		t.Errorf("live %s, image %s, env %v; want %s's", got.Live, got.Image, got.Env, v1)
	}
	if revs := f.revisions("web"); !slices.Equal(revs, []string{v1}) {
		t.Errorf("replicas of %v run, want %s only", revs, v1)
	}

	// To the revision that serves, after a failed change: the settings drop the change
	// and nothing restarts.
	f.broken["sha256:v3"] = "it crashed"
	a.Image = "sha256:v3"
	if _, _, err := p.Deploy(context.Background(), a); err == nil {
		t.Fatal("broken deploy succeeded")
	}
	f.reset()
	if r, err = p.Rollback(context.Background(), a, v1); err != nil || r.Name != v1 {
		t.Fatalf("Rollback to the live revision = %v, %v", r, err)
	}
	if got := stored(t, p, "web"); got.Image != "sha256:v1" {
		t.Errorf("settings keep %s after rolling back to %s", got.Image, v1)
	}
	if slices.ContainsFunc(f.events(), func(e string) bool { return strings.HasPrefix(e, "start") }) {
		t.Errorf("rolling back to what serves restarted it: %v", f.events())
	}

	// By hash, to v2 again.
	if r, err = p.Rollback(context.Background(), a, strings.TrimPrefix(v2, "web--")); err != nil || r.Name != v2 {
		t.Fatalf("Rollback by hash = %v, %v", r, err)
	}
}

func TestRollback_Refused(t *testing.T) {
	for _, tc := range []struct {
		desc, to, want string
		setup          func(t *testing.T, p *Platform, a *store.App)
	}{
		{desc: "unknown revision", to: "web--nope", want: "has no revision web--nope"},
		{desc: "nothing before the live revision", want: "no earlier revision"},
		{desc: "a secret value pyship no longer has", want: "used another value of secret TOKEN",
			setup: func(t *testing.T, p *Platform, a *store.App) {
				d, _ := p.Store.SetSecret("web", "TOKEN", []byte("old"))
				a.Secrets["TOKEN"] = d
				deploy(t, p, a, "sha256:v0")
				*a = *stored(t, p, "web") // as the next command reads it
				d, _ = p.Store.SetSecret("web", "TOKEN", []byte("new"))
				a.Secrets["TOKEN"] = d
			}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			p, _ := newPlatform(t)
			a := newApp(t, p, "sha256:v1")
			if tc.setup != nil {
				tc.setup(t, p, a)
			}
			deploy(t, p, a, "sha256:v1")
			before := stored(t, p, "web")
			if _, err := p.Rollback(context.Background(), a, tc.to); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Rollback(%q) = %v, want %q", tc.to, err, tc.want)
			}
			if diff := cmp.Diff(before, stored(t, p, "web")); diff != "" {
				t.Errorf("a refused rollback changed the app (-before +after):\n%s", diff)
			}
		})
	}
}

// Down removes every replica of every revision, forgets the app and its secrets, and
// takes it off the router; other apps stay.
func TestDown(t *testing.T) {
	p, f := newPlatform(t)
	a := newApp(t, p, "sha256:v1")
	d, _ := p.Store.SetSecret("web", "TOKEN", []byte("s3cret"))
	a.Secrets["TOKEN"] = d
	v1 := deploy(t, p, a, "sha256:v1")
	v2 := deploy(t, p, a, "sha256:v2")
	if err := p.SetTraffic(context.Background(), a, map[string]int{v1: 50, v2: 50}); err != nil {
		t.Fatal(err)
	}
	other := &store.App{Name: "other", Image: "sha256:o", Port: 8000, Probe: "/", Replicas: 1}
	p.Store.Put(other)
	deploy(t, p, other, "sha256:o")
	f.tidied = 0
	if err := p.Down(context.Background(), "web"); err != nil {
		t.Fatal(err)
	}
	if revs := f.revisions("web"); len(revs) != 0 {
		t.Errorf("replicas of %v left", revs)
	}
	if _, err := p.Store.Get("web"); !errors.Is(err, store.ErrNoApp) {
		t.Errorf("the store still has web: %v", err)
	}
	if _, err := p.Store.Secret("web", "TOKEN"); err == nil {
		t.Error("the secret value was kept")
	}
	if _, ok := f.routes["web"]; ok || len(f.routes["other"].Weights) != 1 {
		t.Errorf("routes after down: %v", f.routes)
	}
	if len(f.revisions("other")) != 1 {
		t.Error("down removed another app's replicas")
	}
	if f.tidied == 0 {
		t.Error("not tidied")
	}
}

// A replica the runtime will not remove keeps down from claiming success.
func TestDown_RemoveFails(t *testing.T) {
	p, f := newPlatform(t)
	a := newApp(t, p, "sha256:v1")
	v1 := deploy(t, p, a, "sha256:v1")
	f.removeErr[v1] = errors.New("pyship-" + v1 + "-0 (device busy)")
	err := p.Down(context.Background(), "web")
	if err == nil || !strings.Contains(err.Error(), "device busy") || !strings.Contains(err.Error(), "run pyship down web again") {
		t.Fatalf("Down = %v", err)
	}
	delete(f.removeErr, v1)
	if err := p.Down(context.Background(), "web"); err != nil {
		t.Fatalf("second Down = %v", err)
	}
	if len(f.revisions("web")) != 0 {
		t.Error("replicas left after the second down")
	}
}
