package platform

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pyship/pyship/internal/store"
)

// twoRevisions deploys v1 then v2: v2 serves, v1 is retired with no replicas.
func twoRevisions(t *testing.T) (*Platform, *fakeRuntime, *store.App, string, string) {
	t.Helper()
	p, f := newPlatform(t)
	a := newApp(t, p, "sha256:v1")
	v1 := deploy(t, p, a, "sha256:v1")
	v2 := deploy(t, p, a, "sha256:v2")
	return p, f, a, v1, v2
}

// A split starts the revisions that do not run (health-gated), routes by weight,
// makes the largest share live, and drains and stops the revisions left out.
func TestSetTraffic_Split(t *testing.T) {
	p, f, a, v1, v2 := twoRevisions(t)
	f.reset()
	if err := p.SetTraffic(context.Background(), a, map[string]int{v1: 30, strings.TrimPrefix(v2, "web--"): 70}); err != nil {
		t.Fatal(err)
	}
	want := []string{"start " + v1 + " ×1", "ready " + v1, "route web:" + v1 + "=30," + v2 + "=70"}
	if diff := cmp.Diff(want, f.events()); diff != "" {
		t.Errorf("split (-want +got):\n%s", diff)
	}
	got := stored(t, p, "web")
	if got.Live != v2 || !cmp.Equal(got.Traffic, map[string]int{v1: 30, v2: 70}) || got.Revision(v1).State != store.Ready {
		t.Errorf("live %s, traffic %v, %s %s", got.Live, got.Traffic, v1, got.Revision(v1).State)
	}

	// All to v1: v2 is drained and stopped.
	f.reset()
	if err := p.SetTraffic(context.Background(), got, map[string]int{v1: 100}); err != nil {
		t.Fatal(err)
	}
	want = []string{"route web:" + v1 + "=100", "drain " + v2, "remove " + v2 + " grace=30s"}
	if diff := cmp.Diff(want, f.events()); diff != "" {
		t.Errorf("all to one (-want +got):\n%s", diff)
	}
	if got := stored(t, p, "web"); got.Revision(v2).State != store.Retired || got.Live != v1 {
		t.Errorf("%s %s, live %s", v2, got.Revision(v2).State, got.Live)
	}
	if revs := f.revisions("web"); !slices.Equal(revs, []string{v1}) {
		t.Errorf("replicas of %v run, want %s only", revs, v1)
	}
}

// Equal shares: the live revision (exec's default, rollback's reference) is the one
// whose name sorts last, so that it does not change from one run to the next.
func TestSetTraffic_TieBreak(t *testing.T) {
	p, _, a, v1, v2 := twoRevisions(t)
	if err := p.SetTraffic(context.Background(), a, map[string]int{v1: 50, v2: 50}); err != nil {
		t.Fatal(err)
	}
	if got := stored(t, p, "web").Live; got != max(v1, v2) {
		t.Errorf("live %s, want %s", got, max(v1, v2))
	}
}

func TestSetTraffic_Refused(t *testing.T) {
	for _, tc := range []struct {
		desc    string
		weights func(v1, v2, bad string) map[string]int
		want    string
	}{
		{"unknown revision", func(v1, v2, bad string) map[string]int { return map[string]int{v1: 50, "web--nope": 50} }, "has no revision web--nope"},
		{"negative weight", func(v1, v2, bad string) map[string]int { return map[string]int{v1: -10, v2: 110} }, "use 0-100"},
		{"weight over 100", func(v1, v2, bad string) map[string]int { return map[string]int{v2: 101} }, "use 0-100"},
		{"sum under 100", func(v1, v2, bad string) map[string]int { return map[string]int{v1: 40, v2: 50} }, "add up to 90, not 100"},
		{"sum over 100", func(v1, v2, bad string) map[string]int { return map[string]int{v1: 60, v2: 50} }, "add up to 110, not 100"},
		{"nothing", func(v1, v2, bad string) map[string]int { return map[string]int{} }, "add up to 0"},
		{"a revision that never became healthy", func(v1, v2, bad string) map[string]int { return map[string]int{bad: 10, v2: 90} }, "never became healthy"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			p, f, a, v1, v2 := twoRevisions(t)
			f.broken["sha256:bad"] = "it crashed"
			a.Image = "sha256:bad"
			bad := revName(a)
			p.Deploy(context.Background(), a)
			a = stored(t, p, "web")
			before := stored(t, p, "web")
			f.reset()
			err := p.SetTraffic(context.Background(), a, tc.weights(v1, v2, bad))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("SetTraffic = %v, want %q", err, tc.want)
			}
			if ev := f.events(); len(ev) != 0 {
				t.Errorf("a refused split did %v", ev)
			}
			if diff := cmp.Diff(before, stored(t, p, "web")); diff != "" {
				t.Errorf("a refused split changed the app (-before +after):\n%s", diff)
			}
		})
	}
}

// A revision of the split that does not become healthy again (its image went bad, a
// secret it needs is gone) gets no traffic, and what served keeps serving.
func TestSetTraffic_Unhealthy(t *testing.T) {
	p, f, a, v1, v2 := twoRevisions(t)
	f.broken["sha256:v1"] = "it exited with code 1"
	f.reset()
	err := p.SetTraffic(context.Background(), a, map[string]int{v1: 50, v2: 50})
	if err == nil || !strings.Contains(err.Error(), "it exited with code 1") {
		t.Fatalf("SetTraffic = %v", err)
	}
	want := []string{"start " + v1 + " ×1", "ready " + v1, "remove " + v1 + " grace=0s"}
	if diff := cmp.Diff(want, f.events()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := stored(t, p, "web"); got.Live != v2 || got.Traffic != nil {
		t.Errorf("live %s, traffic %v; want %s alone", got.Live, got.Traffic, v2)
	}
	if revs := f.revisions("web"); !slices.Equal(revs, []string{v2}) {
		t.Errorf("replicas of %v run, want %s only", revs, v2)
	}
}

// After a split, a deploy puts all traffic on the new revision and stops the others.
func TestDeploy_AfterSplit(t *testing.T) {
	p, f, a, v1, v2 := twoRevisions(t)
	if err := p.SetTraffic(context.Background(), a, map[string]int{v1: 50, v2: 50}); err != nil {
		t.Fatal(err)
	}
	a = stored(t, p, "web")
	f.reset()
	v3 := deploy(t, p, a, "sha256:v3")
	events := f.events()
	if i, j := slices.Index(events, "route web:"+v3+"=100"), slices.Index(events, "drain "+v1+","+v2); i < 0 || j < i {
		t.Errorf("events %v: want the switch to %s, then both drained", events, v3)
	}
	if got := stored(t, p, "web"); got.Live != v3 || got.Traffic != nil {
		t.Errorf("live %s, traffic %v", got.Live, got.Traffic)
	}
}

// PublishRoutes routes the revisions that take traffic and are ready, and names the
// newest revision of an app that serves nothing.
func TestPublishRoutes(t *testing.T) {
	p, f := newPlatform(t)
	apps := []*store.App{
		{Name: "split", Port: 1, Probe: "/", Replicas: 1, Traffic: map[string]int{"split--a": 60, "split--b": 40},
			Revisions: []store.Revision{{Name: "split--a", State: store.Ready}, {Name: "split--b", State: store.Ready}}},
		{Name: "one", Port: 1, Probe: "/", Replicas: 1, Live: "one--a",
			Revisions: []store.Revision{{Name: "one--a", State: store.Ready}}},
		{Name: "failed", Port: 1, Probe: "/", Replicas: 1,
			Revisions: []store.Revision{{Name: "failed--b", State: store.Failed, Created: timeAt(2)}, {Name: "failed--a", State: store.Failed, Created: timeAt(1)}}},
		{Name: "stale", Port: 1, Probe: "/", Replicas: 1, Live: "stale--a", // the store says live, but it is not ready
			Revisions: []store.Revision{{Name: "stale--a", State: store.Provisioning}}},
		{Name: "empty", Port: 1, Probe: "/", Replicas: 1},
	}
	for _, a := range apps {
		if err := p.Store.Put(a); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.PublishRoutes(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := map[string]Traffic{
		"split":  {Weights: map[string]int{"split--a": 60, "split--b": 40}, Newest: "split--b", NewestState: store.Ready}, // equal times: the last one recorded
		"one":    {Weights: map[string]int{"one--a": 100}, Newest: "one--a", NewestState: store.Ready},
		"failed": {Weights: map[string]int{}, Newest: "failed--b", NewestState: store.Failed},
		"stale":  {Weights: map[string]int{}, Newest: "stale--a", NewestState: store.Provisioning},
		"empty":  {Weights: map[string]int{}},
	}
	if diff := cmp.Diff(want, f.routes); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
}

// timeAt is a fixed time, n minutes into 2026.
func timeAt(n int) time.Time { return time.Date(2026, 1, 1, 0, n, 0, 0, time.UTC) }

// A revision that ran with an earlier secret value cannot run again (pyship keeps the
// current value only): a split that needs to start it is refused, says why, and
// nothing starts or moves.
func TestSetTraffic_EarlierSecret(t *testing.T) {
	p, f := newPlatform(t)
	a := newApp(t, p, "sha256:v1")
	d, err := p.Store.SetSecret("web", "TOKEN", []byte("one"))
	if err != nil {
		t.Fatal(err)
	}
	a.Secrets["TOKEN"] = d
	v1 := deploy(t, p, a, "sha256:v1")
	if d, err = p.Store.SetSecret("web", "TOKEN", []byte("two")); err != nil {
		t.Fatal(err)
	}
	a.Secrets["TOKEN"] = d
	v2 := deploy(t, p, a, "sha256:v1")
	f.reset()
	err = p.SetTraffic(context.Background(), a, map[string]int{v1: 50, v2: 50})
	if err == nil || !strings.Contains(err.Error(), "revision "+v1+" ran with an earlier value of secret TOKEN, which pyship does not keep") {
		t.Fatalf("SetTraffic = %v; %v", err, f.events())
	}
	if ev := f.events(); len(ev) != 0 {
		t.Errorf("a refused split did %v", ev)
	}
	if got := stored(t, p, "web"); got.Live != v2 || len(got.Traffic) != 0 {
		t.Errorf("live %s traffic %v", got.Live, got.Traffic)
	}
}
