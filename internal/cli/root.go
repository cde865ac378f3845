// Package cli is pyship's command tree: thin cobra commands that validate flags, call one
// library function and render its result as text or JSON.
package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X github.com/pyship/pyship/internal/cli.Version=…".
var Version = "0.1.0-dev"

type globals struct {
	json bool
	dir  string
}

// Execute runs pyship with args and returns the process exit code.
func Execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return ExecuteWithInput(ctx, args, os.Stdin, stdout, stderr)
}

// ExecuteWithInput is Execute with a given standard input (secret values are read
// from it).
func ExecuteWithInput(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	g := &globals{}
	root := newRoot(g)
	root.SetArgs(optionalValueArgs(root, args))
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	path := ""
	if cmd != nil {
		path = cmd.CommandPath()
	}
	return reportError(stderr, err, g.json || jsonRequested(args), path)
}

const rootLong = `pyship takes a Python web project from source to a running container: it detects the
project (Django, Flask, FastAPI, any WSGI/ASGI app), writes its container files, checks
them, builds its image without a Docker daemon, and runs and deploys it on the local
Docker engine behind its own gateway.

Conventions, as in docker and kubectl:
  DIR       the project, an optional first argument (default ".", or -C DIR)
  NAME      the deployed app, the first argument of every command that acts on one
            (pyship logs NAME, pyship env set NAME KEY=VALUE; --app NAME works too);
            deploy, which takes a DIR, names it --app
  -f        --file (a Dockerfile: build, check), --follow on logs, as docker does
  --json    machine-readable output on stdout (run and logs: one object per line,
            JSON Lines); a failure ends stderr with one JSON line:
            {"error":{"code":"usage","message":"…","exit_code":2}}
            codes: usage, ambiguous_project, no_project, unsupported_project, not_found, conflict,
            deploy_failed, engine_unreachable, findings, skipped, interrupted, error;
            on Kubernetes also kubeconfig, cluster_unreachable, cluster_untrusted,
            unauthorized, forbidden

Exit status:
  0    success
  1    failure (check: error-level findings)
  2    usage: unknown command or flag, wrong arguments, a value that is not valid
       (nothing was done); init: a file exists and was kept (--force overwrites it);
       check: check itself could not run
  3    detection refused: the project is ambiguous or not found (the message names
       the flag or pyship.toml setting that settles it), or of a kind pyship does not
       containerize (an Azure Functions app)
  130  interrupted (Ctrl-C); nothing half-written is left`

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "pyship",
		Short: "Take a Python web project from source to a running, production-grade container",
		Long:  rootLong,
		Example: `  pyship detect                 # what pyship understands of the project here
  pyship detect ./myapp --json  # the same as JSON, for scripts
  pyship init                   # write Dockerfile, .dockerignore and compose.yaml
  pyship check                  # find baked-in secrets, root users, dev servers...
  pyship run                    # build and run it here, like docker run
  pyship deploy --app shop      # a health-gated revision at http://shop.localhost:8080/
  pyship logs shop -f`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// An unknown command is a usage error (exit 2); cobra's default for a root
		// command without Args printed help and exited 0 for some of them.
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return unknownCommand(cmd, args[0])
		},
	}
	root.PersistentFlags().BoolVar(&g.json, "json", false, "print machine-readable JSON (errors as one JSON line on stderr)")
	root.PersistentFlags().StringVarP(&g.dir, "directory", "C", "", "run as if pyship was started in `DIR`")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usage(err) })
	root.AddCommand(newVersion(g), newDetect(g), newInit(g), newCheck(g), newBuild(g), newLock(g),
		newDeploy(g), newRender(g), newExec(g), newEnv(g), newSecret(g), newRevisions(g), newRollback(g), newScale(g), newTraffic(g), newLs(g), newStatus(g), newLogs(g), newDown(g), newGateway(g), newRun(g), newDashboard(g))
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	enforceUsage(root)
	return root
}

func newVersion(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print pyship's version",
		Example: "  pyship version\n  pyship version --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if g.json {
				return writeJSON(cmd.OutOrStdout(), map[string]string{"version": Version})
			}
			fmt.Fprintln(cmd.OutOrStdout(), "pyship "+Version)
			return nil
		},
	}
}

// projectDir resolves the project directory from -C and an optional positional DIR.
func (g *globals) projectDir(args []string) (string, error) {
	dir := "."
	if g.dir != "" {
		dir = g.dir
	}
	if len(args) > 0 {
		if filepath.IsAbs(args[0]) {
			dir = args[0]
		} else {
			dir = filepath.Join(dir, args[0])
		}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return "", err
	}
	if !st.IsDir() {
		return "", fmt.Errorf("%s is not a directory", dir)
	}
	return abs, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
