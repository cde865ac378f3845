package cli

import (
	"fmt"
	"path/filepath"

	"github.com/pyship/pyship/internal/plan"
	"github.com/pyship/pyship/internal/scaffold"
	"github.com/spf13/cobra"
)

func newInit(g *globals) *cobra.Command {
	var f detectFlags
	var force, dryRun bool
	var base string
	cmd := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Write a Dockerfile, .dockerignore and compose.yaml tailored to the project",
		Long: `init detects the project (as pyship detect does) and writes its container files:

  Dockerfile     two stages: dependencies into /opt/venv first (cached across code
                 changes), then the code; a numeric non-root user; PYTHONUNBUFFERED and
                 PYTHONDONTWRITEBYTECODE; a production server bound to 0.0.0.0:$PORT as
                 PID 1; Django collectstatic at build time without baking in a SECRET_KEY.
                 The package index is a build argument (PIP_INDEX_URL), never hard-coded.
  .dockerignore  keeps .env, keys, .venv and .git out; an existing file is merged into.
  compose.yaml   the app plus the PostgreSQL/MySQL/MongoDB/Redis it needs, wired by env
                 vars; .env is read at run time only.

Existing files are never overwritten without --force.`,
		Example: `  pyship init
  pyship init ./myapp --dry-run
  pyship init --force --base python:3.12-slim-bookworm
  docker build --build-arg PIP_INDEX_URL=https://pypi.example/simple -t myapp .`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, p, err := f.load(g, args)
			if err != nil {
				return err
			}
			ctxDir := filepath.Join(dir, filepath.FromSlash(p.Context))
			files, err := scaffold.Render(ctxDir, p, scaffold.Options{Base: base}, force)
			if err != nil {
				return err
			}
			if !dryRun {
				if err := scaffold.Write(ctxDir, files); err != nil {
					return err
				}
			}
			out := cmd.OutOrStdout()
			if g.json {
				return writeJSON(out, map[string]any{"context": ctxDir, "dry_run": dryRun, "files": files, "warnings": p.Warnings})
			}
			skipped := false
			for _, fl := range files {
				verb := map[string]string{"create": "created", "overwrite": "overwrote", "merge": "merged", "unchanged": "unchanged", "skip": "skipped"}[fl.Action]
				if dryRun {
					verb = "would be " + verb
					if fl.Action == "unchanged" || fl.Action == "skip" {
						verb = fl.Action
					}
				}
				line := fmt.Sprintf("%-14s %s", fl.Name, verb)
				if fl.Reason != "" {
					line += ": " + fl.Reason
				}
				fmt.Fprintln(out, line)
				if dryRun && fl.Action != "unchanged" && fl.Action != "skip" {
					fmt.Fprintf(out, "----- %s -----\n%s\n", fl.Name, fl.Content)
				}
				skipped = skipped || fl.Action == "skip"
			}
			for _, w := range p.Warnings {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning: "+w)
			}
			if !dryRun {
				host := p.Port
				if p.Framework == plan.AzureFunctions {
					host = 7071 // as func start serves it; 80 in the container
				}
				fmt.Fprintf(out, "\nnext: docker build -t %s %s && docker run --rm -p %d:%d %s\n", imageName(ctxDir), ctxDir, host, p.Port, imageName(ctxDir))
			}
			if skipped {
				return exitError{code: exitUsage, kind: codeSkipped, message: "an existing file was kept: --force overwrites it"}
			}
			return nil
		},
	}
	f.bind(cmd)
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing Dockerfile and compose.yaml")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print what would be written and write nothing")
	cmd.Flags().StringVar(&base, "base", "", "the base image `ref` (default python:<version>-slim)")
	return cmd
}

func imageName(dir string) string {
	n := filepath.Base(dir)
	out := []byte{}
	for _, c := range []byte(n) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			out = append(out, c)
		case c >= 'A' && c <= 'Z':
			out = append(out, c+32)
		default:
			out = append(out, '-')
		}
	}
	if len(out) == 0 {
		return "app"
	}
	return string(out)
}
