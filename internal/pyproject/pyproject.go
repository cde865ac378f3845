package pyproject

import (
	"sort"
	"strings"
)

// Pyproject is what pyship reads from pyproject.toml.
type Pyproject struct {
	File           string
	Name           string
	RequiresPython string    // [project] requires-python
	PoetryPython   string    // [tool.poetry.dependencies] python
	Dependencies   []Located // runtime dependencies (PEP 621, else Poetry)
	DevNames       []string  // dev groups and optional dependencies, normalised
	Scripts        map[string]string
	BuildBackend   string
	Tools          []string // [tool.X] tables present, sorted
	Pyship         map[string]any
	HasProject     bool // a [project] table
	Dynamic        []string
}

// Tool reports whether a [tool.name] table exists.
func (p *Pyproject) Tool(name string) bool { return contains(p.Tools, name) }

// ParsePyproject reads pyproject.toml content.
func ParsePyproject(name string, data []byte) (*Pyproject, error) {
	doc, err := decodeTOML(name, data)
	if err != nil {
		return nil, err
	}
	p := &Pyproject{File: name, Scripts: map[string]string{}}
	if bs := table(doc, "build-system"); bs != nil {
		p.BuildBackend = str(bs, "build-backend")
	}
	tools := table(doc, "tool")
	for k := range tools {
		p.Tools = append(p.Tools, k)
	}
	sort.Strings(p.Tools)
	p.Pyship = table(doc, "tool", "pyship")

	if proj := table(doc, "project"); proj != nil {
		p.HasProject = true
		p.Name = str(proj, "name")
		p.RequiresPython = str(proj, "requires-python")
		p.Dynamic = strList(proj["dynamic"])
		if v, ok := proj["dependencies"]; ok {
			if _, isList := v.([]any); !isList {
				return nil, &ParseError{File: name, Line: lineOf(data, "dependencies"), Msg: "[project] dependencies must be an array of strings"}
			}
		}
		for _, d := range strList(proj["dependencies"]) {
			req, err := ParseRequirement(d)
			if err != nil {
				return nil, &ParseError{File: name, Line: lineOfValue(data, d), Msg: err.Error()}
			}
			p.Dependencies = append(p.Dependencies, Located{Requirement: req, File: name, Line: lineOfValue(data, d)})
		}
		for _, group := range table(proj, "optional-dependencies") {
			p.DevNames = appendNames(p.DevNames, strList(group))
		}
		for k, v := range table(proj, "scripts") {
			if s, ok := v.(string); ok {
				p.Scripts[k] = s
			}
		}
	}
	if poetry := table(doc, "tool", "poetry"); poetry != nil {
		deps := table(poetry, "dependencies")
		p.PoetryPython = str(deps, "python")
		if !p.HasProject || len(p.Dependencies) == 0 {
			locs, err := tableRequirements(name, data, deps, "python")
			if err != nil {
				return nil, err
			}
			p.Dependencies = append(p.Dependencies, locs...)
		}
		for _, g := range table(poetry, "group") {
			if gt, ok := g.(map[string]any); ok {
				p.DevNames = appendNames(p.DevNames, sortedKeys(table(gt, "dependencies")))
			}
		}
		p.DevNames = appendNames(p.DevNames, sortedKeys(table(poetry, "dev-dependencies")))
		for k, v := range table(poetry, "scripts") {
			if s, ok := v.(string); ok {
				p.Scripts[k] = s
			}
		}
		if p.Name == "" {
			p.Name = str(poetry, "name")
		}
	}
	for _, g := range table(doc, "dependency-groups") {
		p.DevNames = appendNames(p.DevNames, strList(g))
	}
	if pdm := table(doc, "tool", "pdm", "dev-dependencies"); pdm != nil {
		for _, g := range pdm {
			p.DevNames = appendNames(p.DevNames, strList(g))
		}
	}
	p.DevNames = appendNames(p.DevNames, strList(table(doc, "tool", "uv")["dev-dependencies"]))
	return p, nil
}

// Names lists the normalised runtime dependency names.
func (p *Pyproject) Names() []string { return names(p.Dependencies) }

func names(locs []Located) []string {
	var out []string
	for _, d := range locs {
		out = append(out, d.Name)
	}
	return out
}

func appendNames(out []string, specs []string) []string {
	for _, s := range specs {
		if r, err := ParseRequirement(s); err == nil {
			out = append(out, r.Name)
		} else if nameRe.FindString(s) == s {
			out = append(out, Normalize(s))
		}
	}
	return out
}

func lineOfValue(data []byte, v string) int {
	for i, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, `"`+v+`"`) || strings.Contains(l, `'`+v+`'`) {
			return i + 1
		}
	}
	return 0
}

// Pipfile is what pyship reads from a Pipfile.
type Pipfile struct {
	File          string
	Packages      []Located
	DevNames      []string
	PythonVersion string // [requires] python_full_version, else python_version
}

// ParsePipfile reads a Pipfile (TOML).
func ParsePipfile(name string, data []byte) (*Pipfile, error) {
	doc, err := decodeTOML(name, data)
	if err != nil {
		return nil, err
	}
	p := &Pipfile{File: name}
	if p.Packages, err = tableRequirements(name, data, table(doc, "packages")); err != nil {
		return nil, err
	}
	p.DevNames = appendNames(nil, sortedKeys(table(doc, "dev-packages")))
	req := table(doc, "requires")
	p.PythonVersion = str(req, "python_full_version")
	if p.PythonVersion == "" {
		p.PythonVersion = str(req, "python_version")
	}
	return p, nil
}

// Names lists the normalised [packages] names.
func (p *Pipfile) Names() []string { return names(p.Packages) }
