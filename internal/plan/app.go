package plan

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
)

// appObj is one place in the code that defines a servable app.
type appObj struct {
	file, module, attr string
	line               int
	factory            bool
	fw                 Framework
	iface              string
	kind               int // 0: bound in an entry module from a factory, 1: instance, 2: factory
	rule               string
}

func (o appObj) entry() string {
	if o.factory {
		return o.module + ":" + o.attr + "()"
	}
	return o.module + ":" + o.attr
}

type ctor struct {
	fw     Framework
	iface  string
	module string // the import that must be present
}

// constructors maps "prefix.Name" (prefix may be empty) to the framework it creates.
var constructors = map[string]ctor{
	"Flask": {Flask, "wsgi", "flask"}, "flask.Flask": {Flask, "wsgi", "flask"},
	"Quart": {Quart, "asgi", "quart"}, "quart.Quart": {Quart, "asgi", "quart"},
	"FastAPI": {FastAPI, "asgi", "fastapi"}, "fastapi.FastAPI": {FastAPI, "asgi", "fastapi"},
	"Starlette": {Starlette, "asgi", "starlette"}, "starlette.applications.Starlette": {Starlette, "asgi", "starlette"},
	"Litestar": {Litestar, "asgi", "litestar"}, "litestar.Litestar": {Litestar, "asgi", "litestar"},
	"Dash": {Flask, "wsgi", "dash"}, "dash.Dash": {Flask, "wsgi", "dash"},
	"falcon.App": {Falcon, "wsgi", "falcon"}, "falcon.API": {Falcon, "wsgi", "falcon"},
	"falcon.asgi.App": {Falcon, "asgi", "falcon"}, "asgi.App": {Falcon, "asgi", "falcon"},
}

var (
	assignRe  = regexp.MustCompile(`^(\w+)\s*(?::\s*[\w.\[\], ]+)?\s*=\s*((?:\w+\.)*\w+)\(`)
	defRe     = regexp.MustCompile(`^(?:async\s+)?def\s+(\w+)\s*\(([^)]*)`)
	callRe    = regexp.MustCompile(`((?:\w+\.)*\w+)\(`)
	importRe  = regexp.MustCompile(`^(?:from\s+([\w.]+)\s+import|import\s+([\w.]+))`)
	dashSrvRe = regexp.MustCompile(`^(\w+)\s*=\s*(\w+)\.server\s*$`)
)

// scanApps finds app objects in the Python files below root.
func (d *detector) scanApps(root string) []appObj {
	var found []appObj
	factories := map[string]appObj{}
	type fileInfo struct {
		file, module string
		lines        []srcLine
	}
	var files []fileInfo
	for _, f := range d.t.under(root, ".py") {
		r := rel(root, f)
		if isTestFile(r) {
			continue
		}
		src := d.t.read(f)
		if len(src) == 0 {
			continue
		}
		mod := moduleName(strings.TrimPrefix(r, "src/"))
		lines := pyLines(src)
		files = append(files, fileInfo{f, mod, lines})
		imports := map[string]bool{}
		for _, l := range lines {
			if m := importRe.FindStringSubmatch(l.code); m != nil {
				top := strings.SplitN(firstNonEmpty(m[1], m[2]), ".", 2)[0]
				imports[top] = true
			}
		}
		dashVars := map[string]bool{}
		var curDef string
		var curDefLine int
		for _, l := range lines {
			if l.indent == 0 {
				curDef = ""
				if m := defRe.FindStringSubmatch(l.code); m != nil {
					curDef, curDefLine = m[1], l.n
					args := strings.ReplaceAll(m[2], " ", "")
					if args == "environ,start_response" {
						found = append(found, appObj{file: f, module: mod, attr: m[1], line: l.n, fw: OtherWSGI, iface: "wsgi", kind: 1, rule: "WSGI callable (environ, start_response)"})
					}
					if strings.HasPrefix(l.code, "async") && args == "scope,receive,send" {
						found = append(found, appObj{file: f, module: mod, attr: m[1], line: l.n, fw: OtherASGI, iface: "asgi", kind: 1, rule: "ASGI callable (scope, receive, send)"})
					}
					continue
				}
				if m := assignRe.FindStringSubmatch(l.code); m != nil {
					if c, ok := constructors[m[2]]; ok && imports[c.module] {
						o := appObj{file: f, module: mod, attr: m[1], line: l.n, fw: c.fw, iface: c.iface, kind: 1,
							rule: fmt.Sprintf("module-level %s = %s(...)", m[1], m[2])}
						if c.module == "dash" {
							dashVars[m[1]] = true
							o.attr = ""
							o.rule = fmt.Sprintf("Dash app %s = %s(...), served through its Flask server", m[1], m[2])
						}
						found = append(found, o)
					}
				}
				if m := dashSrvRe.FindStringSubmatch(l.code); m != nil && dashVars[m[2]] {
					for i := range found {
						if found[i].file == f && found[i].attr == "" {
							found[i].attr = m[1]
						}
					}
				}
				continue
			}
			if curDef == "" {
				continue
			}
			for _, m := range callRe.FindAllStringSubmatch(l.code, -1) {
				if c, ok := constructors[m[1]]; ok && imports[c.module] {
					if _, dup := factories[mod+":"+curDef]; !dup {
						o := appObj{file: f, module: mod, attr: curDef, line: curDefLine, factory: true, fw: c.fw, iface: c.iface, kind: 2,
							rule: fmt.Sprintf("app factory %s() builds %s(...)", curDef, m[1])}
						factories[mod+":"+curDef] = o
					}
				}
			}
		}
	}
	// Entry modules: a module-level name bound by calling a known factory.
	byName := map[string]appObj{}
	for _, o := range factories {
		byName[o.attr] = o
	}
	for _, fi := range files {
		for _, l := range fi.lines {
			if l.indent != 0 {
				continue
			}
			m := assignRe.FindStringSubmatch(l.code)
			if m == nil {
				continue
			}
			callee := m[2][strings.LastIndex(m[2], ".")+1:]
			fac, ok := byName[callee]
			if !ok || (fac.file == fi.file && fac.attr == m[1]) {
				continue
			}
			found = append(found, appObj{file: fi.file, module: fi.module, attr: m[1], line: l.n, fw: fac.fw, iface: fac.iface, kind: 0,
				rule: fmt.Sprintf("%s = %s() binds the app built by the factory in %s", m[1], callee, fac.file)})
		}
	}
	for _, o := range factories {
		found = append(found, o)
	}
	sort.Slice(found, func(i, j int) bool {
		if found[i].file != found[j].file {
			return found[i].file < found[j].file
		}
		return found[i].line < found[j].line
	})
	return found
}

func isTestFile(r string) bool {
	base := path.Base(r)
	if base == "conftest.py" || strings.HasPrefix(base, "test_") || strings.HasSuffix(base, "_test.py") || base == "setup.py" || base == "noxfile.py" {
		return true
	}
	for _, part := range strings.Split(path.Dir(r), "/") {
		switch part {
		case "tests", "test", "testing", "docs", "doc", "migrations", "alembic", "scripts", "examples", "benchmarks":
			return true
		}
	}
	return false
}

var conventionalNames = map[string]bool{
	"app": true, "main": true, "wsgi": true, "asgi": true, "server": true, "application": true,
	"api": true, "__init__": true, "run": true, "index": true, "web": true, "serve": true,
}

// pickApp chooses one app object, or explains why it cannot.
func pickApp(objs []appObj) (appObj, []appObj, error) {
	if len(objs) == 0 {
		return appObj{}, nil, nil
	}
	best := 3
	for _, o := range objs {
		best = min(best, o.kind)
	}
	var cands []appObj
	for _, o := range objs {
		if o.kind == best {
			cands = append(cands, o)
		}
	}
	if len(cands) == 1 {
		return cands[0], nil, nil
	}
	score := func(o appObj) int {
		s := strings.Count(o.file, "/") * 10
		if !conventionalNames[strings.TrimSuffix(path.Base(o.file), ".py")] {
			s += 5
		}
		return s
	}
	sort.SliceStable(cands, func(i, j int) bool { return score(cands[i]) < score(cands[j]) })
	if score(cands[0]) < score(cands[1]) && cands[0].fw == cands[1].fw {
		return cands[0], cands[1:], nil
	}
	var list []Candidate
	var fixes []string
	for _, c := range cands {
		list = append(list, Candidate{Value: c.entry(), File: c.file, Line: c.line, Reason: c.rule})
		fixes = append(fixes, "--entrypoint "+c.entry())
	}
	fixes = append(fixes, `or in pyship.toml: entrypoint = "`+cands[0].entry()+`"`, "or a Procfile line: web: gunicorn "+cands[0].entry())
	return appObj{}, nil, &AmbiguousError{Field: "entry point", Candidates: list, Fix: fixes}
}
