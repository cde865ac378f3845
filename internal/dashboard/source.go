// Package dashboard is pyship's local web page: every app of a state directory, its
// revisions, traffic, replicas and live logs, and the actions the CLI has (rollback,
// scale, traffic), behind a per-run token on loopback.
package dashboard

import (
	"context"
	"errors"
	"time"
)

// Source is what the page reads and does. The command line implements it with its
// commands' own code paths (the same lock, reconcile and health gate as pyship
// rollback); the tests with an in-memory one. Nothing it returns holds a secret value:
// the view types have no field for one.
type Source interface {
	Apps(ctx context.Context) ([]App, error)
	// App is one app with its revisions and replicas; ErrNoApp when there is none.
	App(ctx context.Context, name string) (*App, error)
	// Logs follows the app's replicas' output, each line to emit, until ctx ends: the
	// last tail lines of each replica first (0: none, only new ones).
	Logs(ctx context.Context, name string, tail int, emit func(LogLine) error) error
	// Stats samples the app's replicas' CPU and memory (by replica name; an app that
	// runs elsewhere may have none). It takes about a second: the page asks for it
	// after it is shown.
	Stats(ctx context.Context, name string) (map[string]ReplicaStats, error)
	Rollback(ctx context.Context, name, revision string) error
	Scale(ctx context.Context, name string, replicas int) error
	// Restart restarts one replica in place (the gateway sends requests to the others
	// meanwhile).
	Restart(ctx context.Context, name, replica string) error
	SetTraffic(ctx context.Context, name string, weights map[string]int) error
}

// ErrNoApp is an app the state directory does not have.
var ErrNoApp = errors.New("no such app")

// App is an app as the page shows it.
type App struct {
	Name     string    `json:"name"`
	URL      string    `json:"url"`
	Target   string    `json:"target"`
	Live     string    `json:"live"`
	Desired  int       `json:"replicas_desired"`
	Ready    int       `json:"replicas_ready"`
	Deployed time.Time `json:"last_deploy"`
	// Result is the newest revision's state: ready, failed, provisioning.
	Result  string         `json:"last_result"`
	Traffic map[string]int `json:"traffic"`
	// PerSecond and ErrorRate are its requests over the last minute, as the gateway
	// counted them (Measured false: no count, e.g. the gateway does not answer or the
	// app runs elsewhere).
	PerSecond float64    `json:"requests_per_second"`
	ErrorRate float64    `json:"error_rate"`
	Measured  bool       `json:"measured"`
	Revisions []Revision `json:"revisions,omitempty"`
	Replicas  []Replica  `json:"replica_list,omitempty"`
	// Actions says whether the page may act on it (an Azure app: deploy from the CLI).
	Actions bool `json:"actions"`
}

// Revision is one revision, newest first in App.Revisions.
type Revision struct {
	Name     string    `json:"name"`
	State    string    `json:"state"`
	Image    string    `json:"image"`
	Created  time.Time `json:"created"`
	Replicas int       `json:"replicas"`
	Traffic  int       `json:"traffic"`
	// Changes say what differs from the revision before it: the code (image), a
	// setting (its name and new value), a secret (its name only), the scale.
	Changes []string `json:"changes"`
	Reason  string   `json:"reason,omitempty"`
}

// Replica is one running copy of a revision.
type Replica struct {
	Name     string    `json:"name"`
	Revision string    `json:"revision"`
	State    string    `json:"state"`
	Ready    bool      `json:"ready"`
	Restarts int       `json:"restarts"`
	Created  time.Time `json:"created"`
}

// ReplicaStats is one replica's use of the machine.
type ReplicaStats struct {
	CPUPercent  float64 `json:"cpu_percent"`
	MemoryBytes uint64  `json:"memory_bytes"`
	MemoryLimit uint64  `json:"memory_limit"`
}

// LogLine is one line an app printed.
type LogLine struct {
	Time     string `json:"time"`
	Revision string `json:"revision"`
	Replica  string `json:"replica"`
	Message  string `json:"message"`
}
