package plan

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// project builds an fs.FS from "path: content" pairs.
func project(files map[string]string) fstest.MapFS {
	m := fstest.MapFS{}
	for p, c := range files {
		m[p] = &fstest.MapFile{Data: []byte(c)}
	}
	return m
}

const flaskApp = "from flask import Flask\n\napp = Flask(__name__)\n"

var djangoManage = `import os, sys
def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)
`

func djangoProject(prefix string) map[string]string {
	return map[string]string{
		prefix + "manage.py":          djangoManage,
		prefix + "mysite/__init__.py": "",
		prefix + "mysite/settings.py": "INSTALLED_APPS = ['django.contrib.staticfiles']\nSTATIC_ROOT = BASE_DIR / 'staticfiles'\nWSGI_APPLICATION = 'mysite.wsgi.application'\nALLOWED_HOSTS = ['*']\n",
		prefix + "mysite/wsgi.py":     "from django.core.wsgi import get_wsgi_application\napplication = get_wsgi_application()\n",
	}
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

type want struct {
	entry, framework, iface, appRoot, context, python, manager, server0 string
	port                                                                int
	factory, addServer, collectstatic                                   bool
	settings                                                            string
	pythonPath                                                          string
	warning                                                             string // a substring of some warning
	envVar                                                              string
	service                                                             string
}

func TestDetect(t *testing.T) {
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		files map[string]string
		opts  Options
		want  want
	}{
		{"flask-basic", map[string]string{"requirements.txt": "Flask==3.0\n", "app.py": flaskApp},
			Options{}, want{entry: "app:app", framework: "flask", iface: "wsgi", port: 5000, manager: "pip", server0: "gunicorn", addServer: true, python: "3.14"}},
		{"flask-real-variable-name", map[string]string{"requirements.txt": "flask\ngunicorn\n", "server.py": "import flask\nmy_site = flask.Flask(__name__)\n"},
			Options{}, want{entry: "server:my_site", framework: "flask", addServer: false, server0: "gunicorn"}},
		{"flask-factory", map[string]string{"requirements.txt": "flask\n", "myapp/__init__.py": "from flask import Flask\n\ndef create_app(config=None):\n    app = Flask(__name__)\n    return app\n"},
			Options{}, want{entry: "myapp:create_app()", factory: true, framework: "flask"}},
		{"flask-factory-with-wsgi-module", map[string]string{"requirements.txt": "flask\n", "myapp/__init__.py": "from flask import Flask\n\ndef create_app():\n    return Flask(__name__)\n", "wsgi.py": "from myapp import create_app\n\napplication = create_app()\n"},
			Options{}, want{entry: "wsgi:application", factory: false}},
		{"fastapi-main", map[string]string{"requirements.txt": "fastapi\nuvicorn[standard]\n", "main.py": "from fastapi import FastAPI\napp = FastAPI()\n"},
			Options{}, want{entry: "main:app", framework: "fastapi", iface: "asgi", port: 8000, server0: "uvicorn", addServer: false}},
		{"fastapi-package-named-app", map[string]string{"requirements.txt": "fastapi[standard]\n", "app/__init__.py": "", "app/main.py": "from fastapi import FastAPI\n\napp = FastAPI(title='x')\n"},
			Options{}, want{entry: "app.main:app", server0: "uvicorn", addServer: false}},
		{"fastapi-gunicorn-uvicorn-workers", map[string]string{"requirements.txt": "fastapi\nuvicorn\ngunicorn\n", "main.py": "from fastapi import FastAPI\napi: FastAPI = FastAPI()\n"},
			Options{}, want{entry: "main:api", server0: "gunicorn"}},
		{"fastapi-no-server", map[string]string{"requirements.txt": "fastapi\n", "main.py": "from fastapi import FastAPI\napp = FastAPI()\n"},
			Options{}, want{server0: "uvicorn", addServer: true}},
		{"src-layout", map[string]string{"pyproject.toml": "[project]\nname='svc'\nrequires-python='>=3.11'\ndependencies=['flask','gunicorn']\n[build-system]\nbuild-backend='hatchling.build'\n", "src/svc/__init__.py": "", "src/svc/web.py": flaskApp},
			Options{}, want{entry: "svc.web:app", pythonPath: "src", manager: "pep621", python: "3.14"}},
		{"starlette", map[string]string{"requirements.txt": "starlette\nuvicorn\n", "asgi.py": "from starlette.applications import Starlette\napp = Starlette(routes=[])\n"},
			Options{}, want{entry: "asgi:app", framework: "starlette", iface: "asgi", port: 8000}},
		{"quart", map[string]string{"requirements.txt": "quart\nhypercorn\n", "app.py": "from quart import Quart\napp = Quart(__name__)\n"},
			Options{}, want{framework: "quart", iface: "asgi", server0: "hypercorn"}},
		{"litestar", map[string]string{"requirements.txt": "litestar[standard]\n", "app.py": "from litestar import Litestar\napp = Litestar([])\n"},
			Options{}, want{framework: "litestar", server0: "uvicorn", addServer: false}},
		{"falcon-wsgi", map[string]string{"requirements.txt": "falcon\ngunicorn\n", "app.py": "import falcon\napp = falcon.App()\n"},
			Options{}, want{framework: "falcon", iface: "wsgi", entry: "app:app"}},
		{"plain-wsgi-callable", map[string]string{"requirements.txt": "gunicorn\n", "hello.py": "def application(environ, start_response):\n    start_response('200 OK', [])\n    return [b'hi']\n"},
			Options{}, want{framework: "other-wsgi", entry: "hello:application"}},
		{"plain-asgi-callable", map[string]string{"requirements.txt": "uvicorn\n", "srv.py": "async def app(scope, receive, send):\n    pass\n"},
			Options{}, want{framework: "other-asgi", entry: "srv:app", server0: "uvicorn"}},
		{"dash", map[string]string{"requirements.txt": "dash\ngunicorn\n", "app.py": "import dash\napp = dash.Dash(__name__)\nserver = app.server\n"},
			Options{}, want{framework: "flask", entry: "app:server"}},
		{"django-basic", merge(djangoProject(""), map[string]string{"requirements.txt": "Django>=4.2\ngunicorn\nwhitenoise\n"}),
			Options{}, want{framework: "django", entry: "mysite.wsgi:application", port: 8000, collectstatic: true, settings: "mysite.settings", server0: "gunicorn"}},
		{"django-nested-manage", merge(djangoProject("src/"), map[string]string{"requirements.txt": "django\n"}),
			Options{}, want{appRoot: "src", context: ".", entry: "mysite.wsgi:application"}},
		{"django-settings-package-prod", merge(map[string]string{
			"requirements.txt":              "django\ngunicorn\n",
			"manage.py":                     strings.Replace(djangoManage, "mysite.settings", "mysite.settings.dev", 1),
			"mysite/__init__.py":            "",
			"mysite/settings/__init__.py":   "",
			"mysite/settings/base.py":       "WSGI_APPLICATION = 'mysite.wsgi.application'\nINSTALLED_APPS = []\n",
			"mysite/settings/dev.py":        "from .base import *\nDEBUG = True\n",
			"mysite/settings/production.py": "from .base import *\nDEBUG = False\n",
			"mysite/wsgi.py":                "application = None\n",
		}), Options{}, want{settings: "mysite.settings.production", entry: "mysite.wsgi:application"}},
		{"django-wsgi-selects-settings", merge(djangoProject(""), map[string]string{
			"requirements.txt":        "django\n",
			"mysite/wsgi.py":          "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings_prod')\napplication = None\n",
			"mysite/settings_prod.py": "from .settings import *\n",
		}), Options{}, want{settings: "mysite.settings_prod"}},
		{"django-asgi-channels", merge(djangoProject(""), map[string]string{"requirements.txt": "django\nchannels[daphne]\n",
			"mysite/settings.py": "ASGI_APPLICATION = 'mysite.asgi.application'\nWSGI_APPLICATION = 'mysite.wsgi.application'\n", "mysite/asgi.py": "application = None\n"}),
			Options{}, want{iface: "asgi", entry: "mysite.asgi:application", server0: "daphne"}},
		{"django-debug-warning", merge(djangoProject(""), map[string]string{"requirements.txt": "django\n", "mysite/settings.py": "DEBUG = True\nWSGI_APPLICATION = 'mysite.wsgi.application'\n"}),
			Options{}, want{warning: "DEBUG = True"}},
		{"django-empty-allowed-hosts", merge(djangoProject(""), map[string]string{"requirements.txt": "django\n", "mysite/settings.py": "DEBUG = False\nALLOWED_HOSTS = []\nWSGI_APPLICATION = 'mysite.wsgi.application'\n"}),
			Options{}, want{warning: "ALLOWED_HOSTS is empty"}},
		{"poetry-lock", map[string]string{"pyproject.toml": "[tool.poetry]\nname='x'\n[tool.poetry.dependencies]\npython='^3.10'\nflask='^3.0'\n[tool.poetry.group.dev.dependencies]\npytest='*'\n", "poetry.lock": "[[package]]\nname='flask'\nversion='3.0.0'\n[metadata]\npython-versions='^3.10'\n", "app.py": flaskApp},
			Options{}, want{manager: "poetry", python: "3.14", entry: "app:app"}},
		{"poetry-python-constraint-caps", map[string]string{"pyproject.toml": "[tool.poetry.dependencies]\npython='>=3.9,<3.12'\nflask='*'\n", "app.py": flaskApp},
			Options{}, want{manager: "poetry", python: "3.11"}},
		{"uv-lock", map[string]string{"pyproject.toml": "[project]\nname='x'\nrequires-python='>=3.12'\ndependencies=['fastapi','uvicorn']\n", "uv.lock": "version = 1\nrequires-python = '>=3.12'\n[[package]]\nname='fastapi'\nversion='0.115.0'\n", "main.py": "from fastapi import FastAPI\napp = FastAPI()\n"},
			Options{}, want{manager: "uv", server0: "uvicorn"}},
		{"pdm-lock", map[string]string{"pyproject.toml": "[project]\nname='x'\ndependencies=['flask']\n[tool.pdm]\n", "pdm.lock": "[metadata]\nrequires_python='>=3.10'\n[[package]]\nname='flask'\nversion='3.0'\n", "app.py": flaskApp},
			Options{}, want{manager: "pdm"}},
		{"pipenv", map[string]string{"Pipfile": "[packages]\nflask = '*'\ngunicorn = {version='*'}\n[requires]\npython_version = '3.12'\n", "Pipfile.lock": `{"_meta":{"requires":{"python_version":"3.12"}},"default":{"flask":{"version":"==3.0.0"}}}`, "app.py": flaskApp},
			Options{}, want{manager: "pipenv", python: "3.12", addServer: false}},
		{"flit-pep621", map[string]string{"pyproject.toml": "[build-system]\nrequires=['flit_core']\nbuild-backend='flit_core.buildapi'\n[project]\nname='hello'\ndependencies=['flask']\n", "hello.py": flaskApp},
			Options{}, want{manager: "pep621", entry: "hello:app"}},
		{"pylock", map[string]string{"pylock.toml": "lock-version = '1.0'\nrequires-python = '>=3.13'\n[[packages]]\nname = 'flask'\nversion = '3.1.0'\n", "app.py": flaskApp},
			Options{}, want{manager: "pylock", python: "3.14"}},
		{"requirements-without-txt", map[string]string{"requirements/production": "-r base.txt\ngunicorn\n", "requirements/base.txt": "flask\n", "requirements/dev.txt": "-r base.txt\npytest\n", "app.py": flaskApp},
			Options{}, want{manager: "pip", addServer: false, entry: "app:app"}},
		{"requirements-includes", map[string]string{"requirements.txt": "-r requirements/base.txt\n-c constraints.txt\n", "requirements/base.txt": "fastapi # web\nuvicorn\n", "constraints.txt": "starlette<1\n", "main.py": "from fastapi import FastAPI\napp = FastAPI()\n"},
			Options{}, want{manager: "pip", server0: "uvicorn", addServer: false}},
		{"python-version-commented", map[string]string{".python-version": "# pinned for prod\n\n3.12.4\n", "requirements.txt": "flask\n", "app.py": flaskApp},
			Options{}, want{python: "3.12.4"}},
		{"runtime-txt-eol", map[string]string{"runtime.txt": "python-3.8.18\n", "requirements.txt": "flask\n", "app.py": flaskApp},
			Options{}, want{python: "3.8.18", warning: "end of life"}},
		{"procfile-wins", map[string]string{"Procfile": "web: gunicorn --workers 4 --bind 0.0.0.0:$PORT site_app:server\n", "requirements.txt": "flask\ngunicorn\n", "site_app.py": "from flask import Flask\nserver = Flask('x')\nother = Flask('y')\n"},
			Options{}, want{entry: "site_app:server", server0: "gunicorn"}},
		{"procfile-migrate-and-devserver", map[string]string{"Procfile": "web: python manage.py migrate && python manage.py runserver 0.0.0.0:$PORT\n"}, // refers to Django below
			Options{}, want{}},
		{"pyship-toml-wins", map[string]string{"pyship.toml": "entrypoint = 'svc:make()'\nport = 9000\n", "requirements.txt": "flask\n", "svc.py": flaskApp},
			Options{}, want{entry: "svc:make()", factory: true, port: 9000}},
		{"tool-pyship-in-pyproject", map[string]string{"pyproject.toml": "[project]\nname='x'\ndependencies=['flask']\n[tool.pyship]\nport = 8080\n", "app.py": flaskApp},
			Options{}, want{port: 8080}},
		{"flag-wins-over-config", map[string]string{"pyship.toml": "port = 9000\n", "requirements.txt": "flask\n", "app.py": flaskApp},
			Options{Port: 7000, Python: "3.13"}, want{port: 7000, python: "3.13"}},
		{"project-scripts-server", map[string]string{"pyproject.toml": "[project]\nname='svc'\ndependencies=['fastapi','uvicorn']\n[project.scripts]\nserve = 'svc.cli:main'\n", "svc/__init__.py": "", "svc/cli.py": "import uvicorn\ndef main():\n    uvicorn.run('svc.api:app', host='0.0.0.0', port=8123)\n", "svc/api.py": "from fastapi import FastAPI\napp = FastAPI()\n"},
			Options{}, want{server0: "serve", port: 8123}},
		{"monorepo-single-subproject", merge(map[string]string{"README.md": "x"}, map[string]string{"services/api/requirements.txt": "fastapi\n", "services/api/main.py": "from fastapi import FastAPI\napp = FastAPI()\n"}),
			Options{}, want{context: "services/api", appRoot: "services/api", entry: "main:app"}},
		{"monorepo-app-root-flag", map[string]string{"web/requirements.txt": "flask\n", "web/app.py": flaskApp, "worker/requirements.txt": "celery\n", "worker/tasks.py": "x = 1\n"},
			Options{AppRoot: "web"}, want{context: "web", entry: "app:app"}},
		{"venv-is-ignored", map[string]string{"requirements.txt": "flask\n", "app.py": flaskApp, ".venv/pyvenv.cfg": "home=/usr", ".venv/lib/python3.12/site-packages/werkzeug/wsgi.py": "def application(environ, start_response): pass\n", "env/pyvenv.cfg": "x", "env/lib/x/site-packages/flask/app.py": "from flask import Flask\napp = Flask(x)\n"},
			Options{}, want{entry: "app:app"}},
		{"tests-ignored", map[string]string{"requirements.txt": "flask\n", "app.py": flaskApp, "tests/test_app.py": "from flask import Flask\ntest_app = Flask(__name__)\n"},
			Options{}, want{entry: "app:app"}},
		{"commented-out-app", map[string]string{"requirements.txt": "fastapi\n", "main.py": "from fastapi import FastAPI\n# app = FastAPI()\n\"\"\"\nold = FastAPI()\n\"\"\"\nservice = FastAPI()\n"},
			Options{}, want{entry: "main:service"}},
		{"gunicorn-conf-port", map[string]string{"requirements.txt": "flask\ngunicorn\n", "app.py": flaskApp, "gunicorn.conf.py": "bind = '127.0.0.1:8081'\n"},
			Options{}, want{port: 8081, warning: "127.0.0.1"}},
		{"app-run-port", map[string]string{"requirements.txt": "flask\n", "app.py": flaskApp + "if __name__ == '__main__':\n    app.run(host='0.0.0.0', port=5002)\n"},
			Options{}, want{port: 5002}},
		{"services-and-env", map[string]string{"requirements.txt": "flask\npsycopg2-binary\nredis\npymongo\n", "app.py": flaskApp + "import os\nDB = os.environ['DATABASE_URL']\nKEY = os.getenv('API_KEY', 'x')\nc = os.environ.get('CONNECTION_STRING')\n"},
			Options{}, want{service: "postgresql", envVar: "DATABASE_URL"}},
		{"lock-above-app-root", map[string]string{"uv.lock": "version = 1\n", "apps/web/requirements.txt": "flask\n", "apps/web/app.py": flaskApp},
			Options{AppRoot: "apps/web"}, want{warning: "sits above the app root"}},
		{"several-manifests-warn", map[string]string{"requirements.txt": "flask\n", "Pipfile": "[packages]\nflask='*'\n", "app.py": flaskApp},
			Options{}, want{manager: "pip", warning: "also declared in Pipfile"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			files := tc.files
			if tc.name == "procfile-migrate-and-devserver" {
				files = merge(djangoProject(""), files, map[string]string{"requirements.txt": "django\n"})
			}
			tc.opts.Now = now
			p, err := Detect(project(files), tc.opts)
			if err != nil {
				t.Fatalf("Detect: %v", err)
			}
			w := tc.want
			check := func(field, got, want string) {
				if want != "" && got != want {
					t.Errorf("%s = %q, want %q (evidence: %v, warnings: %v)", field, got, want, p.Evidence, p.Warnings)
				}
			}
			check("entrypoint", p.Entrypoint, w.entry)
			check("framework", string(p.Framework), w.framework)
			check("interface", p.Interface, w.iface)
			check("app_root", p.AppRoot, w.appRoot)
			check("context", p.Context, w.context)
			check("python_version", p.PythonVersion, w.python)
			check("manager", p.Dependencies.Manager, w.manager)
			check("server[0]", p.Server[0], w.server0)
			if w.settings != "" {
				check("settings", p.Django.SettingsModule, w.settings)
			}
			if w.pythonPath != "" {
				check("python_path", strings.Join(p.PythonPath, ","), w.pythonPath)
			}
			if w.port != 0 && p.Port != w.port {
				t.Errorf("port = %d, want %d (%v)", p.Port, w.port, p.Evidence)
			}
			if w.factory != p.Factory && (w.entry != "") {
				t.Errorf("factory = %v, want %v", p.Factory, w.factory)
			}
			if (w.server0 != "" || w.addServer) && p.AddServer != w.addServer {
				t.Errorf("add_server = %v, want %v (packages %v)", p.AddServer, w.addServer, p.Dependencies.Packages)
			}
			if w.collectstatic && (p.Django == nil || !p.Django.Collectstatic) {
				t.Errorf("collectstatic not detected: %+v", p.Django)
			}
			if w.warning != "" && !strings.Contains(strings.Join(p.Warnings, "\n"), w.warning) {
				t.Errorf("no warning containing %q in %q", w.warning, p.Warnings)
			}
			if w.envVar != "" {
				found := false
				for _, e := range p.EnvVars {
					found = found || (e.Name == w.envVar && e.Required && e.Secret)
				}
				if !found {
					t.Errorf("env var %s (required, secret) not in %+v", w.envVar, p.EnvVars)
				}
			}
			if w.service != "" {
				found := false
				for _, s := range p.Services {
					found = found || s.Name == w.service
				}
				if !found {
					t.Errorf("service %s not in %+v", w.service, p.Services)
				}
			}
			for _, a := range p.Server {
				if strings.Contains(a, "runserver") || a == "run" {
					t.Errorf("server %v is a development server", p.Server)
				}
			}
		})
	}
}

// Refusals: a confident wrong answer is worse than a question.
func TestDetectRefuses(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		field string
		fix   string
	}{
		{"two-apps-same-rank", map[string]string{"requirements.txt": "flask\n", "app.py": flaskApp, "main.py": flaskApp}, "entry point", "--entrypoint"},
		{"no-app-object", map[string]string{"requirements.txt": "flask\n", "app.py": "print('hi')\n"}, "entry point", "--entrypoint"},
		{"monorepo-two-services", map[string]string{"api/requirements.txt": "fastapi\n", "api/main.py": "from fastapi import FastAPI\napp = FastAPI()\n", "web/requirements.txt": "flask\n", "web/app.py": flaskApp}, "app root", "--app-root api"},
		{"two-django-projects", merge(djangoProject("a/"), djangoProject("b/"), map[string]string{"requirements.txt": "django\n"}), "Django project", "--app-root a"},
		{"dash-without-server", map[string]string{"requirements.txt": "dash\n", "app.py": "from dash import Dash\napp = Dash(__name__)\n"}, "entry point", "server = app.server"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Detect(project(tc.files), Options{})
			var amb *AmbiguousError
			if !errors.As(err, &amb) {
				t.Fatalf("Detect = %v, want an AmbiguousError", err)
			}
			if amb.Field != tc.field || !strings.Contains(err.Error(), tc.fix) {
				t.Errorf("error = %q (field %q), want field %q and fix %q", err, amb.Field, tc.field, tc.fix)
			}
			// Each suggested fix, followed, settles it (renderDetect applies them).
			t.Log(renderDetect(t, project(tc.files), Options{Now: goldenNow}))
		})
	}
}

func TestDetectBadInputNamesFileAndLine(t *testing.T) {
	cases := map[string]map[string]string{
		"pyproject.toml:3":   {"pyproject.toml": "[project]\nname = 'x'\ndependencies = [\"flask\" \"oops\"]\n"},
		"requirements.txt:2": {"requirements.txt": "flask\n--bogus-option\n", "app.py": flaskApp},
		".python-version:1":  {".python-version": "banana\n", "requirements.txt": "flask\n", "app.py": flaskApp},
		"pyship.toml:1":      {"pyship.toml": "colour = 'blue'\n", "requirements.txt": "flask\n", "app.py": flaskApp},
		"pyship.toml:2":      {"pyship.toml": "port = 8000\nsettings_module = 'blog/settings.py'\n", "requirements.txt": "django\n", "manage.py": djangoManage},
	}
	for loc, files := range cases {
		_, err := Detect(project(files), Options{})
		if err == nil || !strings.Contains(err.Error(), loc) {
			t.Errorf("Detect(%v) error = %v, want it to name %s", files, err, loc)
		}
	}
}

func TestDetectNotPython(t *testing.T) {
	_, err := Detect(project(map[string]string{"index.html": "<p>hi</p>"}), Options{})
	if !errors.Is(err, ErrNotPython) {
		t.Fatalf("Detect = %v, want ErrNotPython", err)
	}
}

// A subproject's [tool.pyship] adds to the top directory's pyship.toml, and evidence
// points at the setting's own line (not at a same-named key in another table).
func TestConfigMergesAndPointsAtTheSetting(t *testing.T) {
	p, err := Detect(project(map[string]string{
		"pyship.toml":        "app_root = 'web'\nport = 9000\n",
		"web/pyproject.toml": "[tool.poetry.dependencies]\npython = '^3.10'\nflask = '*'\n\n[tool.pyship]\npython = '3.12'\n",
		"web/app.py":         flaskApp,
	}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Port != 9000 || p.PythonVersion != "3.12" || p.Context != "web" {
		t.Fatalf("port %d python %s context %s, want 9000, 3.12, web", p.Port, p.PythonVersion, p.Context)
	}
	for _, e := range p.Evidence {
		if e.Field == "python_version" && (e.File != "web/pyproject.toml" || e.Line != 6) {
			t.Errorf("python evidence at %s:%d, want web/pyproject.toml:6", e.File, e.Line)
		}
		if e.Field == "port" && (e.File != "pyship.toml" || e.Line != 2) {
			t.Errorf("port evidence at %s:%d, want pyship.toml:2", e.File, e.Line)
		}
	}
}
