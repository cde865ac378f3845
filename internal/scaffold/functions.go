package scaffold

import (
	"fmt"
	"strings"

	"github.com/pyship/pyship/internal/plan"
)

// functionsPackages is where the Functions Python worker finds the app's packages
// (what func azure functionapp publish --build local fills).
const functionsPackages = plan.FunctionsRoot + "/.python_packages/lib/site-packages"

// functionsDockerfile is the Dockerfile of an Azure Functions app: Microsoft's
// Functions base image for the project's Python, the dependencies installed where the
// worker looks for them, the code in /home/site/wwwroot, and no command of pyship's:
// the base image's entrypoint starts the Functions host.
func functionsDockerfile(p *plan.Plan, o Options) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	w("# Written by `pyship init` from the project's Plan; `pyship detect` shows the evidence.")
	w("#   Azure Functions app (%s), run by the Functions host on port %d", p.Entrypoint, p.Port)
	w("#   dependencies: %s (%s); Python %s", p.Dependencies.Manager, strings.Join(p.Dependencies.Files, ", "), p.PythonVersion)
	w("# Build: docker build -t myfunc .    Run: docker run --rm -p 7071:%d --env-file .env myfunc", p.Port)
	w("# The host needs AzureWebJobsStorage (a storage connection) for most triggers; HTTP-only")
	w("# apps start without it.")
	w("")
	base := o.Base
	if base == "" {
		base = plan.FunctionsBase(p.PythonVersion)
	}
	w("# Microsoft's Functions base image: the Functions host (runtime 4), Python %s and its", minor(p.PythonVersion))
	w("# worker. Override to use a mirror or a digest-pinned base: --build-arg BASE_IMAGE=...")
	w("ARG BASE_IMAGE=%s", base)
	w("")
	w("# ---- Stage 1: the dependencies, where the Python worker looks for them ----")
	w("FROM ${BASE_IMAGE} AS deps")
	indexArgs(w)
	w("WORKDIR /src")
	installDeps(w, p, "pip install --target "+functionsPackages)
	if p.Dependencies.InstallProject {
		w("COPY . .")
		w("RUN pip install --target %s --no-deps .", functionsPackages)
	}
	w("")
	w("# ---- Stage 2: the function app ----")
	w("FROM ${BASE_IMAGE}")
	w("ENV AzureWebJobsScriptRoot=%s \\", plan.FunctionsRoot)
	w("    AzureFunctionsJobHost__Logging__Console__IsEnabled=true \\")
	w("    PYTHONDONTWRITEBYTECODE=1 \\")
	w("    PYTHONUNBUFFERED=1")
	w("COPY --from=deps %s %s", functionsPackages, functionsPackages)
	w("# The code last: a code change rebuilds only from here. .dockerignore keeps")
	w("# local.settings.json (its connection strings), .env, .venv and .git out.")
	w("COPY . %s", plan.FunctionsRoot)
	w("# The Functions host runs as root in Microsoft's base image, as Azure runs it there.")
	w("EXPOSE %d", p.Port)
	w("# No CMD: the base image's entrypoint starts the Functions host.")
	return b.String()
}
