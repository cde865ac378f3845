package plan

import (
	"bytes"
	"fmt"
	"path"
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
	dashVar            string // a Dash app's variable, whose .server is the WSGI app
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

// scanApps finds app objects in the Python files below root.
func (d *detector) scanApps(root string) []appObj {
	var found []appObj
	factories := map[string]appObj{}
	type fileInfo struct {
		file, module string
		py           *pyFile
	}
	var files []fileInfo
	for _, f := range d.t.under(root, ".py") {
		r := rel(root, f)
		if isTestFile(r) {
			continue
		}
		if !mayDefineApp(d.t.read(f)) {
			continue // parsing costs; a file that names no framework and no callable cannot define an app
		}
		py := d.t.py(f)
		if py == nil || len(py.src) == 0 {
			continue
		}
		mod := moduleName(strings.TrimPrefix(r, "src/"))
		files = append(files, fileInfo{f, mod, py})
		imports := py.topImports()
		dashVars := map[string]bool{}
		for _, s := range statements(py.root) {
			if s.kind == "function_definition" {
				name := py.text(s.child("name"))
				params := paramNames(py, s.child("parameters"))
				async := s.hasToken(py, "async")
				if params == "environ,start_response" {
					found = append(found, appObj{file: f, module: mod, attr: name, line: s.line, fw: OtherWSGI, iface: "wsgi", kind: 1, rule: "WSGI callable (environ, start_response)"})
				}
				if async && params == "scope,receive,send" {
					found = append(found, appObj{file: f, module: mod, attr: name, line: s.line, fw: OtherASGI, iface: "asgi", kind: 1, rule: "ASGI callable (scope, receive, send)"})
				}
				// A factory: a def whose body calls a framework's constructor.
				pyWalk(s.child("body"), func(n *pyNode, _ []*pyNode) bool {
					if n.kind != "call" {
						return true
					}
					callee := py.dotted(n.child("function"))
					if c, ok := constructors[callee]; ok && imports[c.module] {
						if _, dup := factories[mod+":"+name]; !dup {
							factories[mod+":"+name] = appObj{file: f, module: mod, attr: name, line: s.line, factory: true, fw: c.fw, iface: c.iface, kind: 2,
								rule: fmt.Sprintf("app factory %s() builds %s(...)", name, callee)}
						}
					}
					return true
				})
				continue
			}
			left, right := assignment(s)
			if left == nil || left.kind != "identifier" || right == nil {
				continue
			}
			target := py.text(left)
			if right.kind == "call" {
				callee := py.dotted(right.child("function"))
				if c, ok := constructors[callee]; ok && imports[c.module] {
					o := appObj{file: f, module: mod, attr: target, line: s.line, fw: c.fw, iface: c.iface, kind: 1,
						rule: fmt.Sprintf("module-level %s = %s(...)", target, callee)}
					if c.module == "dash" {
						dashVars[target] = true
						o.attr, o.dashVar = "", target
						o.rule = fmt.Sprintf("Dash app %s = %s(...), served through its Flask server", target, callee)
					}
					found = append(found, o)
				}
			}
			// server = app.server: the Flask server of a Dash app.
			if right.kind == "attribute" && py.text(right.child("attribute")) == "server" && dashVars[py.dotted(right.child("object"))] {
				for i := range found {
					if found[i].file == f && found[i].attr == "" {
						found[i].attr = target
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
	for _, f := range d.t.under(root, ".py") {
		if len(byName) == 0 || isTestFile(rel(root, f)) || mayDefineApp(d.t.read(f)) {
			continue // no factory to bind, or already read above
		}
		src := d.t.read(f)
		for name := range byName {
			if bytes.Contains(src, []byte(name)) {
				if py := d.t.py(f); py != nil {
					files = append(files, fileInfo{f, moduleName(strings.TrimPrefix(rel(root, f), "src/")), py})
				}
				break
			}
		}
	}
	for _, fi := range files {
		for _, s := range statements(fi.py.root) {
			left, right := assignment(s)
			if left == nil || left.kind != "identifier" || right == nil || right.kind != "call" {
				continue
			}
			callee := fi.py.dotted(right.child("function"))
			callee = callee[strings.LastIndex(callee, ".")+1:]
			target := fi.py.text(left)
			fac, ok := byName[callee]
			if !ok || (fac.file == fi.file && fac.attr == target) {
				continue
			}
			found = append(found, appObj{file: fi.file, module: fi.module, attr: target, line: s.line, fw: fac.fw, iface: fac.iface, kind: 0,
				rule: fmt.Sprintf("%s = %s() binds the app built by the factory in %s", target, callee, fac.file)})
		}
	}
	for _, o := range factories {
		found = append(found, o)
	}
	sort.Slice(found, func(i, j int) bool {
		if found[i].file != found[j].file {
			return found[i].file < found[j].file
		}
		if found[i].line != found[j].line {
			return found[i].line < found[j].line
		}
		return found[i].attr < found[j].attr
	})
	return found
}

// appWords: a file that can define an app names one of these.
var appWords = [][]byte{[]byte("Flask"), []byte("Quart"), []byte("FastAPI"), []byte("Starlette"), []byte("Litestar"),
	[]byte("Dash"), []byte("falcon"), []byte("App("), []byte("start_response"), []byte("receive")}

func mayDefineApp(src []byte) bool {
	for _, w := range appWords {
		if bytes.Contains(src, w) {
			return true
		}
	}
	return false
}

// paramNames lists a def's parameter names, comma-separated ("environ,start_response").
func paramNames(f *pyFile, params *pyNode) string {
	var names []string
	for _, p := range params.namedChildren() {
		switch p.kind {
		case "identifier":
			names = append(names, f.text(p))
		case "typed_parameter":
			for _, c := range p.namedChildren() {
				if c.kind == "identifier" {
					names = append(names, f.text(c))
					break
				}
			}
		case "default_parameter", "typed_default_parameter":
			names = append(names, f.text(p.child("name")))
		default:
			names = append(names, "*")
		}
	}
	return strings.Join(names, ",")
}

func isTestFile(r string) bool {
	base := path.Base(r)
	if base == "conftest.py" || strings.HasPrefix(base, "test_") || strings.HasSuffix(base, "_test.py") || base == "setup.py" || base == "noxfile.py" {
		return true
	}
	for _, part := range strings.Split(path.Dir(r), "/") {
		switch part {
		case "migrations", "alembic", "scripts":
			return true
		}
		if sampleDirs[part] {
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
