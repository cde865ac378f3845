// Package cli is pyship's command tree: thin cobra commands that validate flags, call one
// library function and render its result as text or JSON.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/pyship/pyship/internal/plan"
	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X github.com/pyship/pyship/internal/cli.Version=…".
var Version = "0.1.0-dev"

// exitError carries an exit code without printing anything more.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

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
	root := newRoot()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintln(stderr, "pyship: "+err.Error())
	var ce *codedError
	if errors.As(err, &ce) {
		return ce.code
	}
	var amb *plan.AmbiguousError
	if errors.As(err, &amb) {
		return 3
	}
	return 1
}

func newRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "pyship",
		Short: "Take a Python web project from source to a running, production-grade container",
		Long: `pyship detects a Python web project (Django, Flask, FastAPI, any WSGI/ASGI app),
writes its container files (Dockerfile, .dockerignore, compose.yaml) and checks them.`,
		Example: `  pyship detect                 # what pyship understands of the project here
  pyship detect ./myapp --json  # the same as JSON, for scripts
  pyship init                   # write Dockerfile, .dockerignore and compose.yaml
  pyship check                  # find baked-in secrets, root users, dev servers...`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().BoolVar(&g.json, "json", false, "print machine-readable JSON")
	root.PersistentFlags().StringVarP(&g.dir, "directory", "C", "", "run as if pyship was started in `DIR`")
	root.AddCommand(newVersion(g), newDetect(g), newInit(g), newCheck(g), newBuild(g), newLock(g),
		newDeploy(g), newExec(g), newEnv(g), newSecret(g), newRevisions(g), newRollback(g), newScale(g), newTraffic(g), newLs(g), newStatus(g), newLogs(g), newDown(g), newGateway(g), newRun(g))
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
