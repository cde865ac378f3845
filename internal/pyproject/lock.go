package pyproject

import (
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
)

// Lock is a lock file's package list.
type Lock struct {
	File           string
	Kind           string // "uv", "poetry", "pdm", "pylock", "pipenv"
	RequiresPython string
	Packages       []LockedPackage
}

// LockedPackage is one pinned distribution.
type LockedPackage struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// LockKind names the tool that writes a lock file, from its base name ("" if none).
func LockKind(name string) string {
	base := path.Base(name)
	switch {
	case base == "uv.lock":
		return "uv"
	case base == "poetry.lock":
		return "poetry"
	case base == "pdm.lock":
		return "pdm"
	case base == "Pipfile.lock":
		return "pipenv"
	case base == "pylock.toml" || (strings.HasPrefix(base, "pylock.") && strings.HasSuffix(base, ".toml")):
		return "pylock"
	}
	return ""
}

// ParseLock reads any lock file LockKind knows.
func ParseLock(name string, data []byte) (*Lock, error) {
	kind := LockKind(name)
	l := &Lock{File: name, Kind: kind}
	if kind == "pipenv" {
		return l, parsePipfileLock(l, data)
	}
	if kind == "" {
		return nil, &ParseError{File: name, Msg: "not a known lock file"}
	}
	doc, err := decodeTOML(name, data)
	if err != nil {
		return nil, err
	}
	listKey := "package"
	if kind == "pylock" {
		listKey = "packages"
		if v := str(doc, "lock-version"); v == "" {
			return nil, &ParseError{File: name, Line: 1, Msg: "pylock.toml without lock-version (PEP 751)"}
		}
	}
	switch kind {
	case "uv", "pylock":
		l.RequiresPython = str(doc, "requires-python")
	case "poetry":
		l.RequiresPython = str(table(doc, "metadata"), "python-versions")
	case "pdm":
		l.RequiresPython = str(table(doc, "metadata"), "requires_python")
	}
	raw, ok := doc[listKey]
	if !ok {
		return l, nil
	}
	arr, ok := raw.([]any)
	if !ok {
		return nil, &ParseError{File: name, Line: lineOf(data, "[["+listKey+"]]"), Msg: listKey + " must be an array of tables"}
	}
	for i, x := range arr {
		t, ok := x.(map[string]any)
		if !ok || str(t, "name") == "" {
			return nil, &ParseError{File: name, Msg: fmt.Sprintf("%s entry %d has no name", listKey, i+1)}
		}
		l.Packages = append(l.Packages, LockedPackage{Name: Normalize(str(t, "name")), Version: str(t, "version")})
	}
	return l, nil
}

func parsePipfileLock(l *Lock, data []byte) error {
	var doc struct {
		Meta struct {
			Requires struct {
				PythonVersion     string `json:"python_version"`
				PythonFullVersion string `json:"python_full_version"`
			} `json:"requires"`
		} `json:"_meta"`
		Default map[string]struct {
			Version string `json:"version"`
		} `json:"default"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		line := 0
		if se, ok := err.(*json.SyntaxError); ok {
			line = 1 + strings.Count(string(data[:min(int(se.Offset), len(data))]), "\n")
		}
		return &ParseError{File: l.File, Line: line, Msg: err.Error()}
	}
	l.RequiresPython = doc.Meta.Requires.PythonFullVersion
	if l.RequiresPython == "" {
		l.RequiresPython = doc.Meta.Requires.PythonVersion
	}
	for n, p := range doc.Default {
		l.Packages = append(l.Packages, LockedPackage{Name: Normalize(n), Version: strings.TrimPrefix(p.Version, "==")})
	}
	sort.Slice(l.Packages, func(i, j int) bool { return l.Packages[i].Name < l.Packages[j].Name })
	return nil
}

// Names lists the normalised names of the locked packages.
func (l *Lock) Names() []string {
	var out []string
	for _, p := range l.Packages {
		out = append(out, p.Name)
	}
	return out
}
