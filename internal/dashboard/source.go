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
	// Logs follows the app's replicas' output, each line to emit, until ctx ends.
	Logs(ctx context.Context, name string, tail int, emit func(LogLine) error) error
	Rollback(ctx context.Context, name, revision string) error
	Scale(ctx context.Context, name string, replicas int) error
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
	Result    string         `json:"last_result"`
	Traffic   map[string]int `json:"traffic"`
	Revisions []Revision     `json:"revisions,omitempty"`
	Replicas  []Replica      `json:"replica_list,omitempty"`
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

// LogLine is one line an app printed.
type LogLine struct {
	Time     string `json:"time"`
	Revision string `json:"revision"`
	Replica  string `json:"replica"`
	Message  string `json:"message"`
}
