package platform

import (
	"context"
	"io"
	"time"

	"github.com/pyship/pyship/internal/store"
)

// Runtime is where an app's replicas run: the local Docker engine behind pyship's
// gateway (dockerRuntime), and later a Kubernetes cluster (a Deployment per revision,
// readiness from the API, a Service that moves) or Azure Container Apps (its own
// revisions and traffic weights).
//
// The revision state machine (Deploy, Rollback, SetTraffic, Reconcile, Down) makes
// every decision: which revision runs, the order of start, health gate, switch, drain
// and stop, how long each may take, what is kept when something fails, and what the
// store records. A Runtime carries out one step at a time for one revision and reports
// what it sees; it never reads or writes the store, so the state machine is tested
// against an in-memory Runtime and every target means the same thing.
type Runtime interface {
	// Start creates rel's replicas (rel.Spec.Replicas of them) with its environment and
	// secrets, and starts them. They take no traffic until Route names their revision.
	// On error some replicas may exist: the caller removes the revision.
	Start(ctx context.Context, rel Release) error
	// Ready waits until every replica of rel answers (its probe, its readiness), and
	// reports each one's state through status as it changes ("" once it is ready). It
	// returns a *DeployError with a diagnosis and the replica's last log lines as soon
	// as one cannot become ready (it crashed, listens in the wrong place), or once
	// timeout has passed.
	Ready(ctx context.Context, rel Release, timeout time.Duration, status func(replica int, state string)) error
	// Route sends each app's requests as its Traffic says. apps holds every app of the
	// state directory, so that a runtime with one router for all (the local gateway)
	// can rebuild its whole table; an app left out has been removed.
	Route(ctx context.Context, apps map[string]Traffic) error
	// Routed is the share of app's requests each revision gets now, as the router
	// (not the store) has it; nil when the router does not know the app.
	Routed(ctx context.Context, app string) (map[string]int, error)
	// Drain waits until no request routed to revs is in flight any more, or timeout.
	Drain(ctx context.Context, app string, revs []string, timeout time.Duration) error
	// Remove stops every replica of the revision, each given grace to finish (none: at
	// once), and removes it with its secrets.
	Remove(ctx context.Context, app, rev string, grace time.Duration) error
	// List lists app's replicas of every revision, sorted by name; app "" lists those
	// of every app of the state directory.
	List(ctx context.Context, app string) ([]Replica, error)
	// Logs copies one replica's output to w, one line at a time, each line starting
	// with its RFC 3339 timestamp and a space.
	Logs(ctx context.Context, r Replica, o LogOptions, w io.Writer) error
	// Exec runs a command once beside rel's replicas (its image, environment and
	// secrets; no traffic) and returns its exit code.
	Exec(ctx context.Context, rel Release, o ExecOptions) (int, error)
	// Secret reads back the value of secret key that the revision's replicas run with:
	// after the state directory is lost, the runtime is the only place it is left.
	Secret(ctx context.Context, app, rev, key string) ([]byte, error)
}

// Tidier is a Runtime that keeps things beside replicas (the local engine: secret
// copies on the host made by an older pyship, probe containers of killed commands).
// The state machine calls Tidy after it removes replicas and when it reconciles.
type Tidier interface {
	Tidy(ctx context.Context) error
}

// Purger is a Runtime that keeps objects of an app beyond its replicas (Kubernetes:
// Deployments scaled to nothing, Secrets, the Service): Down calls Purge last, so that
// nothing of the app is left.
type Purger interface {
	Purge(ctx context.Context, app string) error
}

// Release is one revision of an app as a Runtime runs it.
type Release struct {
	App      string
	Revision string // APP--HASH
	Spec     store.Spec
	Env      []string          // KEY=VALUE: the settings and PORT, never a secret
	Secrets  map[string][]byte // name → value; the runtime delivers them out of sight
}

// Replica is one running copy of a revision, as a Runtime reports it.
type Replica struct {
	ID       string // the runtime's handle
	Name     string // for people
	App      string
	Revision string
	Index    string // its number within the revision
	State    string // the runtime's word for it: running, restarting, exited…
	// Running: up, or being restarted by the runtime; its revision still runs.
	Running bool
	// Serving: up with an address the router can send requests to.
	Serving bool
	Created time.Time
	// Restarts counts the runtime's restarts of the replica (0 where unknown).
	Restarts int
	// Spec is the revision's spec as the replica carries it, secret values' digests
	// left out (nil: unreadable, e.g. made by an older pyship).
	Spec *store.Spec
}

// Traffic is how an app's requests are shared between its revisions.
type Traffic struct {
	Weights map[string]int // revision → share; only revisions that are Ready
	// Newest and NewestState name the app's newest revision and its state: when
	// nothing serves, the router says why (503 naming it) instead of "no such app".
	Newest, NewestState string
	// Host is a public host name the target routes to the app besides its own address
	// (Kubernetes: an Ingress rule); the local gateway routes NAME.localhost only.
	Host string
}

// rt is the runtime the platform runs replicas on: Runtime if set, else the local
// engine.
func (p *Platform) rt() Runtime {
	if p.Runtime != nil {
		return p.Runtime
	}
	return p.docker()
}

// tidy lets the runtime remove what it keeps beside replicas, if it keeps anything.
func (p *Platform) tidy(ctx context.Context) error {
	if t, ok := p.rt().(Tidier); ok {
		return t.Tidy(ctx)
	}
	return nil
}
