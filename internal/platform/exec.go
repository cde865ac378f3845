package platform

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/pyship/pyship/internal/store"
)

// LabelExec marks a one-off container of an app (pyship exec): it is not a replica, so
// it carries none of the replica labels that listing, routing and reconciling read.
const LabelExec = "pyship.exec.app"

// ExecOptions describe a one-off command.
type ExecOptions struct {
	Revision string    // default: the live revision (the one with the most traffic in a split)
	Argv     []string  // the command and its arguments
	Stdin    io.Reader // nil: no input
	Stdout   io.Writer
	Stderr   io.Writer
}

// Exec runs a command once in a new container of a revision: its image, settings and
// secrets, on pyship's network, without a published port and without traffic — the
// way to run migrations and other release steps (Container Apps jobs, Heroku's
// one-off dynos), never inside a serving replica. It returns the command's exit code.
func (p *Platform) Exec(ctx context.Context, app *store.App, o ExecOptions) (int, error) {
	if len(o.Argv) == 0 {
		return -1, errors.New("no command to run: pyship exec NAME -- COMMAND [ARG...]")
	}
	rev, err := execRevision(app, o.Revision)
	if err != nil {
		return -1, err
	}
	rel, err := p.release(app, rev.Name, rev.Spec)
	if err != nil {
		return -1, err
	}
	return p.rt().Exec(ctx, rel, o)
}

// execRevision is the revision a one-off command runs: the one named, else the live one,
// else in a traffic split the one with the largest share.
func execRevision(app *store.App, name string) (*store.Revision, error) {
	if name != "" {
		r := app.Revision(name)
		if r == nil {
			return nil, fmt.Errorf("app %s has no revision %s (pyship revisions %s)", app.Name, name, app.Name)
		}
		return r, nil
	}
	live, best := app.Live, -1
	for rev, w := range app.Traffic {
		if w > best || (w == best && rev > live) {
			live, best = rev, w
		}
	}
	if r := app.Revision(live); r != nil && live != "" {
		return r, nil
	}
	return nil, fmt.Errorf("app %s has no serving revision to run the command in: deploy it first (or name one with --revision)", app.Name)
}
