package plan

import (
	"fmt"
	"path"
	"strings"
)

// UID is the numeric user images run as (numeric so Kubernetes' runAsNonRoot can verify
// it without reading /etc/passwd).
const UID = 10001

// VenvDir is where the dependencies live in the image.
const VenvDir = "/opt/venv"

// Runtime is how the image runs the app; the Dockerfile pyship init writes and the
// image pyship build assembles both take it from here.
type Runtime struct {
	// Env holds the variables to set, in order; PATH is not among them (each builder
	// puts VenvDir/bin in front of the base image's PATH).
	Env     []string
	WorkDir string
	// Shell is the command line run by /bin/sh -c: "exec" replaces the shell so the
	// server is PID 1 and gets SIGTERM, and ${PORT} expands at run time.
	Shell string
	Port  int
}

// Runtime derives the run-time settings from the plan.
func (p *Plan) Runtime() Runtime {
	if p.Framework == AzureFunctions {
		// The Functions host of the base image: its own command, in its own folder.
		return Runtime{Env: []string{"AzureWebJobsScriptRoot=" + FunctionsRoot, "AzureFunctionsJobHost__Logging__Console__IsEnabled=true"}, WorkDir: FunctionsRoot, Port: p.Port}
	}
	env := []string{"PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1", "VIRTUAL_ENV=" + VenvDir, fmt.Sprintf("PORT=%d", p.Port)}
	if p.ServerPackage == "gunicorn" || p.ServerPackage == "uvicorn" {
		env = append(env, "WEB_CONCURRENCY=2")
	}
	workdir := "/app"
	if p.AppRoot != p.Context {
		workdir = path.Join("/app", strings.TrimPrefix(p.AppRoot, p.Context+"/"))
	}
	if len(p.PythonPath) > 0 {
		var pp []string
		for _, d := range p.PythonPath {
			pp = append(pp, path.Join(workdir, d))
		}
		env = append(env, "PYTHONPATH="+strings.Join(pp, ":"))
	}
	if p.Django != nil {
		env = append(env, "DJANGO_SETTINGS_MODULE="+p.Django.SettingsModule)
	}
	var parts []string
	for _, a := range p.Server {
		parts = append(parts, ShellQuote(a))
	}
	return Runtime{Env: env, WorkDir: workdir, Shell: "exec " + strings.Join(parts, " "), Port: p.Port}
}

// ShellQuote quotes an argument for sh, leaving ${PORT} expandable.
func ShellQuote(a string) string {
	if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.:/=,@+") == "" {
		return a
	}
	if strings.Contains(a, "${PORT}") && !strings.ContainsAny(a, "\"\\`") {
		return `"` + a + `"`
	}
	return "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
}
