package check

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pyship/pyship/internal/buildctx"
	"github.com/pyship/pyship/internal/plan"
)

// Severity orders findings; an Error makes `pyship check` exit 1.
type Severity string

// The severities, most serious first.
const (
	Error   Severity = "error"
	Warning Severity = "warning"
	Info    Severity = "info"
)

// Finding is one problem, with a stable ID and a one-line fix.
type Finding struct {
	ID       string   `json:"id"`
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	File     string   `json:"file,omitempty"`
	Line     int      `json:"line,omitempty"`
	Message  string   `json:"message"`
	Fix      string   `json:"fix"`
}

// Input is what the rules look at; any part may be missing.
type Input struct {
	Dir        string      // the build context
	Dockerfile *Dockerfile // nil when the project has none
	Context    *buildctx.Context
	Plan       *plan.Plan // nil when detection failed
	Now        time.Time
}

// Rules in ID order; each adds findings.
var rules = []struct {
	id, name string
	fn       func(in *Input, add func(Finding))
}{
	{"PS001", "secret-in-env", secretInEnv},
	{"PS002", "secret-in-arg", secretInArg},
	{"PS003", "secret-in-context", secretInContext},
	{"PS004", "copy-before-install", copyBeforeInstall},
	{"PS005", "root-user", rootUser},
	{"PS006", "dev-server", devServerCmd},
	{"PS007", "bind-localhost", bindLocalhost},
	{"PS008", "port-mismatch", portMismatch},
	{"PS009", "shell-form-cmd", shellForm},
	{"PS010", "unpinned-base", unpinnedBase},
	{"PS011", "eol-python", eolPython},
	{"PS012", "no-pythonunbuffered", noUnbuffered},
	{"PS013", "pip-cache", pipCache},
	{"PS014", "django-debug", djangoDebug},
	{"PS015", "django-allowed-hosts", djangoHosts},
	{"PS016", "no-dockerignore", noDockerignore},
	{"PS017", "venv-in-context", venvInContext},
	{"PS018", "migrate-in-cmd", migrateInCmd},
}

// Run applies every rule and returns the findings, errors first.
func Run(in *Input) []Finding {
	var out []Finding
	for _, r := range rules {
		r.fn(in, func(f Finding) {
			f.ID, f.Rule = r.id, r.name
			if f.File == "" && f.Line > 0 && in.Dockerfile != nil {
				f.File = in.Dockerfile.File
			}
			out = append(out, f)
		})
	}
	rank := map[Severity]int{Error: 0, Warning: 1, Info: 2}
	sort.SliceStable(out, func(i, j int) bool { return rank[out[i].Severity] < rank[out[j].Severity] })
	return out
}

// HasErrors reports whether any finding is an error.
func HasErrors(fs []Finding) bool {
	for _, f := range fs {
		if f.Severity == Error {
			return true
		}
	}
	return false
}

var credURL = regexp.MustCompile(`[a-z][a-z0-9+.-]*://[^/\s:@]+:([^@\s/]+)@`)

// secretValue reports whether a literal value looks like it holds a secret for name.
func secretValue(name, value string) bool {
	v := strings.Trim(value, `"'`)
	if v == "" || strings.HasPrefix(v, "$") {
		return false // empty or a reference to another variable
	}
	if m := credURL.FindStringSubmatch(v); m != nil && !strings.HasPrefix(m[1], "$") {
		return true
	}
	return plan.IsSecretName(name) && !placeholder(v)
}

func placeholder(v string) bool {
	l := strings.ToLower(v)
	return strings.Contains(l, "placeholder") || strings.Contains(l, "changeme") || l == "dummy" || strings.HasPrefix(l, "<")
}

func secretInEnv(in *Input, add func(Finding)) {
	if in.Dockerfile == nil {
		return
	}
	final := in.Dockerfile.Final()
	for _, st := range in.Dockerfile.Stages {
		for _, ins := range st.Instructions {
			if ins.Cmd != "env" {
				continue
			}
			for i := 0; i+1 < len(ins.Args); i += 2 {
				k, v := ins.Args[i], ins.Args[i+1]
				if !secretValue(k, v) {
					continue
				}
				sev := Error
				msg := fmt.Sprintf("ENV %s holds a secret: it is stored in the image config, visible to `docker inspect` and everyone who pulls the image", k)
				if st.Base != final.Base || st.Line != final.Line {
					sev = Warning
					msg = fmt.Sprintf("ENV %s holds a secret in a build stage; it stays in that stage's cache and history", k)
				}
				add(Finding{Severity: sev, Line: ins.Line, Message: msg, Fix: fmt.Sprintf("remove it and pass %s at run time (docker run --env-file, a platform secret), or use a BuildKit secret mount for build steps", k)})
			}
		}
	}
}

func secretInArg(in *Input, add func(Finding)) {
	if in.Dockerfile == nil {
		return
	}
	check := func(ins Instruction, final bool) {
		for _, kv := range ins.Args {
			k, v, hasDefault := strings.Cut(kv, "=")
			switch {
			case hasDefault && secretValue(k, v):
				add(Finding{Severity: Error, Line: ins.Line, Message: fmt.Sprintf("ARG %s has a secret default, written into the Dockerfile and the image history", k),
					Fix: "remove the default and give the value with a BuildKit secret (RUN --mount=type=secret)"})
			case !hasDefault && plan.IsSecretName(k) && final:
				add(Finding{Severity: Warning, Line: ins.Line, Message: fmt.Sprintf("ARG %s in the final stage: build arguments used by RUN are recorded in the image history", k),
					Fix: "use a BuildKit secret mount, or use the ARG only in a build stage that the final image does not inherit"})
			}
		}
	}
	for _, a := range in.Dockerfile.MetaArgs {
		check(a, false)
	}
	final := in.Dockerfile.Final()
	for _, st := range in.Dockerfile.Stages {
		for _, ins := range st.Instructions {
			if ins.Cmd == "arg" {
				check(ins, st.Line == final.Line)
			}
		}
	}
}

// sensitiveFile reports whether a context path is a secret by its name.
func sensitiveFile(rel string) string {
	base := path.Base(rel)
	switch {
	case base == ".env" || (strings.HasPrefix(base, ".env.") && !strings.HasSuffix(base, ".example") && !strings.HasSuffix(base, ".sample") && !strings.HasSuffix(base, ".template")):
		return "environment file"
	case strings.HasSuffix(base, ".pem") || strings.HasSuffix(base, ".key") || strings.HasSuffix(base, ".p12") || strings.HasSuffix(base, ".pfx"):
		return "private key or certificate"
	case base == "id_rsa" || base == "id_ed25519" || base == "id_ecdsa" || base == "id_dsa":
		return "SSH private key"
	case base == ".netrc" || base == ".pypirc" || base == ".npmrc" || base == ".git-credentials":
		return "credentials file"
	case base == "credentials.json" || strings.Contains(base, "service-account") && strings.HasSuffix(base, ".json"):
		return "cloud credentials"
	case strings.HasPrefix(rel, ".aws/") || strings.Contains(rel, "/.aws/"):
		return "AWS credentials"
	}
	return ""
}

func copiesContext(d *Dockerfile) bool {
	if d == nil {
		return true // a daemonless build copies the context too
	}
	for _, st := range d.Stages {
		for _, ins := range st.Instructions {
			if (ins.Cmd == "copy" || ins.Cmd == "add") && !hasFlag(ins.Flags, "--from") {
				for _, a := range ins.Args[:max(0, len(ins.Args)-1)] {
					if a == "." || a == "./" || a == "*" {
						return true
					}
				}
			}
		}
	}
	return false
}

func hasFlag(flags []string, name string) bool {
	for _, f := range flags {
		if strings.HasPrefix(f, name) {
			return true
		}
	}
	return false
}

func secretInContext(in *Input, add func(Finding)) {
	if in.Context == nil {
		return
	}
	files, err := in.Context.Files()
	if err != nil {
		return
	}
	sev := Warning
	verb := "is sent to the builder"
	switch {
	case in.Dockerfile == nil:
		sev, verb = Error, "is copied into the image by pyship build (no Dockerfile here)"
	case copiesContext(in.Dockerfile):
		sev, verb = Error, "is copied into the image by COPY ."
	}
	for _, f := range files {
		if kind := sensitiveFile(f); kind != "" {
			add(Finding{Severity: sev, File: f, Message: fmt.Sprintf("%s (%s) %s", f, kind, verb),
				Fix: fmt.Sprintf("add %s to .dockerignore (pyship init writes one that covers it)", ignoreLine(f))})
		}
	}
}

func ignoreLine(f string) string {
	if strings.HasPrefix(path.Base(f), ".env") {
		return ".env*"
	}
	return f
}

var (
	installRe    = regexp.MustCompile(`\b(pip3?|uv|poetry|pipenv|pdm)\b.*\b(install|sync)\b`)
	pipInstallRe = regexp.MustCompile(`\bpip3?\s+install\b`)
)

func isInstall(run string) bool { return installRe.MatchString(run) }

func copyBeforeInstall(in *Input, add func(Finding)) {
	if in.Dockerfile == nil {
		return
	}
	for _, st := range in.Dockerfile.Stages {
		var copyAll *Instruction
		for i, ins := range st.Instructions {
			if (ins.Cmd == "copy" || ins.Cmd == "add") && !hasFlag(ins.Flags, "--from") && len(ins.Args) >= 2 && (ins.Args[0] == "." || ins.Args[0] == "./") {
				copyAll = &st.Instructions[i]
			}
			if ins.Cmd == "run" && copyAll != nil && isInstall(strings.Join(ins.Args, " ")) && !strings.Contains(strings.Join(ins.Args, " "), "--no-deps") {
				add(Finding{Severity: Warning, Line: copyAll.Line, Message: fmt.Sprintf("COPY . comes before the dependency install (line %d): every code change reinstalls every dependency", ins.Line),
					Fix: "COPY the dependency files (requirements.txt, pyproject.toml, lock) first, install, then COPY . ."})
				return
			}
		}
	}
}

func rootUser(in *Input, add func(Finding)) {
	if in.Dockerfile == nil {
		return
	}
	final := in.Dockerfile.Final()
	user, line := "", final.Line
	for _, ins := range final.Instructions {
		if ins.Cmd == "user" && len(ins.Args) > 0 {
			user, line = ins.Args[0], ins.Line
		}
	}
	name := strings.SplitN(user, ":", 2)[0]
	if user == "" && strings.HasPrefix(in.Dockerfile.ResolveBase(final.Base), "mcr.microsoft.com/azure-functions/") {
		// Microsoft's Functions images run the host as root, and Azure runs them so:
		// a USER there is the user's informed choice, not pyship's advice.
		add(Finding{Severity: Info, Line: line, Message: "the Functions host runs as root, as Microsoft's Functions base image and Azure run it",
			Fix: "nothing to do for Azure Functions; elsewhere prefer a numeric non-root USER"})
		return
	}
	if user == "" || name == "root" || name == "0" {
		msg := "the image runs as root: a compromised app owns the container"
		if user != "" {
			msg = "USER " + user + " runs the app as root"
		}
		add(Finding{Severity: Error, Line: line, Message: msg, Fix: "create a user and switch to it by number: RUN useradd --uid 10001 ... then USER 10001:10001"})
	}
}

func devServerCmd(in *Input, add func(Finding)) {
	if in.Dockerfile == nil {
		return
	}
	cmd, at := in.Dockerfile.Final().Command()
	if at == nil {
		return
	}
	if what := devServer(cmd); what != "" {
		add(Finding{Severity: Error, Line: at.Line, Message: fmt.Sprintf("the image starts %s, a development server: single-threaded, unhardened, slow", what),
			Fix: "serve with gunicorn (WSGI) or uvicorn (ASGI); `pyship init` writes the command"})
	}
}

// devServer names the development server a command starts, or "".
func devServer(cmd string) string {
	s := " " + strings.Join(strings.Fields(cmd), " ") + " "
	for _, dev := range []struct{ needle, what string }{
		{"flask run", "flask run"}, {"manage.py runserver", "Django's runserver"}, {"fastapi dev", "fastapi dev"},
		{" --reload", "a reloading server"}, {"app.run(", "Flask's app.run()"},
	} {
		if strings.Contains(s, dev.needle) {
			return dev.what
		}
	}
	return ""
}

var hostArg = regexp.MustCompile(`(?:--bind[= ]|-b\s*|--host[= ]|-H\s*|--listen=)["']?(127\.0\.0\.1|localhost)\b`)

func bindLocalhost(in *Input, add func(Finding)) {
	if in.Dockerfile == nil {
		return
	}
	cmd, at := in.Dockerfile.Final().Command()
	if at != nil && hostArg.MatchString(cmd) {
		add(Finding{Severity: Error, Line: at.Line, Message: "the server binds 127.0.0.1 inside the container: nothing outside it can connect",
			Fix: "bind 0.0.0.0 (gunicorn --bind 0.0.0.0:$PORT, uvicorn --host 0.0.0.0)"})
	}
}

var portInCmd = regexp.MustCompile(`(?:--bind[= ]|-b\s*|--listen=)["']?[\w.]*:(\d+)|--port[= ](\d+)|-p\s+(\d+)`)

func portMismatch(in *Input, add func(Finding)) {
	if in.Dockerfile == nil {
		return
	}
	final := in.Dockerfile.Final()
	var exposed []int
	exposeLine := 0
	for _, ins := range final.Instructions {
		if ins.Cmd != "expose" {
			continue
		}
		for _, a := range ins.Args {
			if n, err := strconv.Atoi(strings.SplitN(a, "/", 2)[0]); err == nil {
				exposed = append(exposed, n)
				exposeLine = ins.Line
			}
		}
	}
	env := envOf(final)
	cmd, at := final.Command()
	listen := 0
	if m := portInCmd.FindStringSubmatch(cmd); m != nil {
		listen, _ = strconv.Atoi(firstNonEmpty(m[1], m[2], m[3]))
	} else if strings.Contains(cmd, "PORT") {
		listen, _ = strconv.Atoi(env["PORT"])
	}
	if listen > 0 && len(exposed) > 0 && !containsInt(exposed, listen) && at != nil {
		add(Finding{Severity: Error, Line: at.Line, Message: fmt.Sprintf("the server listens on %d but the image EXPOSEs %v: platforms that read EXPOSE route to a closed port", listen, exposed),
			Fix: fmt.Sprintf("EXPOSE %d (and set the platform's target port, e.g. WEBSITES_PORT or ingress targetPort, to it)", listen)})
	}
	if in.Plan != nil && len(exposed) > 0 && listen == 0 && !containsInt(exposed, in.Plan.Port) {
		add(Finding{Severity: Warning, Line: exposeLine, Message: fmt.Sprintf("the image EXPOSEs %v but the app's port is %d (%s)", exposed, in.Plan.Port, "from pyship detect"),
			Fix: fmt.Sprintf("EXPOSE %d, or declare the port in pyship.toml", in.Plan.Port)})
	}
}

func containsInt(l []int, n int) bool {
	for _, x := range l {
		if x == n {
			return true
		}
	}
	return false
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func shellForm(in *Input, add func(Finding)) {
	if in.Dockerfile == nil {
		return
	}
	for _, ins := range in.Dockerfile.Final().Instructions {
		if ins.Cmd != "cmd" && ins.Cmd != "entrypoint" {
			continue
		}
		switch {
		case !ins.JSON:
			add(Finding{Severity: Warning, Line: ins.Line, Message: strings.ToUpper(ins.Cmd) + " in shell form: /bin/sh is PID 1 and does not pass SIGTERM on, so stops wait for the kill timeout",
				Fix: `use the exec form: CMD ["gunicorn", ...], or CMD ["/bin/sh", "-c", "exec gunicorn ..."] to expand $PORT`})
		case len(ins.Args) >= 3 && (path.Base(ins.Args[0]) == "sh" || path.Base(ins.Args[0]) == "bash") && ins.Args[1] == "-c" && !strings.HasPrefix(strings.TrimSpace(ins.Args[2]), "exec "):
			add(Finding{Severity: Warning, Line: ins.Line, Message: "sh -c without exec: the shell stays PID 1 and the server never gets SIGTERM",
				Fix: "start the command with exec: [\"/bin/sh\", \"-c\", \"exec " + strings.TrimSpace(strings.Join(ins.Args[2:], " ")) + "\"]"})
		}
	}
}

func unpinnedBase(in *Input, add func(Finding)) {
	if in.Dockerfile == nil {
		return
	}
	stageNames := map[string]bool{}
	for _, st := range in.Dockerfile.Stages {
		base := in.Dockerfile.ResolveBase(st.Base)
		if stageNames[base] || base == "scratch" {
			if st.Name != "" {
				stageNames[st.Name] = true
			}
			continue
		}
		if st.Name != "" {
			stageNames[st.Name] = true
		}
		if strings.Contains(base, "@sha256:") || strings.Contains(base, "$") {
			continue
		}
		lastPart := base[strings.LastIndex(base, "/")+1:]
		if !strings.Contains(lastPart, ":") || strings.HasSuffix(base, ":latest") {
			add(Finding{Severity: Warning, Line: st.Line, Message: fmt.Sprintf("FROM %s floats: the Python version and OS change under you between builds", base),
				Fix: "pin a version tag such as python:3.13-slim-bookworm (or a digest)"})
		}
	}
}

var pyTag = regexp.MustCompile(`(?:^|/)python:(\d+\.\d+)`)

func eolPython(in *Input, add func(Finding)) {
	if in.Dockerfile != nil {
		for _, st := range in.Dockerfile.Stages {
			base := in.Dockerfile.ResolveBase(st.Base)
			m := pyTag.FindStringSubmatch(base)
			if m == nil {
				continue
			}
			if eol, ok := plan.PythonEOL(m[1]); ok && !in.Now.Before(eol) {
				add(Finding{Severity: Error, Line: st.Line, Message: fmt.Sprintf("Python %s reached its end of life on %s: no more security fixes", m[1], eol.Format("2006-01-02")),
					Fix: fmt.Sprintf("move to python:%s-slim", plan.DefaultPython())})
				return
			}
		}
		return
	}
	if in.Plan != nil {
		if eol, ok := plan.PythonEOL(in.Plan.PythonVersion); ok && !in.Now.Before(eol) {
			add(Finding{Severity: Error, Message: fmt.Sprintf("the project targets Python %s, end of life since %s", in.Plan.PythonVersion, eol.Format("2006-01-02")),
				Fix: "update .python-version / requires-python to " + plan.DefaultPython()})
		}
	}
}

func envOf(st *Stage) map[string]string {
	env := map[string]string{}
	for _, ins := range st.Instructions {
		if ins.Cmd == "env" {
			for i := 0; i+1 < len(ins.Args); i += 2 {
				env[ins.Args[i]] = ins.Args[i+1]
			}
		}
	}
	return env
}

func noUnbuffered(in *Input, add func(Finding)) {
	if in.Dockerfile == nil {
		return
	}
	final := in.Dockerfile.Final()
	if v, ok := envOf(final)["PYTHONUNBUFFERED"]; !ok || v == "" || v == "0" {
		add(Finding{Severity: Warning, Line: final.Line, Message: "PYTHONUNBUFFERED is not set: print() and logging output sits in a buffer and is lost when the container dies",
			Fix: "ENV PYTHONUNBUFFERED=1"})
	}
}

func pipCache(in *Input, add func(Finding)) {
	if in.Dockerfile == nil {
		return
	}
	final := in.Dockerfile.Final()
	env := envOf(final)
	if env["PIP_NO_CACHE_DIR"] != "" && env["PIP_NO_CACHE_DIR"] != "0" && env["PIP_NO_CACHE_DIR"] != "false" {
		return
	}
	for _, ins := range final.Instructions {
		run := strings.Join(ins.Args, " ")
		if ins.Cmd == "run" && pipInstallRe.MatchString(run) &&
			!strings.Contains(run, "--no-cache-dir") && !hasFlag(ins.Flags, "--mount=type=cache") && !strings.Contains(run, "rm -rf /root/.cache") {
			add(Finding{Severity: Warning, Line: ins.Line, Message: "pip install keeps its download cache in the image (often tens of MB)",
				Fix: "pip install --no-cache-dir, or ENV PIP_NO_CACHE_DIR=1, or a BuildKit cache mount"})
			return
		}
	}
}

func djangoDebug(in *Input, add func(Finding)) {
	if in.Plan == nil || in.Plan.Django == nil {
		return
	}
	for _, w := range in.Plan.Warnings {
		if strings.Contains(w, "DEBUG = True") {
			file, line := fileLine(w)
			add(Finding{Severity: Error, File: file, Line: line, Message: "DEBUG = True in the settings the image runs: tracebacks and settings are shown to anyone",
				Fix: `DEBUG = os.environ.get("DJANGO_DEBUG") == "1"`})
		}
	}
}

func djangoHosts(in *Input, add func(Finding)) {
	if in.Plan == nil || in.Plan.Django == nil {
		return
	}
	for _, w := range in.Plan.Warnings {
		if strings.Contains(w, "ALLOWED_HOSTS is empty") {
			file, line := fileLine(w)
			add(Finding{Severity: Error, File: file, Line: line, Message: "ALLOWED_HOSTS is empty with DEBUG off: every request, health checks included, gets 400 DisallowedHost",
				Fix: `ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost").split(",")`})
		}
	}
}

var fileLineRe = regexp.MustCompile(`^([^\s:]+):(\d+)`)

func fileLine(s string) (string, int) {
	if m := fileLineRe.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[2])
		return m[1], n
	}
	return "", 0
}

func noDockerignore(in *Input, add func(Finding)) {
	if in.Dir == "" {
		return
	}
	if _, err := os.Stat(filepath.Join(in.Dir, ".dockerignore")); err != nil {
		add(Finding{Severity: Warning, Message: "no .dockerignore: the whole folder (.git, .venv, .env) goes to the builder",
			Fix: "pyship init writes one (it merges into an existing file)"})
	}
}

func venvInContext(in *Input, add func(Finding)) {
	if in.Context == nil {
		return
	}
	entries, err := os.ReadDir(in.Dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(in.Dir, e.Name(), "pyvenv.cfg")); err == nil && !in.Context.Excluded(e.Name()) {
			add(Finding{Severity: Warning, File: e.Name(), Message: fmt.Sprintf("the virtualenv %s/ is in the build context: host binaries in the image, and a slow build", e.Name()),
				Fix: "add " + e.Name() + " to .dockerignore"})
		}
		if (e.Name() == ".git") && !in.Context.Excluded(".git") {
			add(Finding{Severity: Warning, File: ".git", Message: ".git is in the build context: history (and any secret ever committed) can reach the image",
				Fix: "add .git to .dockerignore"})
		}
	}
}

func migrateInCmd(in *Input, add func(Finding)) {
	if in.Dockerfile == nil {
		return
	}
	cmd, at := in.Dockerfile.Final().Command()
	if at != nil && (strings.Contains(cmd, "manage.py migrate") || strings.Contains(cmd, "alembic upgrade")) {
		add(Finding{Severity: Warning, Line: at.Line, Message: "migrations run in the start command: replicas that start together race on the schema",
			Fix: "run migrations once per release, as a one-off job before the new revision starts"})
	}
}
