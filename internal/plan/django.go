package plan

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
)

// settingNameRe: Django reads only upper-case names from a settings module.
var settingNameRe = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// django fills the plan for a Django project. It returns false when the project is not
// one (no django dependency and no manage.py that sets DJANGO_SETTINGS_MODULE).
func (d *detector) django() (bool, error) {
	p := d.plan
	var manages []string
	for _, f := range d.t.under(p.Context, "manage.py") {
		if path.Base(f) == "manage.py" && strings.Count(rel(p.Context, f), "/") <= 3 && !isTestFile(rel(p.Context, f)) {
			manages = append(manages, f)
		}
	}
	if len(manages) == 0 {
		if p.Framework == Django {
			// Any manage.py at all (deeper, or in a test or example folder) is a real answer.
			var cands []Candidate
			var fixes []string
			for _, f := range d.t.under(".", "manage.py") {
				if path.Base(f) == "manage.py" && path.Dir(f) != p.Context {
					cands = append(cands, Candidate{Value: path.Dir(f), File: f, Reason: "manage.py"})
					fixes = append(fixes, "--app-root "+path.Dir(f))
				}
			}
			if len(fixes) == 0 {
				fixes = []string{"run pyship in the folder that holds manage.py", "--app-root <folder with manage.py>"}
			}
			return false, &AmbiguousError{Field: "Django project", Candidates: cands, Fix: fixes}
		}
		return false, nil
	}
	if !d.hasDep("django") && p.Framework != Django {
		// A manage.py is a strong sign, but the dependency must agree (flyctl#878 the other way).
		if len(p.Dependencies.Files) > 0 {
			d.warn(fmt.Sprintf("%s exists but Django is not in %s; not treating the project as Django", manages[0], strings.Join(p.Dependencies.Files, ", ")))
			return false, nil
		}
	}
	sort.Slice(manages, func(i, j int) bool {
		di, dj := strings.Count(manages[i], "/"), strings.Count(manages[j], "/")
		if di != dj {
			return di < dj
		}
		return manages[i] < manages[j]
	})
	if len(manages) > 1 && strings.Count(manages[0], "/") == strings.Count(manages[1], "/") {
		var cands []Candidate
		var fixes []string
		for _, m := range manages {
			cands = append(cands, Candidate{Value: path.Dir(m), File: m, Reason: "manage.py"})
			fixes = append(fixes, "--app-root "+path.Dir(m))
		}
		return false, &AmbiguousError{Field: "Django project", Candidates: cands, Fix: fixes}
	}
	manage := manages[0]
	root := path.Dir(manage)
	p.AppRoot = root
	p.Framework = Django
	if root != p.Context {
		d.evidence("app_root", root, manage, 0, "manage.py lives here (nested Django project)")
	}
	dj := &DjangoPlan{ManagePy: manage}
	p.Django = dj
	declared, declFile, declLine, declRule := d.opts.SettingsModule, "", 0, "--settings-module flag"
	if declared == "" && d.cfg.SettingsModule != "" {
		declared, declRule = d.cfg.SettingsModule, "declared in pyship configuration"
		declFile, declLine = d.cfg.at("settings_module")
	}
	manageSel := d.settingsSelection(manage)
	// base is a settings module to read WSGI_APPLICATION from: manage.py's own (the
	// development settings the others usually star-import), else any it may choose.
	base := declared
	if base == "" {
		for _, c := range manageSel.choices {
			if d.settingsFile(root, c.module) != "" {
				base = c.module
				if len(c.guards) == 0 {
					break
				}
			}
		}
	}
	if base == "" {
		cands := d.settingsCandidates(root)
		if len(cands) != 1 || manageSel.found {
			return true, d.settingsAmbiguity(manage, manageSel, cands)
		}
		base = cands[0].Value
		d.evidence("django.settings_module", base, cands[0].File, 0, manage+" does not set DJANGO_SETTINGS_MODULE; this is the project's only settings module")
	}
	// WSGI_APPLICATION from the settings (and the modules it star-imports).
	wsgiApp, wsgiFile, wsgiLine := d.settingValue(root, base, "WSGI_APPLICATION")
	asgiApp, asgiFile, asgiLine := d.settingValue(root, base, "ASGI_APPLICATION")
	entryMod, entryAttr := "", ""
	useASGI := asgiApp != "" && (d.hasDep("channels") || d.hasDep("daphne"))
	if useASGI {
		entryMod, entryAttr = splitDotted(asgiApp)
		d.evidence("entrypoint", entryMod+":"+entryAttr, asgiFile, asgiLine, "ASGI_APPLICATION with channels/daphne in the dependencies: the app needs an ASGI server")
		p.Interface = "asgi"
	} else if wsgiApp != "" {
		entryMod, entryAttr = splitDotted(wsgiApp)
		d.evidence("entrypoint", entryMod+":"+entryAttr, wsgiFile, wsgiLine, "WSGI_APPLICATION in the settings")
		p.Interface = "wsgi"
	} else {
		pkg := strings.SplitN(base, ".", 2)[0]
		if d.t.has(join(root, pkg+"/wsgi.py")) {
			entryMod, entryAttr = pkg+".wsgi", "application"
			d.evidence("entrypoint", entryMod+":application", join(root, pkg+"/wsgi.py"), 0, "no WSGI_APPLICATION setting; the settings package has wsgi.py")
			p.Interface = "wsgi"
		}
	}
	if entryMod == "" && p.Entrypoint == "" {
		var cands []Candidate
		var fixes []string
		for _, f := range d.t.under(root, ".py") {
			if b := path.Base(f); (b == "wsgi.py" || b == "asgi.py") && !isTestFile(rel(root, f)) {
				e := moduleName(rel(root, f)) + ":application"
				cands = append(cands, Candidate{Value: e, File: f, Reason: "Django's " + b})
				fixes = append(fixes, "--entrypoint "+e)
			}
		}
		if len(fixes) == 0 {
			fixes = []string{"--entrypoint " + strings.SplitN(base, ".", 2)[0] + ".wsgi:application (after adding that module)"}
		}
		fixes = append(fixes, fmt.Sprintf("or set WSGI_APPLICATION in %s", d.settingsFile(root, base)))
		return true, &AmbiguousError{Field: "entry point", Candidates: cands, Fix: fixes}
	}
	if p.Entrypoint == "" {
		p.Entrypoint = entryMod + ":" + entryAttr
	} else if entryMod != "" {
		p.Evidence = p.Evidence[:len(p.Evidence)-1] // the declared entry point stands
		entryMod, _, _ = strings.Cut(strings.TrimSuffix(p.Entrypoint, "()"), ":")
	} else {
		entryMod, _, _ = strings.Cut(strings.TrimSuffix(p.Entrypoint, "()"), ":")
	}
	if strings.HasPrefix(rel(p.Context, root), "src") && root != p.Context {
		d.evidence("app_root", root, manage, 0, "src layout")
	}
	chosen, err := d.productionSettings(root, manage, manageSel, entryMod, declared)
	if err != nil {
		return true, err
	}
	if declared != "" {
		d.evidence("django.settings_module", declared, declFile, declLine, declRule)
		if d.settingsFile(root, declared) == "" {
			d.warn(fmt.Sprintf("settings module %s is not a file of the project (is it installed from a package?)", declared))
		}
	}
	dj.SettingsModule = chosen
	d.djangoSettings(root, chosen, dj)
	return true, nil
}

// productionSettings decides the settings module the image runs with: the one the
// production entry point (wsgi.py/asgi.py) selects, its production branch when it
// selects by a condition, else manage.py's, with a production sibling of a development
// module preferred.
func (d *detector) productionSettings(root, manage string, manageSel settingsSel, entryMod, declared string) (string, error) {
	if declared != "" {
		return declared, nil
	}
	sel := manageSel
	entryFile := d.settingsFile(root, entryMod) // a module's file, found the same way
	if es := d.settingsSelection(entryFile); entryFile != "" && es.found && len(es.choices) > 0 {
		sel = es
	}
	if len(sel.choices) == 0 {
		return "", d.settingsAmbiguity(manage, sel, d.settingsCandidates(root))
	}
	pick, why, ok := prodChoice(sel.choices)
	if !ok {
		return "", d.settingsAmbiguity(sel.file, sel, d.settingsCandidates(root))
	}
	if d.settingsFile(root, pick.module) == "" {
		return "", d.settingsAmbiguity(sel.file, sel, d.settingsCandidates(root))
	}
	chosen := pick.module
	switch {
	case why != "":
		d.evidence("django.settings_module", chosen, sel.file, pick.line, why+"; the image sets DJANGO_SETTINGS_MODULE to it, so it applies wherever the image runs")
	case sel.file != manage && (len(manageSel.choices) != 1 || manageSel.choices[0].module != chosen):
		d.evidence("django.settings_module", chosen, sel.file, pick.line, "the production entry point selects these settings (manage.py's are for development)")
	default:
		d.evidence("django.settings_module", chosen, sel.file, pick.line, path.Base(sel.file)+" sets DJANGO_SETTINGS_MODULE")
	}
	if why == "" {
		if b := path.Base(strings.ReplaceAll(chosen, ".", "/")); isDevName(b) && strings.Contains(chosen, ".") {
			parent := chosen[:strings.LastIndex(chosen, ".")]
			for _, prod := range []string{"production", "prod"} {
				if d.settingsFile(root, parent+"."+prod) != "" {
					chosen = parent + "." + prod
					d.evidence("django.settings_module", chosen, d.settingsFile(root, chosen), 0,
						fmt.Sprintf("%s uses the %q settings; %q is the production module next to it", path.Base(sel.file), b, prod))
					break
				}
			}
		}
	}
	return chosen, nil
}

// settingsAmbiguity lists the settings modules pyship could not choose among, each with
// the flag that settles it.
func (d *detector) settingsAmbiguity(file string, sel settingsSel, found []Candidate) error {
	var cands []Candidate
	seen := map[string]bool{}
	root := d.plan.AppRoot
	for _, c := range sel.choices {
		if seen[c.module] || d.settingsFile(root, c.module) == "" {
			continue
		}
		seen[c.module] = true
		reason := "set unconditionally"
		if len(c.guards) > 0 {
			reason = "selected when " + strings.Join(c.guards, " and ")
		}
		cands = append(cands, Candidate{Value: c.module, File: file, Line: c.line, Reason: reason})
	}
	for _, c := range found {
		if !seen[c.Value] {
			seen[c.Value] = true
			cands = append(cands, c)
		}
	}
	var fixes []string
	for _, c := range cands {
		fixes = append(fixes, "--settings-module "+c.Value)
	}
	if len(cands) > 0 {
		fixes = append(fixes, fmt.Sprintf("or in pyship.toml: settings_module = %q", cands[0].Value))
	} else {
		fixes = append(fixes, "--settings-module <package>.settings (the dotted module of your settings file)")
	}
	return &AmbiguousError{Field: "Django settings module", Candidates: cands, Fix: fixes}
}

func isDevName(s string) bool {
	return s == "dev" || s == "development" || s == "local" || s == "develop" || s == "test"
}

func splitDotted(s string) (string, string) {
	i := strings.LastIndex(s, ".")
	if i < 0 {
		return s, "application"
	}
	return s[:i], s[i+1:]
}

func (d *detector) settingsFile(root, mod string) string {
	p := strings.ReplaceAll(mod, ".", "/")
	for _, c := range []string{join(root, p+".py"), join(root, p+"/__init__.py")} {
		if d.t.has(c) {
			return c
		}
	}
	return ""
}

func (d *detector) settingsCandidates(root string) []Candidate {
	var out []Candidate
	for _, f := range d.t.under(root, ".py") {
		r := rel(root, f)
		if isTestFile(r) {
			continue
		}
		if b := path.Base(f); b == "settings.py" || (strings.Contains(r, "settings/") && b != "__init__.py") {
			out = append(out, Candidate{Value: moduleName(r), File: f, Reason: "settings file"})
		}
	}
	return out
}

// settingsSources lists the settings module's file and the files it star-imports from
// (from .base import *), in that order.
func (d *detector) settingsSources(root, mod string) []string {
	var out []string
	seen := map[string]bool{}
	var visit func(m string)
	visit = func(m string) {
		f := d.settingsFile(root, m)
		if f == "" || seen[f] || len(seen) >= 32 {
			return
		}
		seen[f] = true
		out = append(out, f)
		pkg := m
		if !strings.HasSuffix(f, "__init__.py") {
			if i := strings.LastIndex(m, "."); i >= 0 {
				pkg = m[:i]
			} else {
				pkg = ""
			}
		}
		py := d.t.py(f)
		if py == nil {
			return
		}
		for _, im := range py.imports() {
			if !im.star {
				continue
			}
			target := im.module
			if strings.HasPrefix(target, ".") {
				rest := strings.TrimLeft(target, ".")
				base := pkg
				for i := 1; i < len(target)-len(rest); i++ {
					if j := strings.LastIndex(base, "."); j >= 0 {
						base = base[:j]
					} else {
						base = ""
					}
				}
				target = strings.Trim(base+"."+rest, ".")
			}
			visit(target)
		}
	}
	visit(mod)
	return out
}

// settingValue finds NAME = "value" in the settings or what they star-import.
func (d *detector) settingValue(root, mod, name string) (string, string, int) {
	for _, f := range d.settingsSources(root, mod) {
		py := d.t.py(f)
		if py == nil {
			continue
		}
		for _, s := range statements(py.root) {
			left, right := assignment(s)
			if left == nil || py.text(left) != name {
				continue
			}
			if v, ok := py.str(right); ok && v != "" {
				return v, f, s.line
			}
		}
	}
	return "", "", 0
}

func (d *detector) djangoSettings(root, mod string, dj *DjangoPlan) {
	files := d.settingsSources(root, mod)
	type lastVal struct {
		v    string
		file string
		line int
	}
	vals := map[string]lastVal{}
	literals := map[string]bool{}
	// Later files override earlier ones only when they are the module itself (star imports
	// come first in reading order, the module's own assignments last).
	for i := len(files) - 1; i >= 0; i-- {
		f := files[i]
		py := d.t.py(f)
		if py == nil {
			continue
		}
		for _, s := range statements(py.root) {
			left, right := assignment(s)
			if left != nil && right != nil && left.kind == "identifier" && settingNameRe.MatchString(py.text(left)) {
				vals[py.text(left)] = lastVal{strings.TrimSpace(py.text(right)), f, s.line}
			}
		}
		pyWalk(py.root, func(n *pyNode, _ []*pyNode) bool {
			if n.kind == "string" {
				if v, ok := py.str(n); ok {
					literals[v] = true
				}
				return false
			}
			return true
		})
	}
	staticfiles := literals["django.contrib.staticfiles"]
	sr, hasRoot := vals["STATIC_ROOT"]
	if hasRoot && sr.v != "None" {
		dj.StaticRoot = sr.v
	}
	dj.WhiteNoise = d.hasDep("whitenoise") || literals["whitenoise.middleware.WhiteNoiseMiddleware"]
	switch {
	case staticfiles && dj.StaticRoot != "":
		dj.Collectstatic = true
		d.evidence("django.collectstatic", "true", sr.file, sr.line, "django.contrib.staticfiles is installed and STATIC_ROOT is set")
		if !dj.WhiteNoise {
			d.warn("static files are collected but nothing serves them: add WhiteNoise (whitenoise.middleware.WhiteNoiseMiddleware) or serve STATIC_ROOT from a web server")
		}
	case staticfiles:
		d.warn(fmt.Sprintf("django.contrib.staticfiles is installed but %s sets no STATIC_ROOT: collectstatic cannot run, and static files will not be served in production", mod))
	}
	debug, hasDebug := vals["DEBUG"]
	if hasDebug && debug.v == "True" {
		d.warn(fmt.Sprintf("%s:%d sets DEBUG = True in the settings the image uses: it leaks tracebacks and settings; read it from the environment", debug.file, debug.line))
	}
	hosts, hasHosts := vals["ALLOWED_HOSTS"]
	if hasHosts && strings.ReplaceAll(hosts.v, " ", "") == "[]" && !(hasDebug && debug.v == "True") {
		d.warn(fmt.Sprintf("%s:%d: ALLOWED_HOSTS is empty, so with DEBUG off every request (health checks too) gets 400 DisallowedHost; read the hosts from the environment", hosts.file, hosts.line))
	}
}
