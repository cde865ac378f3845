package cli

import (
	"strings"
	"testing"

	"github.com/pyship/pyship/internal/plan"
	"github.com/pyship/pyship/internal/testutil"
)

// What detection knows will go wrong is said before anything is built: an import no
// dependency provides, a required secret and setting with the exact command that sets
// them for the command at hand, and nothing for what is already set.
func TestPreflightWarnings(t *testing.T) {
	dir := testutil.WriteProject(t, map[string]string{
		"requirements.txt": "flask\n",
		"app.py": `import os
import yaml
from flask import Flask
app = Flask(__name__)
app.secret_key = os.environ["DJANGO_SECRET_KEY"]
REDIS = os.environ["REDIS_HOST"]
DEBUG = os.environ.get("DEBUG", "0")
`,
	})
	name := imageName(dir)
	code, out, errOut := run("detect", dir)
	if code != 0 {
		t.Fatalf("detect: exit %d\n%s", code, errOut)
	}
	for _, want := range []string{
		"app.py:2 imports yaml, which no declared dependency provides: add PyYAML to requirements.txt",
		"app.py:5 reads the secret DJANGO_SECRET_KEY without a default, and nothing sets it: set it where the image runs: pyship secret set " + name + " DJANGO_SECRET_KEY",
		"app.py:6 reads REDIS_HOST without a default, and nothing sets it: set it where the image runs: pyship env set " + name + " REDIS_HOST=VALUE",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("detect does not warn %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "reads DEBUG") {
		t.Errorf("a variable with a default is warned about:\n%s", out)
	}

	// build and run say it before they build (the build itself fails here: no base).
	_, _, errOut = run("build", dir, "--base", "oci:"+t.TempDir()+"/none", "--output", "oci:"+t.TempDir()+"/out")
	if !strings.Contains(errOut, "warning: app.py:2 imports yaml") || !strings.Contains(errOut, "pyship secret set "+name+" DJANGO_SECRET_KEY") {
		t.Errorf("build does not warn before building:\n%s", errOut)
	}
	_, _, errOut = run("run", dir, "--base", "oci:"+t.TempDir()+"/none", "--env", "REDIS_HOST=cache")
	if !strings.Contains(errOut, "warning: app.py:2 imports yaml") || !strings.Contains(errOut, "pyship run --env DJANGO_SECRET_KEY=VALUE") {
		t.Errorf("run does not warn before building:\n%s", errOut)
	}
	if strings.Contains(errOut, "REDIS_HOST without a default") {
		t.Errorf("run warns about a variable its --env sets:\n%s", errOut)
	}
}

// The command a warning gives is the one place the CLI's syntax is spelled.
func TestSettingCommand(t *testing.T) {
	if got := settingCommand("shop", planEnv("DJANGO_SECRET_KEY", true)); got != "pyship secret set shop DJANGO_SECRET_KEY" {
		t.Errorf("secret: %s", got)
	}
	if got := settingCommand("shop", planEnv("REDIS_HOST", false)); got != "pyship env set shop REDIS_HOST=VALUE" {
		t.Errorf("setting: %s", got)
	}
}

func planEnv(name string, secret bool) plan.EnvVar {
	return plan.EnvVar{Name: name, Required: true, Secret: secret}
}
