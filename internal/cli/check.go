package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/pyship/pyship/internal/buildctx"
	"github.com/pyship/pyship/internal/check"
	"github.com/spf13/cobra"
)

func newCheck(g *globals) *cobra.Command {
	var f detectFlags
	var dockerfile string
	cmd := &cobra.Command{
		Use:   "check [DIR]",
		Short: "Find baked-in secrets, root users, dev servers and other faults in a container setup",
		Long: `check reads the Dockerfile (with BuildKit's parser), the build context (filtered by
.dockerignore with Docker's own matcher) and the project's Plan, and reports findings with
a stable ID, a severity and a one-line fix:

  PS001 secret-in-env        PS007 bind-localhost       PS013 pip-cache
  PS002 secret-in-arg        PS008 port-mismatch        PS014 django-debug
  PS003 secret-in-context    PS009 shell-form-cmd       PS015 django-allowed-hosts
  PS004 copy-before-install  PS010 unpinned-base        PS016 no-dockerignore
  PS005 root-user            PS011 eol-python           PS017 venv-in-context
  PS006 dev-server           PS012 no-pythonunbuffered  PS018 migrate-in-cmd

Exit status: 0 without error-level findings, 1 with any, 2 when check itself fails.`,
		Example: `  pyship check
  pyship check ./myapp --json
  pyship check --file docker/Dockerfile.prod`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := g.projectDir(args)
			if err != nil {
				return err
			}
			in := &check.Input{Dir: dir, Now: time.Now()}
			var notes []string
			if p, err := f.detect(dir); err == nil {
				in.Plan = p
				in.Dir = filepath.Join(dir, filepath.FromSlash(p.Context))
			} else {
				notes = append(notes, "project rules skipped: "+err.Error())
			}
			dfPath := dockerfile
			if dfPath == "" {
				dfPath = filepath.Join(in.Dir, "Dockerfile")
			} else if !filepath.IsAbs(dfPath) {
				dfPath = filepath.Join(in.Dir, dfPath)
			}
			data, err := os.ReadFile(dfPath)
			switch {
			case err == nil:
				rel, _ := filepath.Rel(in.Dir, dfPath)
				if in.Dockerfile, err = check.ParseDockerfile(filepath.ToSlash(rel), data); err != nil {
					return exitWith(2, err)
				}
			case errors.Is(err, fs.ErrNotExist) && dockerfile == "":
				notes = append(notes, "no Dockerfile: Dockerfile rules skipped (pyship init writes one)")
			default:
				return exitWith(2, err)
			}
			if in.Context, err = buildctx.Open(in.Dir); err != nil {
				return exitWith(2, err)
			}
			findings := check.Run(in)
			out := cmd.OutOrStdout()
			if g.json {
				if findings == nil {
					findings = []check.Finding{}
				}
				if err := writeJSON(out, map[string]any{"dir": in.Dir, "findings": findings, "notes": notes, "errors": check.HasErrors(findings)}); err != nil {
					return err
				}
			} else {
				for _, n := range notes {
					fmt.Fprintln(cmd.ErrOrStderr(), "note: "+n)
				}
				counts := map[check.Severity]int{}
				for _, fd := range findings {
					counts[fd.Severity]++
					loc := fd.File
					if fd.Line > 0 {
						loc = fmt.Sprintf("%s:%d", fd.File, fd.Line)
					}
					if loc != "" {
						loc += ": "
					}
					fmt.Fprintf(out, "%-7s %s %s%s\n        fix: %s\n", fd.Severity, fd.ID, loc, fd.Message, fd.Fix)
				}
				fmt.Fprintf(out, "%d errors, %d warnings\n", counts[check.Error], counts[check.Warning])
			}
			if check.HasErrors(findings) {
				return exitError{code: 1}
			}
			return nil
		},
	}
	f.bind(cmd)
	cmd.Flags().StringVarP(&dockerfile, "file", "f", "", "the Dockerfile `path` (default DIR/Dockerfile)")
	return cmd
}

// exitWith prints err and exits with code.
func exitWith(code int, err error) error {
	return &codedError{code: code, err: err}
}

type codedError struct {
	code int
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }
