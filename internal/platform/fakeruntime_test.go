package platform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pyship/pyship/internal/store"
)

// fakeRuntime is an in-memory Runtime: replicas are records, readiness is immediate
// unless the image is listed in broken, and every call is written to a journal, so the
// state machine's order of steps can be checked.
type fakeRuntime struct {
	mu       sync.Mutex
	replicas []Replica
	routes   map[string]Traffic // as the last Route left them; nil before any
	secrets  map[string][]byte  // app/rev/key → the value its replicas run with
	journal  []string
	ids      int
	tidied   int

	broken    map[string]string   // image → why its replicas never become ready
	startErr  error               // Start fails with it (after one replica)
	removeErr map[string]error    // revision → Remove fails with it
	drainGate chan struct{}       // non-nil: Drain waits for it (requests in flight)
	drained   time.Duration       // the timeout Drain was given
	onReady   func(rel Release)   // runs at the start of Ready
	logs      map[string][]string // replica name → its lines
	execs     []Release
}

var _ Runtime = (*fakeRuntime)(nil)
var _ Tidier = (*fakeRuntime)(nil)

func newFake() *fakeRuntime {
	return &fakeRuntime{secrets: map[string][]byte{}, broken: map[string]string{}, removeErr: map[string]error{}, logs: map[string][]string{}}
}

func (f *fakeRuntime) note(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.journal = append(f.journal, fmt.Sprintf(format, args...))
}

// events is the journal so far.
func (f *fakeRuntime) events() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.journal)
}

// reset empties the journal.
func (f *fakeRuntime) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.journal = nil
}

// revisions lists the revisions that have replicas, sorted.
func (f *fakeRuntime) revisions(app string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.replicas {
		if r.App == app && !slices.Contains(out, r.Revision) {
			out = append(out, r.Revision)
		}
	}
	sort.Strings(out)
	return out
}

// add puts a replica in place, as a command that was killed left it.
func (f *fakeRuntime) add(r Replica) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ids++
	if r.ID == "" {
		r.ID = fmt.Sprintf("c%d", f.ids)
	}
	f.replicas = append(f.replicas, r)
}

func (f *fakeRuntime) Start(ctx context.Context, rel Release) error {
	f.note("start %s ×%d", rel.Revision, rel.Spec.Replicas)
	label := rel.Spec
	label.Secrets = map[string]string{}
	for k := range rel.Spec.Secrets {
		label.Secrets[k] = "" // as the engine's labels: names only
	}
	for i := 0; i < rel.Spec.Replicas; i++ {
		spec := label
		f.add(Replica{Name: fmt.Sprintf("pyship-%s-%d", rel.Revision, i), App: rel.App, Revision: rel.Revision,
			Index: fmt.Sprint(i), State: "created", Running: true, Created: time.Now(), Spec: &spec})
		if f.startErr != nil {
			return f.startErr
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, v := range rel.Secrets {
		f.secrets[rel.App+"/"+rel.Revision+"/"+k] = v
	}
	return nil
}

func (f *fakeRuntime) Ready(ctx context.Context, rel Release, timeout time.Duration, status func(int, string)) error {
	f.note("ready %s", rel.Revision)
	if f.onReady != nil {
		f.onReady(rel)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if why, ok := f.broken[rel.Spec.Image]; ok {
		status(0, "it answers 500")
		return &DeployError{Revision: rel.Revision, Diagnosis: why, Logs: "Traceback (most recent call last):\n" + why}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	i := 0
	for j := range f.replicas {
		if r := &f.replicas[j]; r.App == rel.App && r.Revision == rel.Revision {
			r.State, r.Serving = "running", true
			status(i, "")
			i++
		}
	}
	return nil
}

func (f *fakeRuntime) Route(ctx context.Context, apps map[string]Traffic) error {
	var parts []string
	for _, name := range sortedKeys(apps) {
		var ws []string
		for _, rev := range sortedKeys(apps[name].Weights) {
			ws = append(ws, fmt.Sprintf("%s=%d", rev, apps[name].Weights[rev]))
		}
		parts = append(parts, name+":"+strings.Join(ws, ","))
	}
	f.note("route %s", strings.Join(parts, " "))
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes = map[string]Traffic{}
	for k, t := range apps {
		t.Weights = maps.Clone(t.Weights)
		f.routes[k] = t
	}
	return nil
}

func (f *fakeRuntime) Routed(ctx context.Context, app string) (map[string]int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.routes == nil {
		return nil, errors.New("no router")
	}
	return maps.Clone(f.routes[app].Weights), nil
}

func (f *fakeRuntime) Drain(ctx context.Context, app string, revs []string, timeout time.Duration) error {
	f.note("drain %s", strings.Join(revs, ","))
	f.mu.Lock()
	f.drained = timeout
	gate := f.drainGate
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-time.After(timeout):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (f *fakeRuntime) Remove(ctx context.Context, app, rev string, grace time.Duration) error {
	f.note("remove %s grace=%s", rev, grace)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.removeErr[rev]; err != nil {
		return err
	}
	f.replicas = slices.DeleteFunc(f.replicas, func(r Replica) bool { return r.App == app && r.Revision == rev })
	return nil
}

func (f *fakeRuntime) List(ctx context.Context, app string) ([]Replica, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Replica
	for _, r := range f.replicas {
		if app == "" || r.App == app {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (f *fakeRuntime) Logs(ctx context.Context, r Replica, o LogOptions, w io.Writer) error {
	f.mu.Lock()
	lines := f.logs[r.Name]
	f.mu.Unlock()
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
	return nil
}

func (f *fakeRuntime) Exec(ctx context.Context, rel Release, o ExecOptions) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.execs = append(f.execs, rel)
	return 3, nil
}

func (f *fakeRuntime) Secret(ctx context.Context, app, rev, key string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.secrets[app+"/"+rev+"/"+key]
	if !ok {
		return nil, errors.New("no running replica")
	}
	return v, nil
}

func (f *fakeRuntime) Tidy(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tidied++
	return nil
}

// newPlatform is a platform on a real store in a temporary directory and a fake
// runtime.
func newPlatform(t *testing.T) (*Platform, *fakeRuntime) {
	t.Helper()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := newFake()
	var mu sync.Mutex
	done := false
	t.Cleanup(func() { mu.Lock(); done = true; mu.Unlock() })
	return &Platform{Store: st, Runtime: f, Log: func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if !done {
			t.Logf(format, args...)
		}
	}}, f
}

// newApp stores an app "web" of image with one replica.
func newApp(t *testing.T, p *Platform, image string) *store.App {
	t.Helper()
	a := &store.App{Name: "web", Image: image, Port: 8000, Probe: "/", Replicas: 1, Env: map[string]string{}, Secrets: map[string]string{}, Created: time.Now()}
	if err := p.Store.Put(a); err != nil {
		t.Fatal(err)
	}
	return a
}

// revName is the revision the app's current settings make.
func revName(a *store.App) string {
	s := a.Spec()
	s.Replicas = max(1, s.Replicas)
	return a.Name + "--" + s.Hash()
}

// deploy deploys image as the app's new settings and fails the test on error.
func deploy(t *testing.T, p *Platform, a *store.App, image string) string {
	t.Helper()
	a.Image = image
	r, _, err := p.Deploy(context.Background(), a)
	if err != nil {
		t.Fatalf("deploy %s: %v", image, err)
	}
	return r.Name
}

// stored reads the app back from the store.
func stored(t *testing.T, p *Platform, name string) *store.App {
	t.Helper()
	a, err := p.Store.Get(name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
