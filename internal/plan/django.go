package plan

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
)

var (
	settingsEnvRe = regexp.MustCompile(`(?:os\.environ\.setdefault|environ\.setdefault)\(\s*["']DJANGO_SETTINGS_MODULE["']\s*,\s*["']([\w.]+)["']`)
	settingRe     = regexp.MustCompile(`^([A-Z_]+)\s*=\s*(.*)$`)
)

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
			return false, &AmbiguousError{Field: "Django project", Fix: []string{"run pyship in the folder that holds manage.py", "--app-root <folder with manage.py>"}}
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
	src := d.t.read(manage)
	settingsMod := ""
	settingsLine := 0
	for _, l := range pyLines(src) {
		if m := settingsEnvRe.FindStringSubmatch(l.code); m != nil {
			settingsMod, settingsLine = m[1], l.n
			break
		}
	}
	if settingsMod == "" {
		return true, &AmbiguousError{Field: "Django settings module", Candidates: d.settingsCandidates(root),
			Fix: []string{"set os.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", \"mysite.settings\") in " + manage, "or --entrypoint mysite.wsgi:application"}}
	}
	d.evidence("django.settings_module", settingsMod, manage, settingsLine, "manage.py sets DJANGO_SETTINGS_MODULE")
	// WSGI_APPLICATION from the settings (and the modules it star-imports).
	wsgiApp, wsgiFile, wsgiLine := d.settingValue(root, settingsMod, "WSGI_APPLICATION")
	asgiApp, asgiFile, asgiLine := d.settingValue(root, settingsMod, "ASGI_APPLICATION")
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
		pkg := strings.SplitN(settingsMod, ".", 2)[0]
		if d.t.has(join(root, pkg+"/wsgi.py")) {
			entryMod, entryAttr = pkg+".wsgi", "application"
			d.evidence("entrypoint", entryMod+":application", join(root, pkg+"/wsgi.py"), 0, "no WSGI_APPLICATION setting; the settings package has wsgi.py")
			p.Interface = "wsgi"
		}
	}
	if entryMod == "" {
		return true, &AmbiguousError{Field: "entry point", Fix: []string{"set WSGI_APPLICATION in the settings", "--entrypoint mysite.wsgi:application"}}
	}
	if p.Entrypoint == "" {
		p.Entrypoint = entryMod + ":" + entryAttr
	} else {
		p.Evidence = p.Evidence[:len(p.Evidence)-1] // the declared entry point stands
	}
	if strings.HasPrefix(rel(p.Context, root), "src") && root != p.Context {
		d.evidence("app_root", root, manage, 0, "src layout")
	}
	// The production settings: the module the WSGI/ASGI file selects wins over manage.py's.
	chosen := settingsMod
	entryFile := join(root, strings.ReplaceAll(entryMod, ".", "/")+".py")
	for _, l := range pyLines(d.t.read(entryFile)) {
		if m := settingsEnvRe.FindStringSubmatch(l.code); m != nil && m[1] != settingsMod {
			chosen = m[1]
			d.evidence("django.settings_module", chosen, entryFile, l.n, "the production entry point selects these settings (manage.py's are for development)")
		}
	}
	if chosen == settingsMod && d.settingsFile(root, settingsMod) != "" {
		if base := path.Base(strings.ReplaceAll(settingsMod, ".", "/")); isDevName(base) {
			parent := settingsMod[:strings.LastIndex(settingsMod, ".")]
			for _, prod := range []string{"production", "prod"} {
				if d.settingsFile(root, parent+"."+prod) != "" {
					chosen = parent + "." + prod
					d.evidence("django.settings_module", chosen, d.settingsFile(root, chosen), 0,
						fmt.Sprintf("manage.py uses the %q settings; %q is the production module next to it", base, prod))
					break
				}
			}
		}
	}
	dj.SettingsModule = chosen
	d.djangoSettings(root, chosen, dj)
	return true, nil
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
		if b := path.Base(f); b == "settings.py" || strings.Contains(f, "/settings/") {
			out = append(out, Candidate{Value: moduleName(rel(root, f)), File: f})
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
		if f == "" || seen[f] {
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
		for _, l := range pyLines(d.t.read(f)) {
			if !strings.HasPrefix(l.code, "from ") || !strings.HasSuffix(l.code, "import *") {
				continue
			}
			target := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(l.code, "from "), "import *"))
			if strings.HasPrefix(target, ".") {
				rest := strings.TrimLeft(target, ".")
				base := pkg
				for i := 1; i < len(target)-len(rest); i++ {
					if j := strings.LastIndex(base, "."); j >= 0 {
						base = base[:j]
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
		for _, l := range pyLines(d.t.read(f)) {
			if m := settingRe.FindStringSubmatch(l.code); m != nil && l.indent == 0 && m[1] == name {
				if v := pyString(m[2]); v != "" {
					return v, f, l.n
				}
			}
		}
	}
	return "", "", 0
}

func (d *detector) djangoSettings(root, mod string, dj *DjangoPlan) {
	files := d.settingsSources(root, mod)
	var all strings.Builder
	type lastVal struct {
		v    string
		file string
		line int
	}
	vals := map[string]lastVal{}
	// Later files override earlier ones only when they are the module itself (star imports
	// come first in reading order, the module's own assignments last).
	for i := len(files) - 1; i >= 0; i-- {
		f := files[i]
		for _, l := range pyLines(d.t.read(f)) {
			all.WriteString(l.code + "\n")
			if m := settingRe.FindStringSubmatch(l.code); m != nil && l.indent == 0 {
				vals[m[1]] = lastVal{strings.TrimSpace(m[2]), f, l.n}
			}
		}
	}
	text := all.String()
	staticfiles := strings.Contains(text, "django.contrib.staticfiles")
	sr, hasRoot := vals["STATIC_ROOT"]
	if hasRoot && sr.v != "None" {
		dj.StaticRoot = sr.v
	}
	dj.WhiteNoise = d.hasDep("whitenoise") || strings.Contains(text, "whitenoise.middleware.WhiteNoiseMiddleware")
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
