package platform

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/pyship/pyship/internal/engine"
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
	spec := rev.Spec
	env, err := p.env(app, spec)
	if err != nil {
		return -1, err
	}
	files, entrypoint, _, err := p.secretFiles(ctx, app, spec)
	if err != nil {
		return -1, err
	}
	cmd := o.Argv
	if entrypoint == nil {
		// The command replaces the image's entrypoint too, as docker run --entrypoint.
		entrypoint, cmd = o.Argv[:1], o.Argv[1:]
	}
	if _, err := p.Engine.EnsureNetwork(ctx, NetworkName, map[string]string{"pyship.network": "1"}); err != nil {
		return -1, err
	}
	suffix := make([]byte, 4)
	rand.Read(suffix)
	return p.Engine.RunOnce(ctx, engine.CreateOptions{
		Name:       fmt.Sprintf("pyship-exec-%s-%s", rev.Name, hex.EncodeToString(suffix)),
		Image:      spec.Image,
		Entrypoint: entrypoint,
		Cmd:        cmd,
		Env:        env,
		Files:      files,
		Labels:     map[string]string{LabelState: p.StateID(), LabelExec: app.Name, "pyship.exec.revision": rev.Name},
		Network:    NetworkName,
		Restart:    "no",
		AutoRemove: true, // a pyship killed mid-command leaves nothing once it ends
	}, o.Stdin, o.Stdout, o.Stderr)
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
