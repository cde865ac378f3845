package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pyship/pyship/internal/testutil"
)

func run(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Execute(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestDetectJSONSchema(t *testing.T) {
	dir := testutil.WriteProject(t, map[string]string{"requirements.txt": "flask\n", "app.py": "from flask import Flask\napp = Flask(__name__)\n"})
	code, out, errs := run("detect", dir, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"app_root", "framework", "interface", "entrypoint", "factory", "python_version", "port", "server", "dependencies", "django", "services", "env_vars", "warnings", "evidence"} {
		if _, ok := m[key]; !ok {
			t.Errorf("--json lacks %q", key)
		}
	}
	if m["entrypoint"] != "app:app" || m["port"] != float64(5000) {
		t.Errorf("entrypoint %v port %v", m["entrypoint"], m["port"])
	}
}

func TestExitCodes(t *testing.T) {
	amb := testutil.WriteProject(t, map[string]string{"requirements.txt": "flask\n", "a.py": "from flask import Flask\napp = Flask(__name__)\n", "b.py": "from flask import Flask\napp = Flask(__name__)\n"})
	if code, _, errs := run("detect", amb); code != 3 || !strings.Contains(errs, "--entrypoint a:app") {
		t.Errorf("ambiguous detect: exit %d, %q", code, errs)
	}
	if code, _, _ := run("detect", amb, "--entrypoint", "b:app"); code != 0 {
		t.Errorf("--entrypoint did not settle it: exit %d", code)
	}
	bad := testutil.WriteProject(t, map[string]string{"requirements.txt": "flask\n", "app.py": "from flask import Flask\napp = Flask(__name__)\n", "Dockerfile": "FROM python:3.13-slim\nCMD flask run\n"})
	if code, out, _ := run("check", bad, "--json"); code != 1 || !strings.Contains(out, `"PS006"`) {
		t.Errorf("check on a bad Dockerfile: exit %d\n%s", code, out)
	}
	// init keeps the user's Dockerfile and says so with exit 2; --dry-run writes nothing.
	if code, out, _ := run("init", bad); code != 2 || !strings.Contains(out, "skipped") {
		t.Errorf("init over an existing Dockerfile: exit %d\n%s", code, out)
	}
	fresh := testutil.WriteProject(t, map[string]string{"requirements.txt": "flask\n", "app.py": "from flask import Flask\napp = Flask(__name__)\n"})
	if code, out, _ := run("init", fresh, "--dry-run"); code != 0 || !strings.Contains(out, "would be created") {
		t.Errorf("dry run: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(fresh, "Dockerfile")); err == nil {
		t.Error("--dry-run wrote a Dockerfile")
	}
	if code, _, _ := run("init", fresh); code != 0 {
		t.Errorf("init: exit %d", code)
	}
	if code, out, _ := run("check", fresh); code != 0 || !strings.Contains(out, "0 errors") {
		t.Errorf("check after init: exit %d\n%s", code, out)
	}
	if code, _, errs := run("detect", "/nonexistent/dir"); code != 1 || errs == "" {
		t.Errorf("missing dir: exit %d %q", code, errs)
	}
}

// --settings-module chooses the Django settings the image runs with; a value that is
// not a module name is refused before anything is detected.
func TestSettingsModuleFlag(t *testing.T) {
	dir := testutil.WriteProject(t, map[string]string{
		"requirements.txt":   "django\n",
		"manage.py":          "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'site_a.settings')\n",
		"site_a/__init__.py": "",
		"site_a/settings.py": "WSGI_APPLICATION = 'site_a.wsgi.application'\n",
		"site_a/live.py":     "from .settings import *\n",
		"site_a/wsgi.py":     "application = None\n",
	})
	code, out, errs := run("detect", dir, "--json", "--settings-module", "site_a.live")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var p struct {
		Django struct {
			SettingsModule string `json:"settings_module"`
		} `json:"django"`
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil || p.Django.SettingsModule != "site_a.live" {
		t.Errorf("settings_module %q (%v), want site_a.live", p.Django.SettingsModule, err)
	}
	if code, _, errs := run("detect", dir, "--settings-module", "site_a/live.py"); code == 0 || !strings.Contains(errs, "--settings-module") {
		t.Errorf("a path as --settings-module: exit %d, %q", code, errs)
	}
}
