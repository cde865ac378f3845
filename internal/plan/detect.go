package plan

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pyship/pyship/internal/pyproject"
)

// Options are the explicit declarations that win over detection (from the command line).
type Options struct {
	AppRoot    string    // a subdirectory holding the app
	Entrypoint string    // "module:attr" or "module:factory()"
	Framework  Framework // forces the framework
	Server     string    // the full server command line
	Port       int
	Python     string
	// SettingsModule is the Django settings module the image runs with.
	SettingsModule string
	Now            time.Time // for end-of-life warnings; zero means time.Now()
}

type detector struct {
	t      *tree
	opts   Options
	cfg    config
	plan   *Plan
	extras map[string][]string
	// root is the top directory's manifests, read once by chooseContext.
	root    *manifests
	rootErr error
	// scriptPort is the port a [project.scripts] server passes to uvicorn.run and the like.
	scriptPort int
}

// Detect reads the project in fsys and returns its Plan. A project whose entry point or
// app root cannot be settled gives an *AmbiguousError that says how to settle it.
func Detect(fsys fs.FS, opts Options) (*Plan, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	t, err := walk(fsys)
	if err != nil {
		return nil, err
	}
	d := &detector{t: t, opts: opts, plan: &Plan{
		Context: ".", AppRoot: ".", PythonPath: []string{}, Services: []Service{},
		EnvVars: []EnvVar{}, Warnings: []string{}, Evidence: []Evidence{},
	}}
	if err := d.run(); err != nil {
		return nil, err
	}
	return d.plan, nil
}

func (d *detector) evidence(field, value, file string, line int, rule string) {
	d.plan.Evidence = append(d.plan.Evidence, Evidence{Field: field, Value: value, File: file, Line: line, Rule: rule})
}

func (d *detector) warn(msg string) { d.plan.Warnings = append(d.plan.Warnings, msg) }

func (d *detector) run() error {
	// Configuration at the top level first: it may name the app root.
	if err := d.loadConfig("."); err != nil {
		return err
	}
	if m := d.opts.SettingsModule; m != "" {
		if err := ValidModule(m); err != nil {
			return fmt.Errorf("--settings-module: %w", err)
		}
	}
	ctx, err := d.chooseContext()
	if err != nil {
		return err
	}
	d.plan.Context, d.plan.AppRoot = ctx, ctx
	if ctx != "." {
		if err := d.loadConfig(ctx); err != nil {
			return err
		}
	}
	m, err := d.root, d.rootErr
	if ctx != "." || m == nil {
		m, err = readManifests(d.t, ctx)
	}
	if err != nil {
		return err
	}
	d.chooseManager(m)
	d.lockAbove(ctx)
	if err := d.choosePython(m); err != nil {
		return err
	}
	d.existingFiles(ctx)
	if fn := d.functionsProject(ctx); fn != nil {
		// Before the entry point: a Functions app may wrap a web app
		// (func.AsgiFunctionApp), which the Functions host serves, not a server.
		d.functionsApp(fn)
		d.scanEnv()
		d.services()
		d.undeclaredImports(m)
		d.finalWarnings()
		return nil
	}
	if err := d.chooseApp(m); err != nil {
		return err
	}
	d.chooseServer()
	d.choosePort()
	d.scanEnv()
	d.services()
	d.serverUndeclared(m)
	d.undeclaredImports(m)
	d.finalWarnings()
	return nil
}

// manifestNames are files that make a directory a Python project root.
func isManifest(name string) bool {
	return name == "requirements.txt" || name == "pyproject.toml" || name == "Pipfile" || name == "setup.py" ||
		name == "manage.py" || pyproject.LockKind(name) != "" || requirementsRe.MatchString(name)
}

// chooseContext finds the directory that holds the project: the given one, or the one
// subproject of a monorepo.
func (d *detector) chooseContext() (string, error) {
	if root := firstNonEmpty(d.opts.AppRoot, d.cfg.AppRoot); root != "" {
		root = path.Clean(strings.TrimPrefix(root, "./"))
		if !d.t.dirs[root] {
			return "", fmt.Errorf("app root %q is not a directory of the project", root)
		}
		d.evidence("app_root", root, "", 0, "declared")
		return root, nil
	}
	// What the repository says: its deployment files, then a uv workspace's members.
	if src, ok := d.deployRoot(); ok {
		d.evidence("app_root", src.dir, src.file, src.line, src.rule)
		return src.dir, nil
	}
	if ws := d.uvWorkspace(); ws != nil && !d.rootOwnWeb() {
		var web []string
		for _, m := range ws.members {
			if d.hasWeb(m) {
				web = append(web, m)
			}
		}
		switch len(web) {
		case 1:
			d.evidence("app_root", web[0], ws.file, ws.line, "the uv workspace member that declares a web framework or server (the workspace root declares none)")
			return web[0], nil
		case 0:
		default:
			var cands []Candidate
			var fixes []string
			for _, m := range web {
				cands = append(cands, Candidate{Value: m, File: join(m, "pyproject.toml"), Reason: "uv workspace member with a web framework"})
				fixes = append(fixes, "--app-root "+m)
			}
			return "", &AmbiguousError{Field: "app root", Candidates: cands, Fix: fixes}
		}
	}
	rootHas := false
	for _, f := range d.t.files {
		if !strings.Contains(f, "/") && (isManifest(f) || strings.HasSuffix(f, ".py")) {
			rootHas = true
			break
		}
	}
	// A project found only in a benchmark, test, example or docs folder is not the app.
	var subs, samples []string
	for _, s := range d.subprojects() {
		if inSampleDir(s + "/x") {
			samples = append(samples, s)
		} else {
			subs = append(subs, s)
		}
	}
	if rootHas && (d.rootHasWeb() || len(subs) == 0) {
		return ".", nil
	}
	switch len(subs) {
	case 0:
		if len(samples) > 0 {
			return "", d.samplesOnly()
		}
		return "", fmt.Errorf("%w: no requirements.txt, pyproject.toml, Pipfile, setup.py, manage.py or .py file here or in the folders below", ErrNotPython)
	case 1:
		d.evidence("app_root", subs[0], "", 0, "the only Python project below the given directory")
		return subs[0], nil
	}
	var cands []Candidate
	var fixes []string
	for _, s := range subs {
		cands = append(cands, Candidate{Value: s, Reason: "Python project"})
		fixes = append(fixes, "--app-root "+s)
	}
	return "", &AmbiguousError{Field: "app root", Candidates: cands, Fix: fixes}
}

// sampleProjects are the folders below benchmark, test, example and docs folders that
// hold a project of their own (a manifest or manage.py), innermost manage.py first.
func (d *detector) sampleProjects() []Candidate {
	var out []Candidate
	seen := map[string]bool{}
	for _, f := range d.t.files {
		dir, name := path.Dir(f), path.Base(f)
		if seen[dir] || !inSampleDir(f) || !(name == "manage.py" || name == "requirements.txt" || name == "pyproject.toml" || name == "setup.py" || name == "Pipfile") {
			continue
		}
		seen[dir] = true
		reason := "a project of its own"
		if name == "manage.py" {
			reason = "a Django project"
		}
		out = append(out, Candidate{Value: dir, File: f, Reason: reason + " in a benchmark, test, example or docs folder: not chosen on its own"})
	}
	return out
}

// samplesOnly: the only Python projects are samples; list them.
func (d *detector) samplesOnly() error {
	cands := d.sampleProjects()
	var fixes []string
	for _, c := range cands {
		fixes = append(fixes, "--app-root "+c.Value)
	}
	return &AmbiguousError{Field: "app root", Candidates: cands, Fix: fixes}
}

// rootOwnWeb: the top directory's own manifests (not a workspace lock, which covers the
// members) declare a web framework or server, or it holds manage.py.
func (d *detector) rootOwnWeb() bool {
	if d.t.has("manage.py") {
		return true
	}
	m, err := readManifests(d.t, ".")
	if err != nil {
		return true // the root is the project; run reports the error
	}
	m.locks = nil
	for _, p := range m.names() {
		if webPackages[p] {
			return true
		}
	}
	return false
}

// rootHasWeb: a root manifest that declares a web framework or server, or a manage.py.
func (d *detector) rootHasWeb() bool {
	if d.t.has("manage.py") {
		return true
	}
	d.root, d.rootErr = readManifests(d.t, ".")
	if d.rootErr != nil {
		return true // the root is the project; run reports the error
	}
	for _, p := range d.root.names() {
		if webPackages[p] {
			return true
		}
	}
	return false
}

var webPackages = map[string]bool{
	"django": true, "flask": true, "fastapi": true, "starlette": true, "quart": true, "litestar": true,
	"falcon": true, "dash": true, "gunicorn": true, "uvicorn": true, "hypercorn": true, "daphne": true,
	"waitress": true, "granian": true, "sanic": true, "bottle": true, "pyramid": true, "aiohttp": true,
}

// subprojects are directories at depth 1 or 2 with their own manifest.
func (d *detector) subprojects() []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range d.t.files {
		dir, name := path.Split(f)
		dir = strings.TrimSuffix(dir, "/")
		if dir == "" || strings.Count(dir, "/") > 1 || seen[dir] {
			continue
		}
		if name == "manage.py" || name == "requirements.txt" || name == "pyproject.toml" || name == "Pipfile" || name == "setup.py" {
			// A manage.py below a root project is the nested-Django case, handled later.
			seen[dir] = true
			out = append(out, dir)
		}
	}
	// A directory inside another candidate is part of it.
	sort.Strings(out)
	var top []string
	for _, s := range out {
		if len(top) > 0 && strings.HasPrefix(s, top[len(top)-1]+"/") {
			continue
		}
		top = append(top, s)
	}
	return top
}

func (d *detector) lockAbove(ctx string) {
	if ctx == "." {
		return
	}
	for dir := path.Dir(ctx); ; dir = path.Dir(dir) {
		for _, f := range rootFilesIn(d.t, dir) {
			if pyproject.LockKind(path.Base(f)) != "" {
				if ws := d.uvWorkspace(); ws != nil && dir == "." && contains(ws.members, ctx) {
					d.warn(fmt.Sprintf("%s is the lock of the uv workspace in %s and sits above the app root %s: pyship installs %s's own [project] dependencies, resolved at build time (not the lock's pins, and none of the workspace's development groups)", f, ws.file, ctx, ctx))
					continue
				}
				d.warn(fmt.Sprintf("%s sits above the app root %s and is not used: the image holds %s only, and its dependencies come from the manifests there", f, ctx, ctx))
			}
		}
		if dir == "." {
			return
		}
	}
}

func rootFilesIn(t *tree, dir string) []string {
	var out []string
	for _, f := range t.files {
		if path.Dir(f) == dir {
			out = append(out, f)
		}
	}
	return out
}

func (d *detector) choosePython(m *manifests) error {
	p := d.plan
	set := func(v, file string, line int, rule string) {
		p.PythonVersion = v
		d.evidence("python_version", v, file, line, rule)
	}
	ctx := p.Context
	switch {
	case d.opts.Python != "":
		if err := ValidPython(d.opts.Python); err != nil {
			return fmt.Errorf("--python: %w", err)
		}
		set(d.opts.Python, "", 0, "--python flag")
	case d.cfg.Python != "":
		file, line := d.cfg.at("python")
		set(d.cfg.Python, file, line, "declared in pyship configuration")
	}
	for _, name := range []string{".python-version", "runtime.txt"} {
		if p.PythonVersion != "" {
			break
		}
		f := join(ctx, name)
		if !d.t.has(f) && ctx != "." && d.t.has(name) {
			f = name
		}
		if !d.t.has(f) {
			continue
		}
		v, line, err := pythonFromFile(d.t.read(f))
		if err != nil {
			return &pyproject.ParseError{File: f, Line: line, Msg: err.Error()}
		}
		set(v, f, line, name+" names the version")
	}
	if p.PythonVersion == "" && m.pipfile != nil && m.pipfile.PythonVersion != "" {
		set(m.pipfile.PythonVersion, m.pipfile.File, 0, "Pipfile [requires]")
	}
	if p.PythonVersion == "" {
		for _, l := range m.locks {
			if l.Kind == "pipenv" && l.RequiresPython != "" {
				set(l.RequiresPython, l.File, 0, "Pipfile.lock _meta.requires")
			}
		}
	}
	if p.PythonVersion == "" {
		type source struct{ c, file, rule string }
		var sources []source
		if m.pyproject != nil && m.pyproject.RequiresPython != "" {
			sources = append(sources, source{m.pyproject.RequiresPython, m.pyproject.File, "requires-python"})
		}
		if m.pyproject != nil && m.pyproject.PoetryPython != "" {
			sources = append(sources, source{m.pyproject.PoetryPython, m.pyproject.File, "[tool.poetry.dependencies] python"})
		}
		for _, l := range m.locks {
			if l.RequiresPython != "" && l.Kind != "pipenv" {
				sources = append(sources, source{l.RequiresPython, l.File, "requires-python of the lock"})
			}
		}
		if len(sources) > 0 {
			s := sources[0] // the manifest's own constraint comes before a lock's copy of it
			v, err := chooseForConstraint(s.c)
			if err != nil {
				return &pyproject.ParseError{File: s.file, Line: lineOfText(d.t.read(s.file), s.c), Msg: err.Error()}
			}
			set(v, s.file, lineOfText(d.t.read(s.file), s.c), fmt.Sprintf("newest supported minor that satisfies %s %q", s.rule, s.c))
		}
	}
	if p.PythonVersion == "" {
		set(DefaultPython(), "", 0, "no version declared: pyship's default (newest supported minor); pin it in .python-version")
	}
	if _, err := pyproject.ParseVersion(p.PythonVersion); err != nil {
		return fmt.Errorf("python version %q: %v", p.PythonVersion, err)
	}
	if eol, ok := PythonEOL(p.PythonVersion); ok && !d.opts.Now.Before(eol) {
		d.warn(fmt.Sprintf("Python %s reached its end of life on %s and gets no security fixes; move to %s", minorOf(p.PythonVersion), eol.Format("2006-01-02"), DefaultPython()))
	}
	return nil
}

func (d *detector) existingFiles(ctx string) {
	e := &d.plan.Existing
	for _, f := range rootFilesIn(d.t, ctx) {
		base := path.Base(f)
		switch {
		case base == "Dockerfile":
			e.Dockerfile = f
		case base == ".dockerignore":
			e.Dockerignore = f
		case base == "Procfile":
			e.Procfile = f
		case base == "compose.yaml" || base == "compose.yml" || base == "docker-compose.yml" || base == "docker-compose.yaml":
			e.Compose = append(e.Compose, f)
		}
	}
}

func (d *detector) finalWarnings() {
	var unread []string
	for f := range d.t.pyErrs {
		unread = append(unread, f)
	}
	sort.Strings(unread)
	for _, f := range unread {
		d.warn(fmt.Sprintf("%s was not read (%v); if it defines the app or reads settings, detection did not see it", f, d.t.pyErrs[f]))
	}
	if d.plan.AddServer {
		d.warn(fmt.Sprintf("no production server in the dependencies: the image installs %s; add it to %s to pin its version",
			d.plan.ServerPackage, firstNonEmpty(strings.Join(d.plan.Dependencies.Files, ", "), "your dependencies")))
	}
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func itoa(n int) string { return strconv.Itoa(n) }

// lineOfText is the 1-based line where text first appears in data, 0 if nowhere.
func lineOfText(data []byte, text string) int {
	i := strings.Index(string(data), text)
	if i < 0 {
		return 0
	}
	return 1 + strings.Count(string(data[:i]), "\n")
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
