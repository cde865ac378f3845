package scaffold

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/pyship/pyship/internal/check"
	"github.com/pyship/pyship/internal/plan"
)

func detect(t *testing.T, files map[string]string) *plan.Plan {
	t.Helper()
	m := fstest.MapFS{}
	for k, v := range files {
		m[k] = &fstest.MapFile{Data: []byte(v)}
	}
	p, err := plan.Detect(m, plan.Options{Now: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const flaskApp = "from flask import Flask\napp = Flask(__name__)\n"

// Every manager's Dockerfile parses and passes pyship's own checks.
func TestDockerfilePassesCheck(t *testing.T) {
	projects := map[string]map[string]string{
		"pip":         {"requirements.txt": "flask\n", "app.py": flaskApp},
		"uv":          {"pyproject.toml": "[project]\nname='x'\ndependencies=['flask']\n", "uv.lock": "version=1\n", "app.py": flaskApp},
		"poetry":      {"pyproject.toml": "[tool.poetry.dependencies]\npython='^3.11'\nflask='*'\n", "poetry.lock": "", "app.py": flaskApp},
		"pdm":         {"pyproject.toml": "[project]\nname='x'\ndependencies=['flask']\n", "pdm.lock": "", "app.py": flaskApp},
		"pipenv":      {"Pipfile": "[packages]\nflask='*'\n", "app.py": flaskApp},
		"pylock":      {"pylock.toml": "lock-version='1.0'\n", "app.py": flaskApp},
		"pep621":      {"pyproject.toml": "[project]\nname='x'\nrequires-python='>=3.9,<3.12'\ndependencies=['flask']\n[build-system]\nbuild-backend='x'\n", "app.py": flaskApp},
		"setuptools":  {"setup.py": "from setuptools import setup\nsetup(install_requires=['flask'])\n", "app.py": flaskApp},
		"src-factory": {"requirements.txt": "fastapi\n", "src/svc/__init__.py": "from fastapi import FastAPI\ndef create_app():\n    return FastAPI()\n"},
	}
	for name, files := range projects {
		t.Run(name, func(t *testing.T) {
			p := detect(t, files)
			text := Dockerfile(p, Options{})
			df, err := check.ParseDockerfile("Dockerfile", []byte(text))
			if err != nil {
				t.Fatalf("generated Dockerfile does not parse: %v\n%s", err, text)
			}
			for _, f := range check.Run(&check.Input{Dockerfile: df, Plan: p, Now: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)}) {
				if name == "setuptools" && f.ID == "PS004" {
					continue // setup.py projects need their code to install: the accepted cost
				}
				t.Errorf("pyship check on its own Dockerfile: %s %s\n%s", f.ID, f.Message, text)
			}
			for _, must := range []string{"PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1", "USER 10001:10001", "exec ", "0.0.0.0", "${PORT}", "ARG PIP_INDEX_URL"} {
				if !strings.Contains(text, must) {
					t.Errorf("Dockerfile lacks %q:\n%s", must, text)
				}
			}
			// Dependencies are installed before the code is copied.
			if name != "setuptools" && strings.Index(text, "COPY . .") < strings.LastIndex(text, "pip install -r") {
				t.Errorf("COPY . . before the dependency install:\n%s", text)
			}
		})
	}
}

func TestDockerfileDjangoNoSecretInEnv(t *testing.T) {
	p := detect(t, map[string]string{
		"requirements.txt":  "django\ngunicorn\n",
		"manage.py":         "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'site1.settings')\n",
		"site1/__init__.py": "",
		"site1/settings.py": "import os\nSECRET_KEY = os.environ['SECRET_KEY']\nAPI_TOKEN = os.environ['API_TOKEN']\nINSTALLED_APPS=['django.contrib.staticfiles']\nSTATIC_ROOT='static'\nWSGI_APPLICATION='site1.wsgi.application'\n",
		"site1/wsgi.py":     "application = None\n",
	})
	text := Dockerfile(p, Options{})
	if !strings.Contains(text, "API_TOKEN=collectstatic-placeholder") || !strings.Contains(text, "manage.py collectstatic") {
		t.Errorf("collectstatic without placeholders for required settings:\n%s", text)
	}
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "ENV") && strings.Contains(l, "SECRET") {
			t.Errorf("secret in ENV: %s", l)
		}
	}
	if strings.Contains(text, "migrate") && !strings.Contains(text, "Migrations are not run") {
		t.Errorf("migrate in the Dockerfile")
	}
}

// A project that picks its settings with a condition on the platform's variable (the
// Azure samples) gets the production branch as DJANGO_SETTINGS_MODULE in the image,
// set before collectstatic runs with it.
func TestDockerfileSetsConditionalSettingsModule(t *testing.T) {
	choose := "settings_module = 'shop.deployment' if 'WEBSITE_HOSTNAME' in os.environ else 'shop.settings'\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', settings_module)\n"
	p := detect(t, map[string]string{
		"requirements.txt":   "django\nwhitenoise\n",
		"manage.py":          "import os\n" + choose,
		"shop/__init__.py":   "",
		"shop/settings.py":   "INSTALLED_APPS = ['django.contrib.staticfiles']\nSTATIC_ROOT = BASE_DIR / 'staticfiles'\nWSGI_APPLICATION = 'shop.wsgi.application'\n",
		"shop/deployment.py": "from .settings import *\nDEBUG = False\n",
		"shop/wsgi.py":       "import os\n" + choose + "application = None\n",
	})
	text := Dockerfile(p, Options{})
	env := strings.Index(text, "DJANGO_SETTINGS_MODULE=shop.deployment")
	if env < 0 || env > strings.Index(text, "collectstatic") {
		t.Errorf("DJANGO_SETTINGS_MODULE=shop.deployment is not set before collectstatic:\n%s", text)
	}
}

func TestDockerignoreMerge(t *testing.T) {
	merged := Dockerignore("# mine\n!.env.example\nnode_modules\n")
	if !strings.HasPrefix(merged, "# mine\n!.env.example\nnode_modules\n") {
		t.Errorf("user lines changed:\n%s", merged)
	}
	if strings.Count(merged, "node_modules") != 1 || !strings.Contains(merged, "\n.env\n") || !strings.Contains(merged, "\n.venv\n") {
		t.Errorf("merge:\n%s", merged)
	}
	full := Dockerignore("")
	for _, keep := range []string{"README", "LICENSE", ".python-version", ".lock"} {
		if strings.Contains(full, keep) {
			t.Errorf(".dockerignore excludes %s", keep)
		}
	}
	if Dockerignore(full) != full {
		t.Error("merging into pyship's own file changes it")
	}
}

func TestRenderWriteNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM mine\n"), 0o644)
	os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte("secrets/\n"), 0o644)
	p := detect(t, map[string]string{"requirements.txt": "flask\npsycopg2\n", "app.py": flaskApp + "import os\nos.environ['DATABASE_URL']\n"})
	files, err := Render(dir, p, Options{}, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(dir, files); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "Dockerfile")); string(b) != "FROM mine\n" {
		t.Errorf("Dockerfile overwritten without force: %s", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, ".dockerignore")); !strings.HasPrefix(string(b), "secrets/\n") || !strings.Contains(string(b), ".env") {
		t.Errorf(".dockerignore not merged: %s", b)
	}
	compose, _ := os.ReadFile(filepath.Join(dir, "compose.yaml"))
	if !strings.Contains(string(compose), "DATABASE_URL") || !strings.Contains(string(compose), "postgres:") || strings.Contains(string(compose), "COPY") {
		t.Errorf("compose.yaml:\n%s", compose)
	}
	files, _ = Render(dir, p, Options{}, true)
	Write(dir, files)
	if b, _ := os.ReadFile(filepath.Join(dir, "Dockerfile")); !strings.Contains(string(b), "pyship init") {
		t.Errorf("--force did not overwrite")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".pyship-") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}
