package scaffold

import (
	"fmt"
	"path"
	"strings"

	"github.com/pyship/pyship/internal/plan"
)

// Options change what Render writes.
type Options struct {
	// Base is the base image reference; empty means python:<version>-slim.
	Base string
}

// UID is the numeric user the image runs as.
const UID = plan.UID

// Dockerfile renders the Dockerfile for a Plan. It builds with the classic builder and
// with BuildKit alike: no RUN --mount, no heredocs.
func Dockerfile(p *plan.Plan, o Options) string {
	if p.Framework == plan.AzureFunctions {
		return functionsDockerfile(p, o)
	}
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	entry := p.Entrypoint
	if p.Factory {
		entry += " (app factory)"
	}
	w("# Written by `pyship init` from the project's Plan; `pyship detect` shows the evidence.")
	w("#   %s app (%s) %s, served by %s on port %d", p.Framework, strings.ToUpper(p.Interface), entry, p.ServerPackage, p.Port)
	w("#   dependencies: %s (%s); Python %s", p.Dependencies.Manager, strings.Join(p.Dependencies.Files, ", "), p.PythonVersion)
	w("# Build: docker build -t myapp .    Run: docker run --rm -p %d:%d --env-file .env myapp", p.Port, p.Port)
	w("")
	w("ARG PYTHON_VERSION=%s", minor(p.PythonVersion))
	base := o.Base
	if base == "" {
		base = "python:${PYTHON_VERSION}-slim"
	}
	w("# Override to use a mirror or a digest-pinned base: --build-arg BASE_IMAGE=...")
	w("ARG BASE_IMAGE=%s", base)
	w("")
	w("# ---- Stage 1: the dependencies, in a virtual environment of their own ----")
	w("FROM ${BASE_IMAGE} AS deps")
	indexArgs(w)
	w("RUN python -m venv /opt/venv")
	w("ENV PATH=/opt/venv/bin:$PATH VIRTUAL_ENV=/opt/venv")
	w("WORKDIR /app")
	installDeps(w, p, "pip install")
	if p.AddServer {
		w("# %s is not in the project's dependencies; the image needs a production server.", p.ServerPackage)
		w("RUN pip install %s", p.ServerPackage)
	}
	w("")
	w("# ---- Stage 2: the runtime image ----")
	w("FROM ${BASE_IMAGE}")
	w("# No .pyc files written at run time; logs reach `docker logs` at once.")
	rt := p.Runtime()
	env := append([]string{"PATH=/opt/venv/bin:$PATH"}, rt.Env...)
	workdir := rt.WorkDir
	w("ENV %s", strings.Join(env, " \\\n    "))
	w("# A numeric, unprivileged user with no home and no shell.")
	w("RUN groupadd --system --gid %d app \\", UID)
	w(" && useradd --system --uid %d --gid %d --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin app", UID, UID)
	w("COPY --from=deps /opt/venv /opt/venv")
	w("WORKDIR /app")
	w("# The code last: a code change rebuilds only from here. It stays owned by root, so the")
	w("# app cannot rewrite itself; .dockerignore keeps .env, .venv and .git out.")
	w("COPY . .")
	if p.Dependencies.InstallProject {
		w("# The project is a package: install it (its dependencies are already in place).")
		w("RUN pip install --no-cache-dir --no-deps .")
	}
	if workdir != "/app" {
		w("WORKDIR %s", workdir)
	}
	if p.Django != nil && p.Django.Collectstatic {
		w("# Static files are collected at build time. The settings may require secrets, so")
		w("# placeholders are set for this one command only: nothing is stored in the image's ENV.")
		w("RUN %s python manage.py collectstatic --noinput", collectstaticEnv(p))
	}
	w("USER %d:%d", UID, UID)
	w("EXPOSE %d", p.Port)
	w("# exec replaces the shell, so the server is PID 1 and gets SIGTERM; ${PORT} lets the")
	w("# platform choose the port. Migrations are not run here: run them as a one-off job.")
	if len(p.ReleaseCommands) > 0 {
		w("# Release steps from the project's start command, to run once per release, not here:")
		for _, c := range p.ReleaseCommands {
			w("#   %s", strings.ReplaceAll(c, "\n", " "))
		}
	}
	w("CMD %s", cmdJSON(rt.Shell))
	return b.String()
}

func minor(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) >= 2 {
		return parts[0] + "." + parts[1]
	}
	return v
}

// indexArgs opens a dependency stage: the package index as build arguments, never
// part of the image, and pip without its caches and nags.
func indexArgs(w func(string, ...any)) {
	w("# The package index comes at build time (--build-arg PIP_INDEX_URL=...), so private")
	w("# indexes work; these ARGs live only in this stage and never reach the final image.")
	w("ARG PIP_INDEX_URL")
	w("ARG PIP_EXTRA_INDEX_URL")
	w("ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore")
}

// installDeps writes the dependency install of p with pip, the pip install command
// ("pip install", or with --target where the packages go elsewhere).
func installDeps(w func(string, ...any), p *plan.Plan, pip string) {
	files := p.Dependencies.Files
	// Plan paths are relative to the directory detect was given; COPY wants them relative
	// to the build context.
	ctxRel := func(f string) string {
		if p.Context == "." {
			return f
		}
		return strings.TrimPrefix(f, p.Context+"/")
	}
	copyFiles := func() {
		w("# Only the dependency files first, so a code change reuses the layers below.")
		byDir := map[string][]string{}
		var dirs []string
		for _, f := range files {
			r := ctxRel(f)
			d := path.Dir(r)
			if _, ok := byDir[d]; !ok {
				dirs = append(dirs, d)
			}
			byDir[d] = append(byDir[d], r)
		}
		for _, d := range dirs {
			dest := "./"
			if d != "." {
				dest = d + "/"
			}
			w("COPY %s %s", strings.Join(byDir[d], " "), dest)
		}
	}
	tools := func(pkgs string) {
		w("# The packaging tool goes into a venv of its own, so the app's venv holds only the app's needs.")
		w("RUN python -m venv /opt/tools && /opt/tools/bin/pip install %s", pkgs)
	}
	switch p.Dependencies.Manager {
	case "pip":
		copyFiles()
		w("RUN %s -r %s", pip, ctxRel(files[0]))
	case "uv":
		copyFiles()
		tools("uv")
		w("RUN /opt/tools/bin/uv export --frozen --no-dev --no-emit-project --format requirements-txt -o /tmp/requirements.txt \\")
		w(" && %s --require-hashes -r /tmp/requirements.txt", pip)
	case "poetry":
		copyFiles()
		tools("poetry poetry-plugin-export")
		w("RUN (test -f poetry.lock || /opt/tools/bin/poetry lock) \\")
		w(" && /opt/tools/bin/poetry export --only main --format requirements.txt --output /tmp/requirements.txt \\")
		w(" && %s -r /tmp/requirements.txt", pip)
	case "pdm":
		copyFiles()
		tools("pdm")
		w("RUN /opt/tools/bin/pdm export --prod --no-default --format requirements --output /tmp/requirements.txt \\")
		w(" && %s -r /tmp/requirements.txt", pip)
	case "pipenv":
		copyFiles()
		tools("pipenv")
		w("RUN (test -f Pipfile.lock || /opt/tools/bin/pipenv lock) \\")
		w(" && /opt/tools/bin/pipenv requirements > /tmp/requirements.txt \\")
		w(" && %s -r /tmp/requirements.txt", pip)
	case "pylock":
		copyFiles()
		tools("uv")
		if pip == "pip install" {
			w("RUN /opt/tools/bin/uv pip install --python /opt/venv/bin/python -r %s", ctxRel(files[0]))
		} else {
			w("RUN /opt/tools/bin/uv pip install --python python %s -r %s", strings.TrimPrefix(pip, "pip install "), ctxRel(files[0]))
		}
	case "pep621":
		copyFiles()
		w("# pip cannot install only a pyproject's dependencies, so read them with tomllib.")
		if needsTomli(p.PythonVersion) {
			w("RUN pip install tomli && python -c \"import tomli as t; d=t.load(open('pyproject.toml','rb')); print('\\n'.join(d['project'].get('dependencies', [])))\" > /tmp/requirements.txt \\")
		} else {
			w("RUN python -c \"import tomllib as t; d=t.load(open('pyproject.toml','rb')); print('\\n'.join(d['project'].get('dependencies', [])))\" > /tmp/requirements.txt \\")
		}
		w(" && %s -r /tmp/requirements.txt", pip)
	case "setuptools":
		w("# setup.py projects need their code to install; there is no dependency-only layer.")
		w("COPY . /src")
		w("RUN %s /src", pip)
	default:
		w("# No dependency files were found: only the server is installed.")
	}
}

func needsTomli(v string) bool {
	m := minor(v)
	return m == "3.8" || m == "3.9" || m == "3.10"
}

// collectstaticEnv gives collectstatic placeholder values for the secrets the settings
// read without a default.
func collectstaticEnv(p *plan.Plan) string {
	vals := map[string]string{"DJANGO_SECRET_KEY": "collectstatic-placeholder", "SECRET_KEY": "collectstatic-placeholder", "DATABASE_URL": "sqlite:////tmp/collectstatic.sqlite3"}
	names := []string{"SECRET_KEY", "DJANGO_SECRET_KEY", "DATABASE_URL"}
	for _, e := range p.EnvVars {
		if e.Required && vals[e.Name] == "" {
			vals[e.Name] = "collectstatic-placeholder"
			names = append(names, e.Name)
		}
	}
	var parts []string
	for _, n := range names {
		parts = append(parts, n+"="+vals[n])
	}
	return strings.Join(parts, " ")
}

// cmdJSON renders the server's shell line as an exec-form CMD through sh -c "exec …",
// so that ${PORT} expands at run time and the server still replaces the shell as PID 1.
func cmdJSON(script string) string {
	return fmt.Sprintf(`["/bin/sh", "-c", %s]`, jsonString(script))
}

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
