package plan

import (
	"fmt"
	"regexp"
	"strings"
)

var (
	entryRe = regexp.MustCompile(`^([A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*):([A-Za-z_]\w*)(\(\))?$`)
	// djangoWSGIRe is a bare Django WSGI module ("mysite.wsgi") on a gunicorn command line.
	djangoWSGIRe = regexp.MustCompile(`^[A-Za-z_][\w.]*\.wsgi$`)
)

// servers are the production servers pyship knows, by command name.
var servers = map[string]string{
	"gunicorn": "gunicorn", "uvicorn": "uvicorn", "hypercorn": "hypercorn", "daphne": "daphne",
	"waitress-serve": "waitress", "granian": "granian",
}

// devServer reports whether a command line is a development server.
func devServer(cmd string) string {
	f := strings.Fields(cmd)
	s := " " + strings.Join(f, " ") + " "
	switch {
	case strings.Contains(s, " flask run"), strings.Contains(s, " -m flask run"):
		return "flask run"
	case strings.Contains(s, "manage.py runserver"), strings.Contains(s, " runserver "):
		return "manage.py runserver"
	case strings.Contains(s, " fastapi dev"):
		return "fastapi dev"
	case strings.Contains(s, " --reload"):
		return "a server with --reload"
	}
	return ""
}

func (d *detector) chooseApp(m *manifests) error {
	p := d.plan
	// 1-2. Command line, then pyship configuration.
	switch {
	case d.opts.Server != "":
		if err := d.useCommand(d.opts.Server, "", 0, "--server flag"); err != nil {
			return err
		}
	case d.cfg.Server != "":
		file, line := d.cfg.at("server")
		if err := d.useCommand(d.cfg.Server, file, line, "declared in pyship configuration"); err != nil {
			return err
		}
	}
	if e := firstNonEmpty(d.opts.Entrypoint, d.cfg.Entrypoint); e != "" {
		src, file, line := "--entrypoint flag", "", 0
		if d.opts.Entrypoint == "" {
			src = "declared in pyship configuration"
			file, line = d.cfg.at("entrypoint")
		}
		if err := d.setEntry(e, file, line, src); err != nil {
			return err
		}
	}
	if fw := firstNonEmpty(string(d.opts.Framework), d.cfg.Framework); fw != "" {
		p.Framework = Framework(fw)
		d.evidence("framework", fw, "", 0, "declared")
	}
	// 3. Procfile web:
	if p.Entrypoint == "" && len(p.Server) == 0 {
		if err := d.fromProcfile(); err != nil {
			return err
		}
	}
	// 4. A single [project.scripts] entry that starts a server.
	if p.Entrypoint == "" && len(p.Server) == 0 && m.pyproject != nil {
		d.fromScripts(m)
	}
	// Django: manage.py → settings → WSGI_APPLICATION.
	if p.Framework == "" || p.Framework == Django {
		isDjango, err := d.django()
		if err != nil {
			return err
		}
		if isDjango || p.Entrypoint != "" {
			return d.fillFramework()
		}
	}
	if p.Entrypoint != "" {
		return d.fillFramework()
	}
	// Code: app objects, factories and WSGI/ASGI callables.
	objs := d.scanApps(p.Context)
	if p.Framework != "" {
		var keep []appObj
		for _, o := range objs {
			if o.fw == p.Framework {
				keep = append(keep, o)
			}
		}
		objs = keep
	}
	o, others, err := pickApp(objs)
	if err != nil {
		return err
	}
	if o.file == "" {
		return d.noEntry()
	}
	if o.attr == "" {
		// gunicorn cannot serve an attribute of an object (app.server): the Flask
		// server needs a name of its own in the module.
		dash := o.dashVar
		return &AmbiguousError{Field: "entry point", Candidates: []Candidate{{Value: o.module + ":" + dash + ".server", File: o.file, Line: o.line, Reason: o.rule}},
			Fix: []string{fmt.Sprintf("add `server = %s.server` to %s (the Dash docs' convention), then run pyship again", dash, o.file)}}
	}
	// How the code imports itself decides where it runs from: backend/app/main.py that
	// imports app.core runs with backend/ as its working directory, as app.main.
	root, ev := d.importRoot(p.Context, o.file)
	switch {
	case root == join(p.Context, "src") || (root == "" && strings.HasPrefix(rel(p.Context, o.file), "src/")):
		p.PythonPath = []string{"src"}
		d.evidence("python_path", "src", o.file, 0, "src layout: the app's package lives under src/")
	case root != "":
		p.AppRoot = root
		p.Evidence = append(p.Evidence, ev)
		o.module = moduleName(rel(root, o.file))
	}
	p.Entrypoint, p.Factory, p.Framework, p.Interface = o.entry(), o.factory, o.fw, o.iface
	d.evidence("entrypoint", p.Entrypoint, o.file, o.line, o.rule)
	d.evidence("framework", string(p.Framework), o.file, o.line, "the app object is created with this framework")
	for _, other := range others {
		d.warn(fmt.Sprintf("%s (%s:%d) also defines an app; pyship chose %s. Use --entrypoint to pick another", other.entry(), other.file, other.line, p.Entrypoint))
	}
	if p.Framework != OtherWSGI && p.Framework != OtherASGI {
		pkg := string(p.Framework)
		if strings.Contains(o.rule, "Dash") {
			pkg = "dash"
		}
		if !d.hasDep(pkg) && len(p.Dependencies.Files) > 0 {
			d.warn(fmt.Sprintf("%s uses %s but %s does not declare it; the image will fail to import it", o.file, pkg, strings.Join(p.Dependencies.Files, ", ")))
		}
	}
	return nil
}

// setEntry applies an explicit module:attr.
func (d *detector) setEntry(e, file string, line int, rule string) error {
	m := entryRe.FindStringSubmatch(strings.TrimSpace(e))
	if m == nil {
		return fmt.Errorf("entry point %q is not of the form module.path:attr or module:factory()", e)
	}
	d.plan.Entrypoint = m[1] + ":" + m[2] + m[3]
	d.plan.Factory = m[3] != ""
	d.evidence("entrypoint", d.plan.Entrypoint, file, line, rule)
	f := d.moduleFile(m[1])
	if strings.HasPrefix(rel(d.plan.AppRoot, f), "src/") && len(d.plan.PythonPath) == 0 {
		d.plan.PythonPath = []string{"src"}
		d.evidence("python_path", "src", f, 0, "src layout: the entry module lives under src/")
	}
	if f == "" {
		d.warn(fmt.Sprintf("module %s of entry point %s is not a file of the project (is it installed from a package?)", m[1], d.plan.Entrypoint))
	}
	return nil
}

// moduleFile finds the file for a dotted module under the app root or its src/.
func (d *detector) moduleFile(mod string) string {
	p := strings.ReplaceAll(mod, ".", "/")
	for _, root := range []string{d.plan.AppRoot, join(d.plan.AppRoot, "src")} {
		for _, cand := range []string{join(root, p+".py"), join(root, p+"/__init__.py")} {
			if d.t.has(cand) {
				return cand
			}
		}
	}
	return ""
}

// fillFramework completes framework and interface when the entry point was declared.
func (d *detector) fillFramework() error {
	p := d.plan
	if p.Framework == "" {
		// Read the declared module: the constructor of its attribute tells the framework.
		mod, attr, _ := strings.Cut(strings.TrimSuffix(p.Entrypoint, "()"), ":")
		if f := d.moduleFile(mod); f != "" {
			for _, o := range d.scanApps(p.Context) {
				if o.file == f && (o.attr == attr) {
					p.Framework, p.Interface = o.fw, o.iface
					d.evidence("framework", string(o.fw), f, o.line, o.rule)
				}
			}
		}
	}
	if p.Framework == "" {
		for _, fw := range []Framework{Django, FastAPI, Flask, Starlette, Quart, Litestar, Falcon} {
			if d.hasDep(string(fw)) {
				p.Framework = fw
				d.evidence("framework", string(fw), "", 0, "declared in the dependencies")
				break
			}
		}
	}
	if p.Framework == "" {
		p.Framework = OtherWSGI
		if p.ServerPackage == "uvicorn" || p.ServerPackage == "hypercorn" || p.ServerPackage == "daphne" {
			p.Framework = OtherASGI
		}
	}
	if p.Interface == "" {
		switch p.Framework {
		case FastAPI, Starlette, Quart, Litestar, OtherASGI:
			p.Interface = "asgi"
		default:
			p.Interface = "wsgi"
		}
	}
	return nil
}

func (d *detector) noEntry() error {
	if fa := join(d.plan.Context, "function_app.py"); d.t.has(fa) && strings.Contains(string(d.t.read(fa)), "azure.functions") {
		return &FunctionsError{File: fa}
	}
	var cands []Candidate
	var fixes []string
	// Names bound at the top of the conventional entry modules (app.py's `app =
	// make_app()`, `from .factory import application`): real answers to offer.
	for _, f := range d.t.under(d.plan.Context, ".py") {
		r := rel(d.plan.Context, f)
		if strings.Contains(r, "/") || !conventionalNames[strings.TrimSuffix(r, ".py")] {
			continue
		}
		py := d.t.py(f)
		if py == nil {
			continue
		}
		for _, name := range boundAppNames(py) {
			e := moduleName(r) + ":" + name
			cands = append(cands, Candidate{Value: e, File: f, Reason: "a module-level " + name + " pyship cannot tell is an app"})
			fixes = append(fixes, "--entrypoint "+e)
		}
	}
	// Projects in benchmark, test, example and docs folders: listed, never chosen.
	field := "entry point"
	if len(cands) == 0 {
		field = "app root" // only other folders' projects to offer
	}
	for _, c := range d.sampleProjects() {
		if strings.HasPrefix(c.Value+"/", strings.TrimPrefix(d.plan.Context+"/", "./")) || d.plan.Context == "." {
			cands = append(cands, c)
			fixes = append(fixes, "--app-root "+c.Value)
		}
	}
	if len(cands) == 0 {
		// A syntax error can hide the app (`app = Flask(__name__` unclosed): say where,
		// before the generic ways out.
		for _, f := range d.t.under(d.plan.Context, ".py") {
			if py := d.t.py(f); py != nil && mentionsFramework(py) {
				if line := py.firstSyntaxError(); line > 0 {
					fixes = append(fixes, fmt.Sprintf("fix the syntax error at %s:%d, which hides what the file defines (python -m py_compile %s shows it)", f, line, f))
				}
			}
		}
		fixes = append(fixes,
			"--entrypoint module.path:app (the module and the name of your WSGI/ASGI app object)",
			`pyship.toml: entrypoint = "module.path:app"`,
			"a Procfile line: web: gunicorn module.path:app",
		)
	}
	if len(cands) == 0 {
		field = "entry point"
	}
	return &AmbiguousError{Field: field, Candidates: cands, Fix: fixes}
}

// appNames are the names an entry module conventionally binds its app to.
var appNames = map[string]bool{"app": true, "application": true, "api": true, "server": true, "asgi_app": true, "wsgi_app": true}

// boundAppNames lists the conventional app names a module binds at its top level, by an
// assignment from a call or an import.
func boundAppNames(py *pyFile) []string {
	var out []string
	seen := map[string]bool{}
	add := func(n string) {
		if appNames[n] && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, s := range statements(py.root) {
		if l, r := assignment(s); l != nil && l.kind == "identifier" && r != nil && r.kind == "call" {
			add(py.text(l))
		}
		if s.kind == "import_from_statement" {
			for _, c := range s.children {
				if c.field != "name" {
					continue
				}
				if c.kind == "aliased_import" {
					add(py.text(c.child("alias")))
				} else {
					add(py.dotted(c))
				}
			}
		}
	}
	return out
}

// useCommand applies an explicit server command line (flag, config or Procfile). A chain
// (`flask db upgrade; flask translate compile; gunicorn app:app`) runs its last command as
// the web process; the steps before it are release steps, reported and never put in the
// image's CMD: run at every replica start, migrations race each other.
func (d *detector) useCommand(cmd, file string, line int, rule string) error {
	p := d.plan
	where := firstNonEmpty(file, rule)
	if file != "" && line > 0 {
		where = fmt.Sprintf("%s:%d", file, line)
	}
	steps, err := shellSteps(strings.TrimSpace(cmd))
	if err != nil {
		d.warn(fmt.Sprintf("%s: the command cannot be used as the web process (%v); pyship chooses the server itself (or give one with --server)", where, err))
		return nil
	}
	if len(steps) == 0 {
		return nil
	}
	argv := steps[len(steps)-1]
	for _, step := range steps[:len(steps)-1] {
		c := shellJoin(step)
		p.ReleaseCommands = append(p.ReleaseCommands, c)
		d.evidence("release_commands", c, file, line, rule+": a step before the server")
		d.warn(fmt.Sprintf("%s runs %q before the server: a release step, left out of the image's command (at every replica start, migrations race each other); run it once per release as a one-off command: pyship exec APP -- %s (or docker run --rm IMAGE %s)", where, c, c, c))
	}
	if dev := devServer(strings.Join(argv, " ")); dev != "" {
		d.warn(fmt.Sprintf("%s starts %s, a development server; pyship uses a production server instead", where, dev))
		return nil
	}
	if len(argv) > 2 && (argv[0] == "python" || argv[0] == "python3") && argv[1] == "-m" {
		argv = argv[2:]
	}
	if len(argv) == 0 {
		return nil
	}
	argv, added := serverBinds(argv)
	if len(added) > 0 {
		d.warn(fmt.Sprintf("%s: %s does not say where to listen; pyship adds %s so that it answers outside the container", where, argv[0], strings.Join(added, " ")))
	}
	if pkg, ok := servers[argv[0]]; ok {
		p.ServerPackage = pkg
		for i := 1; i < len(argv); i++ {
			a := argv[i]
			if entryRe.MatchString(a) && !strings.Contains(argv[i-1], "bind") && argv[i-1] != "-b" {
				if err := d.setEntry(a, file, line, rule+" names the app"); err != nil {
					return err
				}
			} else if pkg == "gunicorn" && djangoWSGIRe.MatchString(a) {
				_ = d.setEntry(a+":application", file, line, rule+" names the Django WSGI module")
			}
		}
	}
	p.Server = argv
	d.evidence("server", strings.Join(argv, " "), file, line, rule)
	return nil
}

func (d *detector) fromProcfile() error {
	f := join(d.plan.Context, "Procfile")
	if !d.t.has(f) {
		return nil
	}
	for i, l := range strings.Split(string(d.t.read(f)), "\n") {
		name, cmd, ok := strings.Cut(l, ":")
		if ok && strings.TrimSpace(name) == "web" {
			return d.useCommand(cmd, f, i+1, "Procfile web process")
		}
	}
	return nil
}

// serverRunners are the calls that start a server from a [project.scripts] function.
var serverRunners = []string{"uvicorn.run", "hypercorn.run", "hypercorn.asyncio.serve", "hypercorn.trio.serve", "waitress.serve", "serve", "granian.Granian", "web.run_app", "aiohttp.web.run_app"}

func (d *detector) fromScripts(m *manifests) {
	scripts := m.pyproject.Scripts
	name := ""
	if len(scripts) == 1 {
		for k := range scripts {
			name = k
		}
	}
	for _, k := range []string{"start", "serve", "web", "server"} {
		if _, ok := scripts[k]; ok && name == "" {
			name = k
		}
	}
	if name == "" {
		return
	}
	target := scripts[name]
	mod, _, _ := strings.Cut(target, ":")
	f := d.moduleFile(mod)
	py := d.t.py(f)
	if f == "" || py == nil {
		return
	}
	var found *runCall
	pyWalk(py.root, func(n *pyNode, _ []*pyNode) bool {
		if n.kind != "call" || found != nil {
			return found == nil
		}
		callee := py.dotted(n.child("function"))
		if !contains(serverRunners, callee) {
			return true
		}
		_, kw := callArgs(n, py)
		c := runCall{callee: callee, line: n.line}
		if v := kw["port"]; v != nil && v.kind == "integer" {
			c.port = atoi(py.text(v))
		}
		c.host, _ = py.str(kw["host"])
		found = &c
		return false
	})
	if found == nil {
		return
	}
	d.plan.Server = []string{name}
	d.evidence("server", name, m.pyproject.File, 0, fmt.Sprintf("[project.scripts] %s = %q starts a server (%s in %s:%d)", name, target, found.callee, f, found.line))
	d.scriptPort = found.port
	if found.host == "127.0.0.1" || found.host == "localhost" {
		d.warn(fmt.Sprintf("%s:%d binds %s: nothing outside the container can reach it; bind 0.0.0.0", f, found.line, found.host))
	}
}

// mentionsFramework reports whether a module imports a web framework or server: the
// files whose syntax errors can hide an app.
func mentionsFramework(py *pyFile) bool {
	src := string(py.src)
	for _, fw := range []string{"flask", "fastapi", "django", "starlette", "quart", "litestar", "falcon", "sanic", "aiohttp", "bottle", "pyramid", "tornado", "dash"} {
		if strings.Contains(src, "import "+fw) || strings.Contains(src, "from "+fw) {
			return true
		}
	}
	return false
}
