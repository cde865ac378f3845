package cli

import (
	"fmt"

	"github.com/pyship/pyship/internal/plan"
)

// settingCommand spells the command that gives a deployed app one of its settings: the
// one place to change when the CLI's syntax does. A secret's value is read from stdin,
// never from the command line.
func settingCommand(app string, v plan.EnvVar) string {
	if v.Secret {
		return fmt.Sprintf("pyship secret set %s %s", app, v.Name)
	}
	return fmt.Sprintf("pyship env set %s %s=VALUE", app, v.Name)
}

// envAdvice says how to set a variable for the command about to run.
type envAdvice func(v plan.EnvVar) string

// deployAdvice: the app's settings on the platform.
func deployAdvice(app string) envAdvice {
	return func(v plan.EnvVar) string { return settingCommand(app, v) }
}

// runAdvice: pyship run takes settings at run time.
func runAdvice(v plan.EnvVar) string {
	return fmt.Sprintf("pyship run --env %s=VALUE (or a line in --env-file)", v.Name)
}

// imageAdvice: detect and build do not run the app; whatever runs the image sets it.
func imageAdvice(app string) envAdvice {
	return func(v plan.EnvVar) string {
		return fmt.Sprintf("set it where the image runs: %s, or pyship run --env %s=VALUE", settingCommand(app, v), v.Name)
	}
}

// envWarnings are the variables the code reads without a default that have no value
// yet (have reports those that do; nil: none do), each with the command that sets it.
// Without one the app stops on its first read (Django's DJANGO_SECRET_KEY, a KeyError).
func envWarnings(p *plan.Plan, advice envAdvice, have func(name string) bool) []string {
	var out []string
	for _, v := range p.EnvVars {
		if !v.Required || (have != nil && have(v.Name)) {
			continue
		}
		what := "reads"
		if v.Secret {
			what = "reads the secret"
		}
		out = append(out, fmt.Sprintf("%s:%d %s %s without a default, and nothing sets it: %s", v.File, v.Line, what, v.Name, advice(v)))
	}
	return out
}

// preflight says, before a build, what detection already knows will go wrong: the
// Plan's warnings (imports no dependency provides, a server not in the dependencies)
// and the settings the code needs that nothing sets.
func preflight(logf func(string, ...any), p *plan.Plan, advice envAdvice, have func(string) bool) {
	if p == nil {
		return
	}
	for _, w := range p.Warnings {
		logf("warning: %s", w)
	}
	for _, w := range envWarnings(p, advice, have) {
		logf("warning: %s", w)
	}
}
