package platform

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pyship/pyship/internal/store"
)

// replicasOf puts replicas of rev with spec into the fake, as a pyship whose state
// directory was since lost left them.
func replicasOf(f *fakeRuntime, app, rev string, spec *store.Spec, minute int, states ...string) {
	for i, st := range states {
		f.add(Replica{Name: "pyship-" + rev + "-" + string(rune('0'+i)), App: app, Revision: rev, Index: string(rune('0' + i)),
			State: st, Running: st == "running" || st == "restarting", Serving: st == "running", Created: timeAt(minute), Spec: spec})
	}
}

func TestRecover(t *testing.T) {
	v1 := &store.Spec{Image: "sha256:v1", Port: 8000, Probe: "/", Replicas: 1, Env: map[string]string{"MODE": "one"}}
	v2 := &store.Spec{Image: "sha256:v2", Port: 8000, Probe: "/health", Replicas: 2, Env: map[string]string{"MODE": "two"}, Secrets: map[string]string{"TOKEN": ""}}
	// v1 is named by its hash, as Deploy names revisions; v2 by hand.
	n1 := "web--" + v1.Hash()
	for _, tc := range []struct {
		desc        string
		routed      map[string]int // nil: no router to ask
		running     []string       // revisions whose replicas run
		wantLive    string
		wantTraffic map[string]int
		wantImage   string // the settings come from the revision that serves
	}{
		{desc: "the router names the live revision", routed: map[string]int{n1: 100}, running: []string{n1, "web--v2"}, wantLive: n1, wantImage: "sha256:v1"},
		{desc: "without a router the newest running revision is live", running: []string{n1, "web--v2"}, wantLive: "web--v2", wantImage: "sha256:v2"},
		{desc: "a split", routed: map[string]int{n1: 20, "web--v2": 80}, running: []string{n1, "web--v2"}, wantTraffic: map[string]int{n1: 20, "web--v2": 80}, wantImage: "sha256:v2"},
		{desc: "a routed revision that does not run takes no traffic", routed: map[string]int{"web--v2": 100}, running: []string{n1}, wantLive: n1, wantImage: "sha256:v1"},
		{desc: "nothing runs: the newest revision's settings, nothing live", wantImage: "sha256:v2"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			p, f := newPlatform(t)
			state := func(rev string) string {
				for _, r := range tc.running {
					if r == rev {
						return "running"
					}
				}
				return "exited"
			}
			replicasOf(f, "web", n1, v1, 1, state(n1))
			replicasOf(f, "web", "web--v2", v2, 2, state("web--v2"), state("web--v2"))
			f.secrets["web/web--v2/TOKEN"] = []byte("s3cret")
			if tc.routed != nil {
				f.routes = map[string]Traffic{"web": {Weights: tc.routed}}
			}
			a, err := p.App(context.Background(), "web")
			if err != nil {
				t.Fatal(err)
			}
			if a.Live != tc.wantLive || !cmp.Equal(a.Traffic, tc.wantTraffic) || a.Image != tc.wantImage {
				t.Errorf("live %q, traffic %v, image %s; want %q, %v, %s", a.Live, a.Traffic, a.Image, tc.wantLive, tc.wantTraffic, tc.wantImage)
			}
			if len(a.Revisions) != 2 || a.Revisions[0].Name != n1 || !a.Created.Equal(timeAt(1)) {
				t.Fatalf("revisions %v, created %s; want v1 then v2, created with v1", a.Revisions, a.Created)
			}
			for _, r := range a.Revisions {
				want := store.Retired
				if state(r.Name) == "running" {
					want = store.Ready
				}
				if r.State != want || r.Reason != "recovered from its containers" {
					t.Errorf("%s: %s %q, want %s", r.Name, r.State, r.Reason, want)
				}
			}
			if got := a.Revision("web--v2"); len(got.Containers) != 2 {
				t.Errorf("v2's replicas: %v", got.Containers)
			}
			// The value the replicas run with is the revision's own, and it is back in
			// the store when the settings use it.
			digest := a.Revision("web--v2").Spec.Secrets["TOKEN"]
			if digest != p.Store.Digest([]byte("s3cret")) {
				t.Errorf("v2's digest %q", digest)
			}
			if v, err := p.Store.Secret("web", "TOKEN"); (a.Image == "sha256:v2") != (err == nil && string(v) == "s3cret") {
				t.Errorf("secret in the store: %q %v", v, err)
			}
			if v2.Secrets["TOKEN"] != "" {
				t.Error("recovery changed the replicas' own spec")
			}
			if diff := cmp.Diff(a, stored(t, p, "web")); diff != "" {
				t.Errorf("stored (-recovered +stored):\n%s", diff)
			}
			// The recovered app deploys like any other: nothing changes when what
			// serves is what its settings say.
			if a.Live != "" && a.Replicas == 1 {
				f.reset()
				if _, changed, err := p.Deploy(context.Background(), a); err != nil || changed {
					t.Errorf("deploy after recovery: changed %v, %v (%v)", changed, err, f.events())
				}
			}
		})
	}
}

func TestRecover_Unrecoverable(t *testing.T) {
	p, f := newPlatform(t)
	replicasOf(f, "old", "old--a", nil, 1, "running") // an older pyship's: no spec
	if _, err := p.App(context.Background(), "old"); !errors.Is(err, store.ErrNoApp) || !strings.Contains(err.Error(), "carry no revision spec") {
		t.Errorf("App(old) = %v", err)
	}
	if _, err := p.App(context.Background(), "none"); !errors.Is(err, store.ErrNoApp) {
		t.Errorf("App(none) = %v", err)
	}
	replicasOf(f, "Bad--Name", "Bad--Name--a", &store.Spec{Image: "x", Port: 1, Probe: "/", Replicas: 1}, 1, "running")
	if _, err := p.App(context.Background(), "Bad--Name"); err == nil {
		t.Error("an invalid app name from a replica was recovered")
	}
}

// A secret whose value is neither in the store nor in a running replica is lost: the
// app is recovered, and the next change needs it set again.
func TestRecover_LostSecret(t *testing.T) {
	p, f := newPlatform(t)
	spec := &store.Spec{Image: "sha256:v1", Port: 8000, Probe: "/", Replicas: 1, Secrets: map[string]string{"TOKEN": ""}}
	replicasOf(f, "web", "web--v1", spec, 1, "exited")
	var said []string
	p.Log = func(format string, args ...any) { said = append(said, format) }
	a, err := p.App(context.Background(), "web")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Secrets["TOKEN"]; !ok || a.Revision("web--v1").Spec.Secrets["TOKEN"] != "" {
		t.Errorf("secrets %v", a.Secrets)
	}
	if !strings.Contains(strings.Join(said, "\n"), "was lost with the state") {
		t.Errorf("nothing said about the lost value: %q", said)
	}
}

func TestRecoverAll(t *testing.T) {
	p, f := newPlatform(t)
	spec := &store.Spec{Image: "sha256:v1", Port: 8000, Probe: "/", Replicas: 1}
	replicasOf(f, "lost", "lost--a", spec, 1, "running")
	kept := newApp(t, p, "sha256:kept")
	replicasOf(f, "web", "web--zzz", spec, 1, "running") // the store knows web: left alone
	if err := p.RecoverAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if a := stored(t, p, "lost"); a.Live != "lost--a" {
		t.Errorf("lost: live %q", a.Live)
	}
	if diff := cmp.Diff(kept, stored(t, p, "web")); diff != "" {
		t.Errorf("a known app was rewritten (-before +after):\n%s", diff)
	}
}
