package plan

import (
	"strings"
	"testing"
)

// warningsAbout returns the Plan's warnings that contain s.
func warningsAbout(p *Plan, s string) []string {
	var out []string
	for _, w := range p.Warnings {
		if strings.Contains(w, s) {
			out = append(out, w)
		}
	}
	return out
}

// Imports no declared dependency provides are named with the distribution to add;
// the standard library, the project's own modules, what a dependency brings, optional
// and type-checking imports, tests and a sub-project with its own manifest are not.
func TestUndeclaredImports(t *testing.T) {
	files := map[string]string{
		"requirements.txt": "flask\nPyYAML\ngunicorn\n",
		"app.py": `from __future__ import annotations
import os, json
import yaml
from PIL import Image
import sklearn.linear_model
from dotenv import load_dotenv
import werkzeug.exceptions
from jinja2 import Template
from mypkg.util import helper
from . import sibling
import tomllib
from typing import TYPE_CHECKING
try:
    import ujson as fastjson
except ImportError:
    fastjson = json
if TYPE_CHECKING:
    import mypy_extensions
from flask import Flask
app = Flask(__name__)
if __name__ == "__main__":
    import waitress
    waitress.serve(app)
`,
		"mypkg/__init__.py":       "",
		"mypkg/util.py":           "import requests_oauthlib\n",
		"tests/test_app.py":       "import pytest\n",
		"worker/requirements.txt": "celery\n",
		"worker/tasks.py":         "import celery\n",
	}
	p, err := Detect(project(files), Options{Python: "3.10"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"imports PIL":               "add Pillow to requirements.txt",
		"imports sklearn":           "add scikit-learn to requirements.txt",
		"imports dotenv":            "add python-dotenv to requirements.txt",
		"imports requests_oauthlib": "add requests-oauthlib to requirements.txt",
		"imports tomllib":           "Python 3.10 does not have",
	}
	for what, fix := range want {
		ws := warningsAbout(p, what+",")
		if len(ws) != 1 || !strings.Contains(ws[0], fix) {
			t.Errorf("%s: warnings %q, want one with %q", what, ws, fix)
		}
	}
	if ws := warningsAbout(p, "app.py:4 imports PIL"); len(ws) != 1 {
		t.Errorf("the warning does not point at app.py:4: %q", p.Warnings)
	}
	for _, not := range []string{"yaml", "os,", "json", "werkzeug", "jinja2", "mypkg", "sibling", "ujson", "mypy_extensions", "waitress", "pytest", "celery", "__future__", "flask,"} {
		if ws := warningsAbout(p, "imports "+not); len(ws) > 0 {
			t.Errorf("a warning about %s: %q", not, ws)
		}
	}
	// The same code on 3.11, where tomllib is in the standard library.
	p, _ = Detect(project(files), Options{Python: "3.11"})
	if ws := warningsAbout(p, "tomllib"); len(ws) > 0 {
		t.Errorf("tomllib on 3.11: %q", ws)
	}
}

// A lock pins what the dependencies bring: an import of one of them is provided.
func TestImportsProvidedByTheLock(t *testing.T) {
	p, err := Detect(project(map[string]string{
		"pyproject.toml": "[project]\nname='x'\ndependencies=['fastapi', 'uvicorn']\n",
		"uv.lock":        "version = 1\n[[package]]\nname='fastapi'\nversion='0.115.0'\n[[package]]\nname='pyyaml'\nversion='6.0'\n",
		"main.py":        "import yaml\nimport starlette\nfrom fastapi import FastAPI\napp = FastAPI()\n",
	}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ws := warningsAbout(p, "imports"); len(ws) > 0 {
		t.Errorf("imports the lock provides: %q", ws)
	}
}

// A server named by the project (Procfile, --server) whose distribution is not in
// the dependencies is named before the build: the container would not start.
func TestServerNotInDependencies(t *testing.T) {
	base := map[string]string{"requirements.txt": "flask\n", "app.py": flaskApp}
	p, err := Detect(project(merge(base, map[string]string{"Procfile": "web: gunicorn app:app\n"})), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ws := warningsAbout(p, "Procfile:1"); len(ws) == 0 || !strings.Contains(strings.Join(ws, "\n"), "gunicorn is not in the dependencies (requirements.txt)") {
		t.Errorf("Procfile's gunicorn not in the dependencies: %q", p.Warnings)
	}
	p, err = Detect(project(base), Options{Server: "waitress-serve --listen=0.0.0.0:8000 app:app"})
	if err != nil {
		t.Fatal(err)
	}
	if ws := warningsAbout(p, "waitress is not in the dependencies"); len(ws) != 1 {
		t.Errorf("--server waitress-serve: %q", p.Warnings)
	}
	// Declared, or chosen and added by pyship itself: nothing to say.
	for _, files := range []map[string]string{
		merge(base, map[string]string{"Procfile": "web: gunicorn app:app\n", "requirements.txt": "flask\ngunicorn\n"}),
		base,
	} {
		p, err := Detect(project(files), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if ws := warningsAbout(p, "is not in the dependencies"); len(ws) > 0 {
			t.Errorf("%v: %q", files, ws)
		}
	}
}
