package cli

import (
	"context"
	"io"

	"github.com/pyship/pyship/internal/platform"
	"github.com/pyship/pyship/internal/store"
	"github.com/spf13/cobra"
)

// execFlags are pyship exec's options.
type execFlags struct {
	revision    string
	interactive bool
}

func newExec(g *globals) *cobra.Command {
	var f execFlags
	cmd := appCmd(g, "exec NAME -- COMMAND [ARG...]", "Run a one-off command (migrations, a shell) in a new container of the app's live revision",
		`exec starts a new container of the app's live revision — its image, settings and
secrets, on pyship's network, with no port and no traffic — runs COMMAND in it, streams
its output, and exits with its exit code. The container is removed when the command
ends. This is where release steps belong (Django's migrate, Flask-Migrate's upgrade):
run once per release, never in the image's command, where every replica start would
race the others.

--revision runs it in another revision (e.g. a new one before traffic moves to it).
-i passes standard input to the command.`,
		`  pyship exec shop -- python manage.py migrate
  pyship exec shop --revision shop--3f2a9c1d -- flask db upgrade
  echo "print(1)" | pyship exec shop -i -- python -`,
		cobra.MinimumNArgs(2),
		func(c *cobra.Command) {
			c.Flags().StringVar(&f.revision, "revision", "", "run in revision `REV` instead of the live one")
			c.Flags().BoolVarP(&f.interactive, "interactive", "i", false, "pass standard input to the command")
		},
		func(ctx context.Context, p *platform.Platform, app *store.App, args []string, cmd *cobra.Command) error {
			var stdin io.Reader
			if f.interactive {
				stdin = cmd.InOrStdin()
			}
			code, err := p.Exec(ctx, app, platform.ExecOptions{Revision: f.revision, Argv: args,
				Stdin: stdin, Stdout: cmd.OutOrStdout(), Stderr: cmd.ErrOrStderr()})
			if err != nil {
				return interrupted(ctx, err)
			}
			if code != 0 {
				return exitError{code: code} // the command's own status, as docker run gives it
			}
			return nil
		}, false)
	return cmd
}
