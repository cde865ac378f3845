package plan

import (
	"sort"
	"strings"
)

// secretWords in a variable name mark it as a secret.
var secretWords = []string{"SECRET", "PASSWORD", "PASSWD", "TOKEN", "API_KEY", "APIKEY", "PRIVATE_KEY", "CREDENTIAL", "ACCESS_KEY", "CONNECTION_STRING", "DATABASE_URL", "AUTH"}

// IsSecretName reports whether an environment variable's name says it holds a secret.
func IsSecretName(name string) bool {
	u := strings.ToUpper(name)
	for _, w := range secretWords {
		if strings.Contains(u, w) {
			return true
		}
	}
	return strings.HasSuffix(u, "_KEY") || u == "KEY"
}

func (d *detector) scanEnv() {
	p := d.plan
	seen := map[string]int{}
	add := func(name, file string, line int, required bool) {
		if name == "DJANGO_SETTINGS_MODULE" || name == "PORT" || name == "" {
			return
		}
		if i, ok := seen[name]; ok {
			p.EnvVars[i].Required = p.EnvVars[i].Required || required
			return
		}
		seen[name] = len(p.EnvVars)
		p.EnvVars = append(p.EnvVars, EnvVar{Name: name, File: file, Line: line, Required: required, Secret: IsSecretName(name)})
	}
	for _, f := range d.t.under(p.Context, ".py") {
		if isTestFile(rel(p.Context, f)) {
			continue
		}
		src := d.t.read(f)
		if !strings.Contains(string(src), "env") && !strings.Contains(string(src), "config(") {
			continue
		}
		py := d.t.py(f)
		if py == nil {
			continue
		}
		for _, r := range envReads(py) {
			add(r.name, f, r.line, r.required)
		}
	}
	sort.SliceStable(p.EnvVars, func(i, j int) bool { return p.EnvVars[i].Name < p.EnvVars[j].Name })
}

// envRead is one place the code reads an environment variable.
type envRead struct {
	name     string
	line     int
	required bool // read without a default, and not under a test that it is set
}

// envReads finds os.environ["X"], os.environ.get("X"[, default]), os.getenv,
// django-environ's env("X")/env.str("X", default=…)/env.db(), python-decouple's
// config("X", default=…), wherever they are in the file.
func envReads(f *pyFile) []envRead {
	var out []envRead
	pyWalk(f.root, func(n *pyNode, anc []*pyNode) bool {
		switch n.kind {
		case "subscript":
			if !isEnviron(f.dotted(n.child("value"))) {
				return true
			}
			if name, ok := f.str(n.child("subscript")); ok && envNameOK(name) {
				out = append(out, envRead{name, n.line, !guardedBy(f, anc, n, name)})
			}
		case "call":
			callee := f.dotted(n.child("function"))
			pos, kw := callArgs(n, f)
			switch {
			case callee == "env.db" || callee == "env.db_url":
				if len(pos) == 0 {
					out = append(out, envRead{"DATABASE_URL", n.line, true})
				}
				return true
			case isEnviron(strings.TrimSuffix(callee, ".get")) && strings.HasSuffix(callee, ".get"),
				callee == "os.getenv" || callee == "getenv",
				callee == "env" || callee == "config" || strings.HasPrefix(callee, "env.") && strings.Count(callee, ".") == 1:
			default:
				return true
			}
			if len(pos) == 0 {
				return true
			}
			name, ok := f.str(pos[0])
			if !ok || !envNameOK(name) {
				return true
			}
			_, hasDefault := kw["default"]
			hasDefault = hasDefault || len(pos) > 1
			out = append(out, envRead{name, n.line, !hasDefault && !guardedBy(f, anc, n, name)})
		}
		return true
	})
	return out
}

func isEnviron(s string) bool { return s == "os.environ" || s == "environ" }

func envNameOK(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	return strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") == ""
}

// guardedBy reports whether the read n is only reached when the variable is set:
// `os.environ["X"] if "X" in os.environ else …` or inside `if "X" in os.environ:`.
func guardedBy(f *pyFile, anc []*pyNode, n *pyNode, name string) bool {
	inside := func(outer, inner *pyNode) bool { return inner.start >= outer.start && inner.end <= outer.end }
	for i := len(anc) - 1; i >= 0; i-- {
		a := anc[i]
		var cond, body *pyNode
		switch a.kind {
		case "conditional_expression":
			if kids := a.namedChildren(); len(kids) == 3 {
				body, cond = kids[0], kids[1]
			}
		case "if_statement", "elif_clause":
			cond, body = a.child("condition"), a.child("consequence")
		}
		if cond == nil || body == nil || !inside(body, n) {
			continue
		}
		if t, ok := envTest(f, cond); ok && t.name == name && t.whenSet {
			return true
		}
	}
	return false
}

// envTestResult is what a condition says about an environment variable: the branch it
// guards runs when the variable is set (whenSet) or when it is not, or, for a comparison
// with a literal (os.environ.get("ENV") == "production"), when it equals value.
type envTestResult struct {
	name    string
	whenSet bool
	value   string // the literal compared with, if any
	equal   bool   // == rather than !=
}

// envTest reads a condition over one environment variable: "X" in os.environ,
// os.environ.get("X"), os.getenv("X"), os.environ["X"], their negations, and
// comparisons of a read with a string literal.
func envTest(f *pyFile, cond *pyNode) (envTestResult, bool) {
	switch cond.kind {
	case "parenthesized_expression":
		if kids := cond.namedChildren(); len(kids) == 1 {
			return envTest(f, kids[0])
		}
	case "not_operator":
		r, ok := envTest(f, cond.child("argument"))
		if ok && r.value == "" {
			r.whenSet = !r.whenSet
		} else if ok {
			r.equal = !r.equal
		}
		return r, ok
	case "comparison_operator":
		kids := cond.namedChildren()
		if len(kids) != 2 {
			return envTestResult{}, false
		}
		op := ""
		for _, c := range cond.children {
			if !c.named {
				op = strings.Join(strings.Fields(op+" "+f.text(c)), " ")
			}
		}
		if op == "in" || op == "not in" {
			name, ok := f.str(kids[0])
			if !ok || !isEnviron(f.dotted(kids[1])) {
				return envTestResult{}, false
			}
			return envTestResult{name: name, whenSet: op == "in"}, true
		}
		if op == "==" || op == "!=" {
			read, lit := kids[0], kids[1]
			if _, ok := f.str(read); ok {
				read, lit = lit, read
			}
			v, ok := f.str(lit)
			r, rok := envTest(f, read)
			if !ok || !rok || r.value != "" {
				return envTestResult{}, false
			}
			r.value, r.equal = v, op == "=="
			return r, true
		}
	case "call":
		callee := f.dotted(cond.child("function"))
		if callee == "os.getenv" || callee == "getenv" || (strings.HasSuffix(callee, ".get") && isEnviron(strings.TrimSuffix(callee, ".get"))) {
			pos, _ := callArgs(cond, f)
			if len(pos) >= 1 {
				if name, ok := f.str(pos[0]); ok {
					return envTestResult{name: name, whenSet: true}, true
				}
			}
		}
	case "subscript":
		if isEnviron(f.dotted(cond.child("value"))) {
			if name, ok := f.str(cond.child("subscript")); ok {
				return envTestResult{name: name, whenSet: true}, true
			}
		}
	}
	return envTestResult{}, false
}

// servicePackages maps a backing service to the client libraries that imply it.
var servicePackages = []struct {
	name string
	pkgs []string
}{
	{"postgresql", []string{"psycopg", "psycopg2", "psycopg2-binary", "psycopg-binary", "asyncpg", "pg8000", "aiopg"}},
	{"mysql", []string{"mysqlclient", "pymysql", "mysql-connector-python", "aiomysql", "asyncmy"}},
	{"mongodb", []string{"pymongo", "motor", "mongoengine", "beanie", "djongo"}},
	{"redis", []string{"redis", "django-redis", "aioredis", "hiredis", "rq", "celery-redis"}},
}

func (d *detector) services() {
	for _, s := range servicePackages {
		var found []string
		for _, pkg := range s.pkgs {
			if d.hasDep(pkg) {
				found = append(found, pkg)
			}
		}
		if len(found) > 0 {
			d.plan.Services = append(d.plan.Services, Service{Name: s.name, Packages: found})
			d.evidence("services", s.name, "", 0, "client library in the dependencies: "+strings.Join(found, ", "))
		}
	}
}
