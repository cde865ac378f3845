package cli

import (
	"fmt"
	"io"

	"github.com/pyship/pyship/internal/platform"
	"github.com/spf13/cobra"
)

// execFlags are pyship exec's options.
type execFlags struct {
	revision    string
	interactive bool
}

func newExec(g *globals) *cobra.Command {
	var f execFlags
	return appCommand{use: "exec NAME -- COMMAND [ARG...]",
		short: "Run a one-off command (migrations, a shell) in a new container of the app's live revision",
		long: `exec starts a new container of the app's live revision — its image, settings and
secrets, on pyship's network, with no port and no traffic — runs COMMAND in it, streams
its output, and exits with its exit code. The container is removed when the command
ends. This is where release steps belong (Django's migrate, Flask-Migrate's upgrade):
run once per release, never in the image's command, where every replica start would
race the others.

--revision runs it in another revision (e.g. a new one before traffic moves to it).
-i passes standard input to the command. Flags for pyship go before the "--".`,
		example: `  pyship exec shop -- python manage.py migrate
  pyship exec shop --revision shop--3f2a9c1d -- flask db upgrade
  echo "print(1)" | pyship exec shop -i -- python -`,
		// The command follows "--", so that its own flags are never read as pyship's
		// (pyship exec shop -- python -c ... would otherwise fail on -c).
		args: func(cmd *cobra.Command, rest []string) error {
			dash := cmd.ArgsLenAtDash()
			if dash < 0 || dash > 1 || len(rest) == 0 {
				return fmt.Errorf("put the command after --: %s", cmd.UseLine())
			}
			return nil
		},
		flags: func(c *cobra.Command) {
			c.Flags().StringVar(&f.revision, "revision", "", "run in revision `REV` instead of the live one")
			c.Flags().BoolVarP(&f.interactive, "interactive", "i", false, "pass standard input to the command")
		},
		run: func(c *appCall) error {
			var stdin io.Reader
			if f.interactive {
				stdin = c.cmd.InOrStdin()
			}
			code, err := c.p.Exec(c.ctx, c.app, platform.ExecOptions{Revision: f.revision, Argv: c.args,
				Stdin: stdin, Stdout: c.out(), Stderr: c.cmd.ErrOrStderr()})
			if err != nil {
				return interrupted(c.ctx, err)
			}
			if code != 0 {
				return exitError{code: code} // the command's own status, as docker run gives it
			}
			return nil
		}}.command()
}
