package cli

import (
	"fmt"
	"path/filepath"

	"github.com/pyship/pyship/internal/atomicfile"
	"github.com/pyship/pyship/internal/base"
	"github.com/pyship/pyship/internal/build"
	"github.com/pyship/pyship/internal/lock"
	"github.com/pyship/pyship/internal/resolve"
	"github.com/spf13/cobra"
)

func newLock(g *globals) *cobra.Command {
	f := &buildFlags{}
	var out string
	cmd := &cobra.Command{
		Use:   "lock [DIR]",
		Short: "Resolve the dependencies for the base image and write pylock.toml (PEP 751)",
		Long: `lock resolves the project's requirements (requirements.txt, pyproject.toml or Pipfile)
for the base image's Python, C library and architecture — backtracking over the versions
the index offers, with markers, extras, pre-release rules, requires-python and yanked
files — and writes the result as pylock.toml with a sha256 for every wheel. pyship build
then installs exactly that, without resolving again. A conflict is explained as the
chain of requirements that causes it.`,
		Example: `  pyship lock
  pyship lock -i http://127.0.0.1:8080/simple --base docker:python:3.12-slim
  pyship lock --json > resolution.json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			pr := newProgress(cmd.ErrOrStderr())
			o, eng, err := f.options(ctx, g, args, pr.logf)
			if err != nil {
				return err
			}
			if eng != nil {
				defer eng.Close()
			}
			in, err := build.ReadManifests(o.Dir, o.Plan, o.Index, o.Pre)
			if err != nil {
				return err
			}
			if o.Base == "" {
				o.Base = build.DefaultBase(o.Plan)
			}
			b, err := base.Open(ctx, o.Base, base.Options{Engine: eng, CacheDir: o.CacheDir, Log: pr.logf})
			if err != nil {
				return err
			}
			pr.logf("resolving for %s: Python %s, %s %s, %s", o.Base, b.Target.Python, b.Target.Libc, b.Target.LibcVersion, b.Target.Machine())
			res, err := resolve.Resolve(ctx, o.Client(in), resolve.Request{Requirements: in.Requirement, Constraints: in.Constraints, Target: b.Target, Pre: in.Pre})
			if err != nil {
				return interrupted(ctx, err)
			}
			var pins []lock.Pinned
			for _, p := range res.Pins {
				pins = append(pins, lock.Pinned{Name: p.Name, Version: p.Version.String(), File: p.File, Requires: p.Requires})
			}
			data, err := lock.Write(pins, b.Target, "")
			if err != nil {
				return err
			}
			if out == "" {
				out = filepath.Join(o.Dir, filepath.FromSlash(o.Plan.Context), "pylock.toml")
			}
			if err := atomicfile.Write(out, data, 0o644); err != nil {
				return err
			}
			if g.json {
				type row struct {
					Name     string   `json:"name"`
					Version  string   `json:"version"`
					File     string   `json:"file"`
					SHA256   string   `json:"sha256"`
					Requires []string `json:"requires"`
				}
				rows := []row{}
				for _, p := range pins {
					rows = append(rows, row{p.Name, p.Version, p.File.Filename, p.File.SHA256(), p.Requires})
				}
				return writeJSON(cmd.OutOrStdout(), map[string]any{"file": out, "target": b.Target, "packages": rows})
			}
			for _, p := range pins {
				fmt.Fprintf(cmd.OutOrStdout(), "%-24s %s\n", p.Name, p.Version)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%d packages)\n", out, len(pins))
			return nil
		},
	}
	f.bindIndex(cmd)
	cmd.Flags().StringVar(&out, "output", "", "write the lock to `FILE` (default pylock.toml in the project)")
	return cmd
}
