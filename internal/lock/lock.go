// Package lock reads the lock files Python projects keep — pylock.toml (PEP 751),
// uv.lock, poetry.lock, pdm.lock, Pipfile.lock and hash-pinned requirements files — as
// the exact list of distributions to install for one target, and writes pylock.toml.
// Installing from a lock never resolves: what the lock says is what gets installed.
package lock

import (
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pyship/pyship/internal/index"
	"github.com/pyship/pyship/internal/marker"
	"github.com/pyship/pyship/internal/pep440"
	"github.com/pyship/pyship/internal/pyproject"
)

// Package is one distribution a lock pins for the target.
type Package struct {
	Name    string
	Version string
	// Files are the candidate files the lock lists, with hashes. A file without a URL
	// (poetry, pdm) is found on the index by its name; a package with no files
	// (Pipfile.lock, requirements) is matched on the index by hash.
	Files  []index.File
	Hashes []string // sha256 values any chosen file must match (Pipfile.lock, requirements)
	Index  string   // the index the lock names for this package, if any
}

// Locked is the result of reading a lock for a target.
type Locked struct {
	File     string
	Kind     string
	Packages []Package
}

func perr(file string, line int, format string, args ...any) error {
	return &pyproject.ParseError{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// Read reads a lock file for the target's marker environment. groups are the extra
// dependency groups to include beyond the default/main ones.
func Read(file string, data []byte, env marker.Env) (*Locked, error) {
	kind := pyproject.LockKind(file)
	l := &Locked{File: file, Kind: kind}
	var err error
	switch kind {
	case "pylock":
		err = readPylock(l, data, env)
	case "uv":
		err = readUV(l, data, env)
	case "poetry", "pdm":
		err = readPoetry(l, data, env)
	case "pipenv":
		err = readPipfileLock(l, data, env)
	default:
		return nil, perr(file, 0, "not a lock file pyship reads")
	}
	if err != nil {
		return nil, err
	}
	sort.Slice(l.Packages, func(i, j int) bool { return l.Packages[i].Name < l.Packages[j].Name })
	seen := map[string]bool{}
	for _, p := range l.Packages {
		if seen[p.Name] {
			return nil, perr(file, 0, "%s is locked twice for this target (%s)", p.Name, p.Version)
		}
		seen[p.Name] = true
	}
	return l, nil
}

func decode(file string, data []byte, v any) error {
	if err := toml.Unmarshal(data, v); err != nil {
		line := 0
		var de *toml.DecodeError
		if ok := asDecodeError(err, &de); ok {
			line, _ = de.Position()
		}
		return perr(file, line, "%v", err)
	}
	return nil
}

func asDecodeError(err error, target **toml.DecodeError) bool {
	de, ok := err.(*toml.DecodeError)
	if ok {
		*target = de
	}
	return ok
}

func evalMarker(file, m string, env marker.Env) (bool, error) {
	ok, err := marker.Eval(m, env, "")
	if err != nil {
		return false, perr(file, 0, "%v", err)
	}
	return ok, nil
}

// ---- pylock.toml (PEP 751) ----

type pylockFile struct {
	LockVersion    string          `toml:"lock-version"`
	Environments   []string        `toml:"environments"`
	RequiresPython string          `toml:"requires-python,omitempty"`
	CreatedBy      string          `toml:"created-by"`
	Packages       []pylockPackage `toml:"packages"`
}

type pylockPackage struct {
	Name           string           `toml:"name"`
	Version        string           `toml:"version,omitempty"`
	Marker         string           `toml:"marker,omitempty"`
	RequiresPython string           `toml:"requires-python,omitempty"`
	Dependencies   []map[string]any `toml:"dependencies,omitempty"`
	Index          string           `toml:"index,omitempty"`
	Wheels         []pylockWheel    `toml:"wheels,omitempty"`
	Sdist          map[string]any   `toml:"sdist,omitempty"`
	VCS            map[string]any   `toml:"vcs,omitempty"`
	Directory      map[string]any   `toml:"directory,omitempty"`
	Archive        map[string]any   `toml:"archive,omitempty"`
	Tool           map[string]any   `toml:"tool,omitempty"`
	Attestation    []map[string]any `toml:"attestation-identities,omitempty"`
}

type pylockWheel struct {
	Name   string            `toml:"name,omitempty"`
	URL    string            `toml:"url,omitempty"`
	Path   string            `toml:"path,omitempty"`
	Size   int64             `toml:"size,omitempty"`
	Hashes map[string]string `toml:"hashes"`
}

func readPylock(l *Locked, data []byte, env marker.Env) error {
	var f pylockFile
	if err := decode(l.File, data, &f); err != nil {
		return err
	}
	major, _, _ := strings.Cut(f.LockVersion, ".")
	if major != "1" {
		return perr(l.File, 1, "lock-version %q is not supported (1.x is)", f.LockVersion)
	}
	if f.RequiresPython != "" {
		set, err := pep440.ParseSet(f.RequiresPython)
		if err == nil && !set.Contains(pep440.MustParse(env["python_full_version"])) {
			return perr(l.File, 0, "requires-python %s excludes the base image's Python %s", f.RequiresPython, env["python_full_version"])
		}
	}
	if len(f.Environments) > 0 {
		ok := false
		for _, e := range f.Environments {
			if m, err := evalMarker(l.File, e, env); err != nil {
				return err
			} else if m {
				ok = true
			}
		}
		if !ok {
			return perr(l.File, 0, "the lock is for %s, not for the base image (Python %s, %s); lock again for it", strings.Join(f.Environments, " or "), env["python_full_version"], env["platform_machine"])
		}
	}
	for _, p := range f.Packages {
		ok, err := evalMarker(l.File, p.Marker, env)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		name := pyproject.Normalize(p.Name)
		if len(p.Wheels) == 0 {
			kind := "an sdist"
			switch {
			case p.VCS != nil:
				kind = "a VCS checkout"
			case p.Directory != nil:
				kind = "a local directory"
			case p.Archive != nil:
				kind = "an archive"
			}
			return perr(l.File, 0, "%s is locked as %s, not as wheels; pyship installs wheels (build one and lock it, or use --dockerfile)", name, kind)
		}
		pkg := Package{Name: name, Version: p.Version, Index: p.Index}
		for _, w := range p.Wheels {
			fn := w.Name
			loc := w.URL
			if loc == "" && w.Path != "" {
				loc = "file://" + path.Clean(w.Path)
			}
			if fn == "" {
				fn = path.Base(strings.SplitN(loc, "#", 2)[0])
			}
			if len(w.Hashes) == 0 {
				return perr(l.File, 0, "%s: wheel %s has no hashes", name, fn)
			}
			if err := checkWheel(fn, w.Hashes["sha256"]); err != nil {
				return perr(l.File, 0, "%s: %v", name, err)
			}
			pkg.Files = append(pkg.Files, index.File{Filename: fn, URL: loc, Hashes: w.Hashes, Size: w.Size, Index: p.Index})
		}
		l.Packages = append(l.Packages, pkg)
	}
	return nil
}

// checkWheel refuses a wheel name or sha256 that could not be used as a cache path: a
// committed lock file is input pyship does not control, and a name such as
// "x-1.0-py3-none-any.whl/../../../outside/planted.whl" once wrote outside the cache.
func checkWheel(name, sha256 string) error {
	if err := index.CheckWheelName(name); err != nil {
		return fmt.Errorf("wheel %w", err)
	}
	if sha256 != "" {
		if err := index.CheckSHA256(strings.ToLower(sha256)); err != nil {
			return fmt.Errorf("wheel %s: sha256 %w", name, err)
		}
	}
	return nil
}

// ---- uv.lock ----

type uvLock struct {
	Version  int         `toml:"version"`
	Packages []uvPackage `toml:"package"`
}

type uvPackage struct {
	Name                 string             `toml:"name"`
	Version              string             `toml:"version"`
	Source               map[string]string  `toml:"source"`
	Dependencies         []uvDep            `toml:"dependencies"`
	OptionalDependencies map[string][]uvDep `toml:"optional-dependencies"`
	Wheels               []uvFile           `toml:"wheels"`
	Sdist                *uvFile            `toml:"sdist"`
	Metadata             map[string]any     `toml:"metadata"`
	DevDependencies      map[string][]uvDep `toml:"dev-dependencies"`
}

type uvDep struct {
	Name    string   `toml:"name"`
	Version string   `toml:"version"`
	Marker  string   `toml:"marker"`
	Extra   []string `toml:"extra"`
}

type uvFile struct {
	URL  string `toml:"url"`
	Path string `toml:"path"`
	Hash string `toml:"hash"`
	Size int64  `toml:"size"`
}

// readUV walks the universal lock from the project (the editable or virtual root)
// along the edges whose markers hold for the target.
func readUV(l *Locked, data []byte, env marker.Env) error {
	var f uvLock
	if err := decode(l.File, data, &f); err != nil {
		return err
	}
	if f.Version != 1 {
		return perr(l.File, 1, "uv.lock version %d is not supported (1 is)", f.Version)
	}
	byName := map[string][]*uvPackage{}
	var roots []*uvPackage
	for i := range f.Packages {
		p := &f.Packages[i]
		p.Name = pyproject.Normalize(p.Name)
		byName[p.Name] = append(byName[p.Name], p)
		if p.Source["editable"] == "." || p.Source["virtual"] == "." {
			roots = append(roots, p)
		}
	}
	if len(roots) == 0 {
		return perr(l.File, 0, "no package with source editable=\".\" or virtual=\".\": cannot tell the project's own entry")
	}
	visited := map[*uvPackage]bool{}
	extras := map[*uvPackage]map[string]bool{}
	var queue []*uvPackage
	find := func(d uvDep) (*uvPackage, error) {
		cands := byName[pyproject.Normalize(d.Name)]
		if len(cands) == 1 {
			return cands[0], nil
		}
		for _, c := range cands {
			if d.Version == "" || c.Version == d.Version {
				if d.Version != "" || len(cands) == 1 {
					return c, nil
				}
			}
		}
		return nil, perr(l.File, 0, "dependency %s (version %q) is ambiguous or missing in the lock", d.Name, d.Version)
	}
	follow := func(deps []uvDep) error {
		for _, d := range deps {
			ok, err := evalMarker(l.File, d.Marker, env)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			t, err := find(d)
			if err != nil {
				return err
			}
			if extras[t] == nil {
				extras[t] = map[string]bool{}
			}
			grew := false
			for _, e := range d.Extra {
				if !extras[t][e] {
					extras[t][e], grew = true, true
				}
			}
			if !visited[t] || grew {
				visited[t] = true
				queue = append(queue, t)
			}
		}
		return nil
	}
	for _, r := range roots {
		visited[r] = true
		queue = append(queue, r)
	}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if err := follow(p.Dependencies); err != nil {
			return err
		}
		for e := range extras[p] {
			if err := follow(p.OptionalDependencies[e]); err != nil {
				return err
			}
		}
	}
	for p := range visited {
		isRoot := false
		for _, r := range roots {
			isRoot = isRoot || r == p
		}
		if isRoot {
			continue
		}
		if len(p.Wheels) == 0 {
			if p.Source["editable"] != "" || p.Source["directory"] != "" || p.Source["git"] != "" || p.Source["path"] != "" {
				return perr(l.File, 0, "%s comes from %v, not from wheels; pyship installs wheels (or use --dockerfile)", p.Name, p.Source)
			}
			return perr(l.File, 0, "%s %s has only an sdist in the lock; pyship installs wheels (build one with --find-links, or use --dockerfile)", p.Name, p.Version)
		}
		pkg := Package{Name: p.Name, Version: p.Version, Index: p.Source["registry"]}
		for _, w := range p.Wheels {
			algo, hexv, ok := strings.Cut(w.Hash, ":")
			if !ok {
				return perr(l.File, 0, "%s: wheel hash %q is not algorithm:hex", p.Name, w.Hash)
			}
			loc := w.URL
			if loc == "" && w.Path != "" {
				loc = "file://" + w.Path
			}
			fn := path.Base(strings.SplitN(loc, "#", 2)[0])
			if algo != "sha256" {
				hexv = ""
			}
			if err := checkWheel(fn, hexv); err != nil {
				return perr(l.File, 0, "%s: %v", p.Name, err)
			}
			pkg.Files = append(pkg.Files, index.File{Filename: fn, URL: loc, Hashes: map[string]string{algo: hexv}, Size: w.Size, Index: pkg.Index})
		}
		l.Packages = append(l.Packages, pkg)
	}
	return nil
}

// ---- poetry.lock and pdm.lock: files by name and hash, no URLs ----

type poetryLock struct {
	Packages []struct {
		Name           string           `toml:"name"`
		Version        string           `toml:"version"`
		Category       string           `toml:"category"`
		Optional       bool             `toml:"optional"`
		Groups         []string         `toml:"groups"`
		Markers        any              `toml:"markers"`
		RequiresPython string           `toml:"requires_python"`
		Files          []map[string]any `toml:"files"`
		Source         map[string]any   `toml:"source"`
	} `toml:"package"`
}

func readPoetry(l *Locked, data []byte, env marker.Env) error {
	var f poetryLock
	if err := decode(l.File, data, &f); err != nil {
		return err
	}
	for _, p := range f.Packages {
		name := pyproject.Normalize(p.Name)
		// Runtime packages only: poetry 1.x category "main", 2.x group "main", pdm "default".
		main := p.Category == "" || p.Category == "main"
		if len(p.Groups) > 0 {
			main = false
			for _, g := range p.Groups {
				main = main || g == "main" || g == "default"
			}
		}
		if !main {
			continue
		}
		var m string
		switch v := p.Markers.(type) {
		case string:
			m = v
		case map[string]any:
			if s, ok := v["main"].(string); ok {
				m = s
			}
		}
		ok, err := evalMarker(l.File, m, env)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if t, _ := p.Source["type"].(string); t == "git" || t == "directory" || t == "file" || t == "url" {
			return perr(l.File, 0, "%s comes from a %s source; pyship installs wheels from indexes (or use --dockerfile)", name, t)
		}
		pkg := Package{Name: name, Version: p.Version}
		if u, _ := p.Source["url"].(string); u != "" {
			pkg.Index = u
		}
		for _, fm := range p.Files {
			fn, _ := fm["file"].(string)
			h, _ := fm["hash"].(string)
			if fn == "" || h == "" || !strings.HasSuffix(fn, ".whl") {
				continue
			}
			algo, hexv, ok := strings.Cut(h, ":")
			if !ok {
				return perr(l.File, 0, "%s: hash %q is not algorithm:hex", name, h)
			}
			check := hexv
			if algo != "sha256" {
				check = ""
			}
			if err := checkWheel(fn, check); err != nil {
				return perr(l.File, 0, "%s: %v", name, err)
			}
			pkg.Files = append(pkg.Files, index.File{Filename: fn, Hashes: map[string]string{algo: hexv}})
		}
		if len(pkg.Files) == 0 {
			return perr(l.File, 0, "%s %s has no wheel in the lock; pyship installs wheels (or use --dockerfile)", name, p.Version)
		}
		l.Packages = append(l.Packages, pkg)
	}
	return nil
}

// ---- Pipfile.lock: versions and hashes, no files ----

func readPipfileLock(l *Locked, data []byte, env marker.Env) error {
	var f struct {
		Default map[string]struct {
			Version string   `json:"version"`
			Hashes  []string `json:"hashes"`
			Markers string   `json:"markers"`
			Index   string   `json:"index"`
			Git     string   `json:"git"`
			Path    string   `json:"path"`
			File    string   `json:"file"`
		} `json:"default"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return perr(l.File, 0, "%v", err)
	}
	for n, p := range f.Default {
		name := pyproject.Normalize(n)
		ok, err := evalMarker(l.File, p.Markers, env)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if p.Git != "" || p.Path != "" || p.File != "" {
			return perr(l.File, 0, "%s is not from an index; pyship installs wheels from indexes (or use --dockerfile)", name)
		}
		v := strings.TrimPrefix(p.Version, "==")
		if v == "" || v == p.Version {
			return perr(l.File, 0, "%s is not pinned with == (%q)", name, p.Version)
		}
		pkg := Package{Name: name, Version: v}
		for _, h := range p.Hashes {
			if algo, hexv, ok := strings.Cut(h, ":"); ok && algo == "sha256" {
				pkg.Hashes = append(pkg.Hashes, strings.ToLower(hexv))
			}
		}
		if len(pkg.Hashes) == 0 {
			return perr(l.File, 0, "%s has no sha256 hashes", name)
		}
		l.Packages = append(l.Packages, pkg)
	}
	return nil
}

// FromRequirements treats a requirements file in pip's hash-checking mode as a lock:
// every requirement pinned with == and hashed; nothing else gets installed.
func FromRequirements(r *pyproject.Requirements, env marker.Env) (*Locked, error) {
	l := &Locked{File: r.Files[0], Kind: "requirements"}
	for _, q := range r.Requirements {
		if q.Constraint {
			continue
		}
		ok, err := marker.Eval(q.Marker, env, "")
		if err != nil {
			return nil, perr(q.File, q.Line, "%v", err)
		}
		if !ok {
			continue
		}
		set, err := pep440.ParseSet(q.Specifier)
		if err != nil || len(set) != 1 || (set[0].Op != "==" && set[0].Op != "===") || set[0].Wildcard {
			return nil, perr(q.File, q.Line, "%s: in hash-checking mode every requirement must be pinned with == (pip's rule)", q.Name)
		}
		if len(q.Hashes) == 0 {
			return nil, perr(q.File, q.Line, "%s: in hash-checking mode every requirement needs --hash (pip's rule)", q.Name)
		}
		pkg := Package{Name: q.Name, Version: set[0].Version.String()}
		for _, h := range q.Hashes {
			algo, hexv, _ := strings.Cut(h, ":")
			if algo == "sha256" {
				pkg.Hashes = append(pkg.Hashes, strings.ToLower(hexv))
			}
		}
		if len(pkg.Hashes) == 0 {
			return nil, perr(q.File, q.Line, "%s: only sha256 hashes are accepted", q.Name)
		}
		l.Packages = append(l.Packages, pkg)
	}
	sort.Slice(l.Packages, func(i, j int) bool { return l.Packages[i].Name < l.Packages[j].Name })
	return l, nil
}
