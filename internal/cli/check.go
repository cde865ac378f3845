package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/pyship/pyship/internal/base"
	"github.com/pyship/pyship/internal/build"
	"github.com/pyship/pyship/internal/buildctx"
	"github.com/pyship/pyship/internal/check"
	"github.com/pyship/pyship/internal/engine"
	"github.com/pyship/pyship/internal/imageref"
	"github.com/pyship/pyship/internal/projectfs"
	"github.com/pyship/pyship/internal/scaffold"
	"github.com/spf13/cobra"
)

func newCheck(g *globals) *cobra.Command {
	var f detectFlags
	var dockerfile, image string
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

With --image REF, check looks at a built image instead — its config, history and every
layer, including files a later layer deletes:

  PI001 secret-in-image-env  PI004 root-user       PI007 port-mismatch
  PI002 secret-in-history    PI005 dev-server      PI008 no-pythonunbuffered
  PI003 secret-file-in-layer PI006 bind-localhost  PI009 eol-python

REF is an image in the local engine, or docker:REF, registry:REF, oci:DIR, tar:FILE.

Exit status: 0 without error-level findings, 1 with any, 2 on a usage error or when
check itself cannot run (an unreadable Dockerfile or image), 3 when the project could
not be detected (the project rules did not run; the note says
which flag or pyship.toml setting settles it).`,
		Example: `  pyship check
  pyship check ./myapp --json
  pyship check --file docker/Dockerfile.prod
  pyship check --image myapp:latest
  pyship check --image registry.example.com/team/myapp:1.2 --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if image != "" {
				if err := normalizeImageArg(&image); err != nil {
					return usage(fmt.Errorf("--image: %w", err))
				}
				img, err := openImageForCheck(cmd.Context(), image)
				if err != nil {
					return exitWith(2, err)
				}
				return report(cmd, g, map[string]any{"image": image}, check.RunImage(img, time.Now()), nil)
			}
			dir, err := g.projectDir(args)
			if err != nil {
				return err
			}
			in := &check.Input{Dir: dir, Now: time.Now()}
			var notes []string
			p, detectErr := f.detect(dir)
			var ue *usageError
			if errors.As(detectErr, &ue) {
				return detectErr // a bad flag, not a refusal
			}
			if detectErr == nil {
				in.Plan = p
				in.Dir = filepath.Join(dir, filepath.FromSlash(p.Context))
			} else {
				notes = append(notes, "project rules skipped: "+detectErr.Error())
			}
			// -f PATH is read as docker build -f reads it: relative to the current
			// directory (or -C DIR); the default is the build context's Dockerfile.
			shown := "Dockerfile"
			var data []byte
			if dockerfile == "" {
				data, err = projectfs.ReadFile(in.Dir, "Dockerfile")
			} else {
				var dfPath string
				if dfPath, err = g.userPath(dockerfile); err != nil {
					return err
				}
				shown = dockerfile
				if rel, rerr := filepath.Rel(in.Dir, dfPath); rerr == nil && filepath.IsLocal(rel) {
					shown = rel
				}
				data, err = readUserFile(dfPath, maxDockerfile) // the file the user named
			}
			switch {
			case err == nil:
				if in.Dockerfile, err = check.ParseDockerfile(filepath.ToSlash(shown), data); err != nil {
					return exitWith(2, err)
				}
			case errors.Is(err, fs.ErrNotExist) && dockerfile == "":
				notes = append(notes, "no Dockerfile: Dockerfile rules skipped (pyship init writes one)")
			default:
				return exitWith(2, err)
			}
			// Without a Dockerfile the image comes from pyship build, which leaves out
			// what pyship's default rules name when the project has no .dockerignore.
			var defaults []string
			if in.Dockerfile == nil {
				defaults = scaffold.IgnorePatterns()
			}
			if in.Context, err = buildctx.OpenWithDefault(in.Dir, defaults); err != nil {
				return exitWith(2, err)
			}
			err = report(cmd, g, map[string]any{"dir": in.Dir}, check.Run(in), notes)
			if err == nil && detectErr != nil {
				// A CI gate must not pass when half the rules could not run.
				_, code := classify(detectErr)
				return exitError{code: exitUndetected, kind: code, message: "project rules skipped: " + detectErr.Error()}
			}
			return err
		},
	}
	f.bind(cmd)
	cmd.Flags().StringVarP(&dockerfile, "file", "f", "", "the Dockerfile `PATH`, relative to the current directory as in docker build -f (default DIR/Dockerfile)")
	cmd.Flags().StringVar(&image, "image", "", "check the built image `REF` instead of the project")
	return cmd
}

// report prints findings as text or JSON and sets the exit status.
func report(cmd *cobra.Command, g *globals, head map[string]any, findings []check.Finding, notes []string) error {
	out := cmd.OutOrStdout()
	if g.json {
		if findings == nil {
			findings = []check.Finding{}
		}
		head["findings"], head["notes"], head["errors"] = findings, notes, check.HasErrors(findings)
		if err := writeJSON(out, head); err != nil {
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
		n := 0
		for _, fd := range findings {
			if fd.Severity == check.Error {
				n++
			}
		}
		return exitError{code: exitFailure, kind: codeFindings, message: fmt.Sprintf("%d error-level finding(s)", n)}
	}
	return nil
}

// openImageForCheck reads an image from the engine (one docker save pass) or from a
// registry, OCI layout or tarball.
func openImageForCheck(ctx context.Context, ref string) (*check.Image, error) {
	ectx, cancel := context.WithTimeout(ctx, 3*time.Second)
	eng, engErr := engine.New(ectx)
	cancel()
	if engErr == nil {
		defer eng.Close()
		name := strings.TrimPrefix(ref, "docker:")
		if _, found, err := eng.Image(ctx, name); err == nil && found && !strings.HasPrefix(ref, "registry:") {
			rc, err := eng.Save(ctx, name)
			if err != nil {
				return nil, err
			}
			defer rc.Close()
			return check.ReadDockerSave(ref, rc)
		}
	}
	if strings.HasPrefix(ref, "docker:") {
		return nil, fmt.Errorf("the Docker engine has no image %s", strings.TrimPrefix(ref, "docker:"))
	}
	b, err := base.Locate(ctx, ref, base.Options{CacheDir: build.DefaultCacheDir()})
	if err != nil {
		return nil, err
	}
	img, err := b.Image(ctx)
	if err != nil {
		return nil, err
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	var ib check.ImageBuilder
	for i, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			return nil, err
		}
		err = ib.AddLayer(i, rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
	}
	return ib.Image(ref, b.Config), nil
}

// normalizeImageArg applies docker's name rules to an engine or registry reference
// (docker:REF, registry:REF or a bare REF): "myapp" is "myapp:latest". oci:DIR and
// tar:FILE are paths and stay as they are.
func normalizeImageArg(ref *string) error {
	if strings.HasPrefix(*ref, "oci:") || strings.HasPrefix(*ref, "tar:") {
		return nil
	}
	prefix, rest := "", *ref
	for _, p := range []string{"docker:", "registry:"} {
		if r, ok := strings.CutPrefix(*ref, p); ok {
			prefix, rest = p, r
		}
	}
	norm, err := imageref.Ref(rest)
	if err != nil {
		return err
	}
	*ref = prefix + norm
	return nil
}
