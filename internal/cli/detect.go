package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/pyship/pyship/internal/plan"
	"github.com/pyship/pyship/internal/projectfs"
	"github.com/spf13/cobra"
)

// detectFlags are the explicit declarations that win over detection.
type detectFlags struct {
	appRoot, entrypoint, framework, server, python, settingsModule string
	port                                                           int
}

func (f *detectFlags) bind(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.appRoot, "app-root", "", "the `folder` that holds the app (monorepos)")
	fl.StringVar(&f.entrypoint, "entrypoint", "", "the app as `module.path:attr` or module:factory()")
	fl.StringVar(&f.framework, "framework", "", "force the framework (django, flask, fastapi, starlette, quart, litestar, falcon, other-wsgi, other-asgi)")
	fl.StringVar(&f.server, "server", "", "the full server `command` (e.g. \"gunicorn -w 4 app:app\")")
	fl.StringVar(&f.python, "python", "", "the Python `version` (e.g. 3.12)")
	fl.IntVar(&f.port, "port", 0, "the port the app listens on")
	fl.StringVar(&f.settingsModule, "settings-module", "", "the Django settings `module` the image runs with (e.g. mysite.settings.production)")
}

func (f *detectFlags) options() (plan.Options, error) {
	switch plan.Framework(f.framework) {
	case "", plan.Django, plan.Flask, plan.FastAPI, plan.Starlette, plan.Quart, plan.Litestar, plan.Falcon, plan.OtherWSGI, plan.OtherASGI:
	default:
		return plan.Options{}, usagef("--framework %q: use django, flask, fastapi, starlette, quart, litestar, falcon, other-wsgi or other-asgi", f.framework)
	}
	if f.port < 0 || f.port > 65535 {
		return plan.Options{}, usagef("--port %d is not a port", f.port)
	}
	if f.python != "" {
		// Refused here, before detection, a build or a stored setting.
		if err := plan.ValidPython(f.python); err != nil {
			return plan.Options{}, fmt.Errorf("--python: %w", err)
		}
	}
	if f.settingsModule != "" {
		if err := plan.ValidModule(f.settingsModule); err != nil {
			return plan.Options{}, usage(fmt.Errorf("--settings-module: %w", err))
		}
	}
	return plan.Options{AppRoot: f.appRoot, Entrypoint: f.entrypoint, Framework: plan.Framework(f.framework),
		Server: f.server, Python: f.python, Port: f.port, SettingsModule: f.settingsModule}, nil
}

// load resolves the project directory from the arguments and detects its Plan.
func (f *detectFlags) load(g *globals, args []string) (string, *plan.Plan, error) {
	dir, err := g.projectDir(args)
	if err != nil {
		return "", nil, err
	}
	p, err := f.detect(dir)
	return dir, p, err
}

// detect runs plan.Detect on dir with the flags.
func (f *detectFlags) detect(dir string) (*plan.Plan, error) {
	opts, err := f.options()
	if err != nil {
		return nil, err
	}
	fsys, err := projectfs.Open(dir)
	if err != nil {
		return nil, err
	}
	defer fsys.Close()
	return plan.Detect(fsys, opts)
}

func newDetect(g *globals) *cobra.Command {
	var f detectFlags
	cmd := &cobra.Command{
		Use:   "detect [DIR]",
		Short: "Show what pyship understands of a Python web project, with the evidence",
		Long: `detect reads the project (never the host's Python) and prints its Plan: framework,
entry point, Python version, dependency files, server command, port, Django settings,
backing services and the environment variables the code reads. Every decision names the
file, line and rule behind it.

When the evidence is missing or ambiguous, detect exits with status 3 and lists the
candidates with the flag, pyship.toml setting or Procfile line that settles it.

Explicit declarations win, in this order: flags, pyship.toml (or [tool.pyship] in
pyproject.toml), the Procfile's web: line, a [project.scripts] entry that starts a server.`,
		Example: `  pyship detect
  pyship detect ./services/api --json
  pyship detect --entrypoint myapp.wsgi:application
  pyship detect --app-root backend
  pyship detect --settings-module mysite.settings.production`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, p, err := f.load(g, args)
			if err != nil {
				return err
			}
			p.Warnings = append(p.Warnings, envWarnings(p, imageAdvice(imageName(dir)), nil)...)
			if g.json {
				return writeJSON(cmd.OutOrStdout(), p)
			}
			printPlan(cmd.OutOrStdout(), p)
			return nil
		},
	}
	f.bind(cmd)
	return cmd
}

func printPlan(w io.Writer, p *plan.Plan) {
	row := func(k, v string) { fmt.Fprintf(w, "%-16s %s\n", k, v) }
	if p.Context != "." {
		row("context", p.Context)
	}
	row("app root", p.AppRoot)
	row("framework", fmt.Sprintf("%s (%s)", p.Framework, strings.ToUpper(p.Interface)))
	entry := p.Entrypoint
	if p.Factory {
		entry += "   (app factory)"
	}
	row("entry point", entry)
	row("python", p.PythonVersion)
	row("dependencies", fmt.Sprintf("%s: %s", p.Dependencies.Manager, strings.Join(p.Dependencies.Files, ", ")))
	row("server", strings.Join(p.Server, " "))
	if p.AddServer {
		row("", fmt.Sprintf("(pyship adds %s: it is not in the dependencies)", p.ServerPackage))
	}
	row("port", fmt.Sprint(p.Port))
	if p.Django != nil {
		row("django settings", p.Django.SettingsModule)
		row("collectstatic", fmt.Sprint(p.Django.Collectstatic))
	}
	if len(p.Services) > 0 {
		var s []string
		for _, x := range p.Services {
			s = append(s, x.Name)
		}
		row("services", strings.Join(s, ", "))
	}
	if len(p.EnvVars) > 0 {
		var s []string
		for _, e := range p.EnvVars {
			n := e.Name
			if e.Secret {
				n += " (secret)"
			}
			s = append(s, n)
		}
		row("env vars", strings.Join(s, ", "))
	}
	fmt.Fprintln(w, "\nevidence:")
	for _, e := range p.Evidence {
		fmt.Fprintln(w, "  "+e.String())
	}
	if len(p.Warnings) > 0 {
		fmt.Fprintln(w, "\nwarnings:")
		for _, x := range p.Warnings {
			fmt.Fprintln(w, "  ! "+x)
		}
	}
}
