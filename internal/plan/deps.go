package plan

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/pyship/pyship/internal/pyproject"
)

// manifests is what Detect found in the build context, parsed.
type manifests struct {
	requirements *pyproject.Requirements // the chosen requirements file with includes
	reqFile      string
	pyproject    *pyproject.Pyproject
	pipfile      *pyproject.Pipfile
	locks        []*pyproject.Lock
	setupFiles   []string
	all          []string // every manifest/lock file seen, for warnings
	devReqs      []string // requirement files named for development: never installed
}

// requirementsRe matches requirement files, with or without .txt, e.g.
// requirements.txt, requirements-prod.txt, requirements/production, requirements/base.txt.
var requirementsRe = regexp.MustCompile(`^(requirements[^/]*\.(txt|in)|requirements/[^/]+)$`)

func readManifests(t *tree, ctx string) (*manifests, error) {
	m := &manifests{}
	var reqCandidates []string
	for _, f := range t.under(ctx, "") {
		r := rel(ctx, f)
		switch {
		case r == "pyproject.toml":
			p, err := pyproject.ParsePyproject(f, t.read(f))
			if err != nil {
				return nil, err
			}
			m.pyproject = p
			m.all = append(m.all, f)
		case r == "Pipfile":
			p, err := pyproject.ParsePipfile(f, t.read(f))
			if err != nil {
				return nil, err
			}
			m.pipfile = p
			m.all = append(m.all, f)
		case !strings.Contains(r, "/") && pyproject.LockKind(r) != "":
			l, err := pyproject.ParseLock(f, t.read(f))
			if err != nil {
				return nil, err
			}
			m.locks = append(m.locks, l)
			m.all = append(m.all, f)
		case r == "setup.py" || r == "setup.cfg":
			m.setupFiles = append(m.setupFiles, f)
			m.all = append(m.all, f)
		case requirementsRe.MatchString(r) && !strings.HasSuffix(r, ".in") && isDevRequirements(r):
			m.devReqs = append(m.devReqs, f)
		case requirementsRe.MatchString(r) && !strings.HasSuffix(r, ".in"):
			reqCandidates = append(reqCandidates, f)
		}
	}
	if len(reqCandidates) > 0 {
		m.reqFile = chooseRequirements(ctx, reqCandidates)
		reqs, err := pyproject.ReadRequirements(t.fsys, m.reqFile)
		if err != nil {
			return nil, err
		}
		m.requirements = reqs
		m.all = append(m.all, m.reqFile)
	}
	return m, nil
}

// devWords name requirement files that are never production dependencies:
// requirements-dev.txt, requirements/test.txt, requirements_lint.txt, docs-requirements.
var devWords = map[string]bool{
	"dev": true, "develop": true, "development": true, "test": true, "tests": true, "testing": true,
	"lint": true, "linting": true, "docs": true, "doc": true, "local": true, "ci": true, "typing": true,
	"style": true, "format": true, "qa": true, "debug": true,
}

// isDevRequirements reports whether a requirements file (path relative to its
// project) is named for development, testing, linting or docs.
func isDevRequirements(r string) bool {
	r = strings.TrimSuffix(strings.TrimSuffix(r, ".txt"), ".in")
	for _, w := range strings.FieldsFunc(r, func(c rune) bool { return c == '-' || c == '_' || c == '.' || c == '/' }) {
		if devWords[strings.ToLower(w)] {
			return true
		}
	}
	return false
}

// chooseRequirements picks the production requirements file: requirements.txt, else a
// production-named one, else the base one.
func chooseRequirements(ctx string, cands []string) string {
	rank := func(f string) int {
		r := rel(ctx, f)
		base := strings.TrimSuffix(path.Base(r), ".txt")
		switch {
		case r == "requirements.txt":
			return 0
		case strings.Contains(base, "prod"):
			return 1
		case base == "requirements" || base == "base" || base == "common" || base == "main":
			return 2
		case strings.Contains(base, "dev") || strings.Contains(base, "test") || strings.Contains(base, "lint") || strings.Contains(base, "doc") || strings.Contains(base, "local"):
			return 9
		}
		return 5
	}
	sort.SliceStable(cands, func(i, j int) bool {
		if rank(cands[i]) != rank(cands[j]) {
			return rank(cands[i]) < rank(cands[j])
		}
		return cands[i] < cands[j]
	})
	return cands[0]
}

// names are the normalised runtime dependency names the manifests declare (or, with
// only a lock file, the locked ones), without duplicates.
func (m *manifests) names() []string {
	var all []string
	if m.requirements != nil {
		all = append(all, m.requirements.Names()...)
	}
	if m.pyproject != nil {
		all = append(all, m.pyproject.Names()...)
	}
	if m.pipfile != nil {
		all = append(all, m.pipfile.Names()...)
	}
	if len(all) == 0 {
		// Only a lock: its names, less the project itself and what it declares for
		// development (a lock holds the dev groups too).
		dev := map[string]bool{}
		if m.pyproject != nil {
			for _, n := range m.pyproject.DevNames {
				dev[n] = true
			}
			dev[pyproject.Normalize(m.pyproject.Name)] = true // the project itself
		}
		if m.pipfile != nil {
			for _, n := range m.pipfile.DevNames {
				dev[n] = true
			}
		}
		for _, l := range m.locks {
			for _, n := range l.Names() {
				if !dev[n] {
					all = append(all, n)
				}
			}
		}
	}
	out := []string{}
	seen := map[string]bool{}
	for _, n := range all {
		if n != "" && n != "python" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// lockPrecedence: a lock is strictly more precise than a manifest, so it wins.
var lockPrecedence = []string{"pylock", "uv", "poetry", "pdm", "pipenv"}

// chooseManager decides how dependencies are installed and which names are runtime
// dependencies.
func (d *detector) chooseManager(m *manifests) {
	deps := &d.plan.Dependencies
	lockOf := func(kind string) *pyproject.Lock {
		for _, l := range m.locks {
			if l.Kind == kind {
				return l
			}
		}
		return nil
	}
	isPackage := m.pyproject != nil && m.pyproject.BuildBackend != "" && m.pyproject.HasProject
	chosen := false
	for _, kind := range lockPrecedence {
		l := lockOf(kind)
		if l == nil {
			continue
		}
		deps.Manager = kind
		deps.Files = []string{l.File}
		switch kind {
		case "uv", "poetry", "pdm":
			if m.pyproject != nil {
				deps.Files = append([]string{m.pyproject.File}, deps.Files...)
			}
		case "pipenv":
			if m.pipfile != nil {
				deps.Files = append([]string{m.pipfile.File}, deps.Files...)
			}
		}
		d.evidence("dependencies.manager", kind, l.File, 0, "a lock file is the most precise statement of the dependencies")
		chosen = true
		break
	}
	switch {
	case chosen:
	// GCP's rule: a requirements file next to a pyproject without a lock is what the
	// project installs with (the pyproject is often only tool configuration).
	case m.requirements != nil:
		deps.Manager = "pip"
		deps.Files = append([]string{}, m.requirements.Files...)
		d.evidence("dependencies.manager", "pip", m.reqFile, 0, "requirements file (followed its -r/-c includes)")
	case m.pyproject != nil && m.pyproject.Tool("poetry") && !m.pyproject.HasProject:
		deps.Manager = "poetry"
		deps.Files = []string{m.pyproject.File}
		d.evidence("dependencies.manager", "poetry", m.pyproject.File, 0, "[tool.poetry] without a lock file")
		d.warn(fmt.Sprintf("%s has no poetry.lock: the image resolves versions at build time; run `poetry lock` and commit the lock for repeatable builds", m.pyproject.File))
	case m.pyproject != nil && m.pyproject.HasProject:
		deps.Manager = "pep621"
		deps.Files = []string{m.pyproject.File}
		d.evidence("dependencies.manager", "pep621", m.pyproject.File, 0, "[project] dependencies without a lock file")
	case m.pipfile != nil:
		deps.Manager = "pipenv"
		deps.Files = []string{m.pipfile.File}
		d.evidence("dependencies.manager", "pipenv", m.pipfile.File, 0, "Pipfile without Pipfile.lock")
		d.warn(m.pipfile.File + " has no Pipfile.lock: run `pipenv lock` and commit it for repeatable builds")
	case len(m.setupFiles) > 0:
		deps.Manager = "setuptools"
		deps.Files = m.setupFiles
		deps.InstallProject = true
		d.evidence("dependencies.manager", "setuptools", m.setupFiles[0], 0, "setup.py/setup.cfg only")
	}
	for _, f := range m.devReqs {
		d.evidence("dependencies.files", f, f, 0, "named for development, tests, linting or docs: never installed in the image")
	}
	if deps.Manager == "" && len(m.devReqs) > 0 {
		d.warn(fmt.Sprintf("no production dependency file: %s is for development and is not installed; list what the app needs in requirements.txt (it may be included from the dev file with -r requirements.txt)", strings.Join(m.devReqs, ", ")))
	}
	if isPackage && deps.Manager != "pip" {
		deps.InstallProject = true
	}
	// Several statements of the dependencies that may disagree.
	var kinds []string
	for _, f := range m.all {
		if !contains(deps.Files, f) && !strings.HasSuffix(f, "setup.cfg") {
			kinds = append(kinds, f)
		}
	}
	if len(kinds) > 0 && deps.Manager != "" {
		d.warn(fmt.Sprintf("dependencies are also declared in %s; pyship installs from %s (%s). Make sure they agree, or remove the stale one",
			strings.Join(kinds, ", "), strings.Join(deps.Files, ", "), deps.Manager))
	}
	deps.Packages = m.names()
	d.extras = map[string][]string{}
	collect := func(locs []pyproject.Located) {
		for _, l := range locs {
			d.extras[l.Name] = append(d.extras[l.Name], l.Extras...)
		}
	}
	if m.requirements != nil {
		collect(m.requirements.Requirements)
	}
	if m.pyproject != nil {
		collect(m.pyproject.Dependencies)
	}
	if m.pipfile != nil {
		collect(m.pipfile.Packages)
	}
	if deps.Files == nil {
		deps.Files = []string{}
	}
	if deps.Packages == nil {
		deps.Packages = []string{}
	}
}

// hasDep reports whether a runtime dependency (by normalised name) is declared, directly
// or through an extra that pulls it in (fastapi[standard] brings uvicorn).
func (d *detector) hasDep(name string) bool {
	for _, p := range d.plan.Dependencies.Packages {
		if p == name {
			return true
		}
	}
	for pkg, extras := range d.extras {
		for _, e := range extras {
			if via, ok := extraProvides[pkg+"["+e+"]"]; ok && contains(via, name) {
				return true
			}
		}
	}
	return false
}

// extraProvides lists what well-known extras install.
var extraProvides = map[string][]string{
	"fastapi[standard]":  {"uvicorn", "fastapi-cli"},
	"fastapi[all]":       {"uvicorn"},
	"litestar[standard]": {"uvicorn"},
	"uvicorn[standard]":  {"uvicorn"},
	"channels[daphne]":   {"daphne"},
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
