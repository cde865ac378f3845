package plan

import (
	"fmt"
	"strings"
)

// How a Django project chooses its settings module, read from manage.py, wsgi.py or
// asgi.py: os.environ.setdefault("DJANGO_SETTINGS_MODULE", VALUE) or
// os.environ["DJANGO_SETTINGS_MODULE"] = VALUE, where VALUE may be a literal, a
// conditional expression, or a name assigned (perhaps under an if) before the call —
// the Azure samples' `settings_module = 'proj.production' if 'WEBSITE_HOSTNAME' in
// os.environ else 'proj.settings'`.

// settingsSel is what one file says about DJANGO_SETTINGS_MODULE.
type settingsSel struct {
	file    string
	found   bool // the file sets DJANGO_SETTINGS_MODULE
	line    int
	choices []settingsChoice
}

// settingsChoice is one module the file may select, and the conditions under which.
type settingsChoice struct {
	module string
	line   int
	guards []string // the conditions, as written ("not (...)" for an else branch)
	conds  []guard
}

type guard struct {
	text  string
	line  int
	truth bool // the branch runs when the condition is true
	test  envTestResult
	isEnv bool // the condition tests an environment variable
}

// maxResolve bounds how far a value is followed through names and conditions.
const maxResolve = 8

func (d *detector) settingsSelection(file string) settingsSel {
	sel := settingsSel{file: file}
	if file == "" {
		return sel
	}
	py := d.t.py(file)
	if py == nil {
		return sel
	}
	var value, at, scope *pyNode
	pyWalk(py.root, func(n *pyNode, anc []*pyNode) bool {
		if value != nil {
			return false
		}
		switch n.kind {
		case "call":
			callee := py.dotted(n.child("function"))
			if callee != "os.environ.setdefault" && callee != "environ.setdefault" {
				return true
			}
			pos, _ := callArgs(n, py)
			if len(pos) == 2 {
				if k, ok := py.str(pos[0]); ok && k == "DJANGO_SETTINGS_MODULE" {
					value = pos[1]
				}
			}
		case "assignment":
			l := n.child("left")
			if l != nil && l.kind == "subscript" && isEnviron(py.dotted(l.child("value"))) {
				if k, ok := py.str(l.child("subscript")); ok && k == "DJANGO_SETTINGS_MODULE" {
					value = n.child("right")
				}
			}
		}
		if value != nil {
			at = n
			scope = py.root
			for i := len(anc) - 1; i >= 0; i-- {
				if anc[i].kind == "function_definition" {
					scope = anc[i].child("body")
					break
				}
			}
			return false
		}
		return true
	})
	if value == nil {
		return sel
	}
	sel.found, sel.line = true, at.line
	sel.choices = resolveSettings(py, value, scope, at.start, nil, 0)
	return sel
}

// resolveSettings lists the modules expr can evaluate to, each with its conditions.
func resolveSettings(py *pyFile, expr, scope *pyNode, before int, guards []guard, depth int) []settingsChoice {
	if expr == nil || depth > maxResolve {
		return nil
	}
	if v, ok := py.str(expr); ok {
		return []settingsChoice{{module: v, line: expr.line, conds: guards, guards: guardTexts(guards)}}
	}
	switch expr.kind {
	case "parenthesized_expression":
		if kids := expr.namedChildren(); len(kids) == 1 {
			return resolveSettings(py, kids[0], scope, before, guards, depth+1)
		}
	case "conditional_expression":
		kids := expr.namedChildren()
		if len(kids) != 3 {
			return nil
		}
		yes := resolveSettings(py, kids[0], scope, before, withGuard(py, guards, kids[1], true), depth+1)
		no := resolveSettings(py, kids[2], scope, before, withGuard(py, guards, kids[1], false), depth+1)
		return append(yes, no...)
	case "call":
		// os.environ.get("DJANGO_SETTINGS_MODULE", "x"): the default is what applies
		// unless the variable is set, and the image sets it.
		callee := py.dotted(expr.child("function"))
		if callee == "os.getenv" || callee == "getenv" || (strings.HasSuffix(callee, ".get") && isEnviron(strings.TrimSuffix(callee, ".get"))) {
			pos, kw := callArgs(expr, py)
			def := kw["default"]
			if len(pos) > 1 {
				def = pos[1]
			}
			return resolveSettings(py, def, scope, before, guards, depth+1)
		}
	case "identifier":
		name := py.text(expr)
		var as []assigned
		assignsIn(py, scope, name, before, nil, &as, 0)
		if len(as) == 0 && scope != py.root {
			// A global read in a function: the module's assignment, wherever it is.
			assignsIn(py, py.root, name, len(py.src)+1, nil, &as, 0)
		}
		startAt := 0
		for i, a := range as {
			if len(a.guards) == 0 {
				startAt = i // an unconditional assignment replaces whatever came before
			}
		}
		var out []settingsChoice
		for _, a := range as[min(startAt, len(as)):] {
			out = append(out, resolveSettings(py, a.value, scope, a.value.start, append(append([]guard{}, guards...), a.guards...), depth+1)...)
		}
		return out
	}
	return nil
}

type assigned struct {
	value  *pyNode
	guards []guard
}

// assignsIn collects `name = value` in a block before offset before, with the if
// conditions each one is under; it does not enter nested defs and classes.
func assignsIn(py *pyFile, block *pyNode, name string, before int, guards []guard, out *[]assigned, depth int) {
	if block == nil || depth > maxResolve {
		return
	}
	for _, s := range block.namedChildren() {
		if s.start >= before {
			return
		}
		switch s.kind {
		case "expression_statement":
			if l, r := assignment(s); l != nil && r != nil && l.kind == "identifier" && py.text(l) == name {
				*out = append(*out, assigned{r, guards})
			}
		case "if_statement":
			cond := s.child("condition")
			assignsIn(py, s.child("consequence"), name, before, withGuard(py, guards, cond, true), out, depth+1)
			prior := withGuard(py, guards, cond, false)
			for _, alt := range s.children {
				switch alt.kind {
				case "elif_clause":
					c := alt.child("condition")
					assignsIn(py, alt.child("consequence"), name, before, withGuard(py, prior, c, true), out, depth+1)
					prior = withGuard(py, prior, c, false)
				case "else_clause":
					assignsIn(py, alt.child("body"), name, before, prior, out, depth+1)
				}
			}
		case "try_statement", "with_statement":
			for _, c := range s.children {
				if c.kind == "block" {
					assignsIn(py, c, name, before, guards, out, depth+1)
				}
			}
		}
	}
}

func withGuard(py *pyFile, guards []guard, cond *pyNode, truth bool) []guard {
	if cond == nil {
		return guards
	}
	g := guard{text: strings.Join(strings.Fields(py.text(cond)), " "), line: cond.line, truth: truth}
	g.test, g.isEnv = envTest(py, cond)
	return append(append([]guard{}, guards...), g)
}

func guardTexts(gs []guard) []string {
	var out []string
	for _, g := range gs {
		if g.truth {
			out = append(out, g.text)
		} else {
			out = append(out, "not ("+g.text+")")
		}
	}
	return out
}

// deployed says whether a guarded branch runs in the deployed environment: a condition
// on an environment variable that the deployment sets (WEBSITE_HOSTNAME on Azure App
// Service, DJANGO_ENV == "production") and a developer's machine does not. ok is false
// when the condition says nothing pyship can read.
func (g guard) deployed() (yes bool, ok bool) {
	if !g.isEnv {
		return false, false
	}
	t := g.test
	if t.value == "" {
		// A variable named for development (DEBUG, DJANGO_DEV, LOCAL) marks the
		// developer's machine; any other (WEBSITE_HOSTNAME, DYNO, K_SERVICE) the platform.
		return (t.whenSet == g.truth) != isDevVar(t.name), true
	}
	matches := t.equal == g.truth // the branch runs when the variable equals t.value
	switch {
	case isProdName(t.value):
		return matches, true
	case isDevName(strings.ToLower(t.value)):
		return !matches, true
	}
	return false, false
}

func (g guard) describe() string {
	t := g.test
	var what string
	switch {
	case t.value == "" && t.whenSet == g.truth:
		what = t.name + " is set"
	case t.value == "":
		what = t.name + " is not set"
	case t.equal == g.truth:
		what = fmt.Sprintf("%s is %q", t.name, t.value)
	default:
		what = fmt.Sprintf("%s is not %q", t.name, t.value)
	}
	return fmt.Sprintf("%s (`%s`)", what, g.text)
}

func isDevVar(name string) bool {
	u := strings.ToUpper(name)
	for _, w := range []string{"DEBUG", "DEV", "LOCAL", "TEST"} {
		if strings.Contains(u, w) {
			return true
		}
	}
	return false
}

func isProdName(s string) bool {
	s = strings.ToLower(s)
	return s == "production" || s == "prod" || s == "live" || s == "deploy" || s == "deployed"
}

// prodChoice picks the module the deployed environment gets: the only one, or the one
// whose conditions all hold where the deployment sets its variable. why describes the
// condition ("" when there was none to read).
func prodChoice(choices []settingsChoice) (settingsChoice, string, bool) {
	distinct := map[string]bool{}
	for _, c := range choices {
		distinct[c.module] = true
	}
	if len(distinct) == 1 {
		return choices[0], "", true
	}
	var prod []settingsChoice
	for _, c := range choices {
		if len(c.conds) == 0 {
			continue // the fallback: what runs where nothing is set
		}
		all := true
		for _, g := range c.conds {
			yes, ok := g.deployed()
			all = all && ok && yes
		}
		if all {
			prod = append(prod, c)
		}
	}
	if len(prod) != 1 {
		return settingsChoice{}, "", false
	}
	var parts []string
	for _, g := range prod[0].conds {
		parts = append(parts, g.describe())
	}
	return prod[0], "selected when " + strings.Join(parts, " and ") + ", as in the deployed environment", true
}
