package build

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pyship/pyship/internal/index"
	"github.com/pyship/pyship/internal/lock"
	"github.com/pyship/pyship/internal/marker"
	"github.com/pyship/pyship/internal/plan"
	"github.com/pyship/pyship/internal/projectfs"
	"github.com/pyship/pyship/internal/pyproject"
	"github.com/pyship/pyship/internal/resolve"
	"github.com/pyship/pyship/internal/target"
	"github.com/pyship/pyship/internal/wheel"
)

// Wheel is a distribution chosen for the image.
type Wheel struct {
	Name     string     `json:"name"`
	Version  string     `json:"version"`
	File     index.File `json:"-"`
	Filename string     `json:"file"`
	SHA256   string     `json:"sha256"`
	Requires []string   `json:"-"`
	Path     string     `json:"-"` // the downloaded file, once fetched
}

// Inputs are the project's dependency declarations as pyship will install them.
type Inputs struct {
	Lock        *lock.Locked            // set when a lock decides everything
	Requirement []pyproject.Requirement // otherwise, what to resolve
	Constraints []pyproject.Requirement
	Pre         bool
	Indexes     []string
	FindLinks   []string
	Notes       []string
	lockSource  *pyproject.Requirements // a hash-pinned requirements file, read per target
	server      string                  // a server the image needs that the lock must hold
}

// IndexOptions are the user's index settings; the zero value means: what the project's
// requirements file, PIP_INDEX_URL/PIP_EXTRA_INDEX_URL, pip.conf or PyPI say, in that order.
type IndexOptions struct {
	IndexURL      string
	ExtraIndexURL []string
	FindLinks     []string
	NoIndex       bool
}

// ReadInputs reads what the Plan found: a lock file if there is one, else the
// requirements to resolve.
func ReadInputs(dir string, p *plan.Plan, opts IndexOptions, pre bool) (*Inputs, error) {
	return readInputs(dir, p, opts, pre, false)
}

// ReadManifests is ReadInputs without lock files: what `pyship lock` resolves.
func ReadManifests(dir string, p *plan.Plan, opts IndexOptions, pre bool) (*Inputs, error) {
	return readInputs(dir, p, opts, pre, true)
}

func readInputs(dir string, p *plan.Plan, opts IndexOptions, pre, fresh bool) (*Inputs, error) {
	fsys, err := projectfs.Open(dir)
	if err != nil {
		return nil, err
	}
	defer fsys.Close()
	in := &Inputs{Pre: pre}
	var req *pyproject.Requirements
	deps := p.Dependencies
	if fresh {
		deps = manifestsOnly(fsys, p)
	}
	readFile := func(name string) ([]byte, error) {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", name, err)
		}
		return b, nil
	}
	for _, f := range deps.Files {
		if pyproject.LockKind(f) != "" && !fresh {
			b, err := readFile(f)
			if err != nil {
				return nil, err
			}
			// Parsed per target in Choose; here only checked to fail early on bad input.
			if _, err := lock.Read(f, b, probeEnv()); err != nil && !isMarkerEnvError(err) {
				return nil, err
			}
			in.Lock = &lock.Locked{File: f, Kind: pyproject.LockKind(f)}
			break
		}
	}
	if in.Lock == nil {
		switch deps.Manager {
		case "pip":
			r, err := pyproject.ReadRequirements(fsys, deps.Files[0])
			if err != nil {
				return nil, err
			}
			req = r
			if r.RequireHashes {
				in.lockSource = r
				in.Notes = append(in.Notes, deps.Files[0]+" is in hash-checking mode: installed as a lock, without resolving")
			}
			for _, l := range r.Requirements {
				switch {
				case l.Editable || (l.URL != "" && (strings.HasPrefix(l.URL, ".") || strings.HasPrefix(l.URL, "/"))):
					in.Notes = append(in.Notes, fmt.Sprintf("%s:%d: %s is the project itself or a local path; its code is in the app layer, not installed as a package", l.File, l.Line, l.URL))
				case l.URL != "":
					return nil, &pyproject.ParseError{File: l.File, Line: l.Line, Msg: l.URL + ": direct URLs are not installed by pyship build; put the wheel in a directory and pass --find-links, or use --dockerfile"}
				case l.Constraint:
					in.Constraints = append(in.Constraints, l.Requirement)
				default:
					in.Requirement = append(in.Requirement, l.Requirement)
				}
			}
			in.Pre = in.Pre || r.Pre
		case "pep621", "poetry", "uv", "pdm", "setuptools":
			pyf := ""
			for _, f := range deps.Files {
				if path.Base(f) == "pyproject.toml" {
					pyf = f
				}
			}
			if pyf == "" {
				return nil, fmt.Errorf("%s project without pyproject.toml dependencies: pyship build cannot read setup.py; use --dockerfile", deps.Manager)
			}
			b, err := readFile(pyf)
			if err != nil {
				return nil, err
			}
			pp, err := pyproject.ParsePyproject(pyf, b)
			if err != nil {
				return nil, err
			}
			for _, l := range pp.Dependencies {
				in.Requirement = append(in.Requirement, l.Requirement)
			}
		case "pipenv":
			b, err := readFile(deps.Files[len(deps.Files)-1])
			if err != nil {
				return nil, err
			}
			pf, err := pyproject.ParsePipfile(deps.Files[len(deps.Files)-1], b)
			if err != nil {
				return nil, err
			}
			for _, l := range pf.Packages {
				in.Requirement = append(in.Requirement, l.Requirement)
			}
		case "":
		default:
			return nil, fmt.Errorf("dependencies managed by %s: pyship build cannot read them; use --dockerfile", deps.Manager)
		}
	}
	if p.AddServer && p.ServerPackage != "" {
		if in.Lock != nil || in.lockSource != nil {
			in.server = pyproject.Normalize(p.ServerPackage) // checked against the lock in Choose
		} else {
			in.Requirement = append(in.Requirement, pyproject.Requirement{Name: p.ServerPackage})
			in.Notes = append(in.Notes, p.ServerPackage+" added: the project's dependencies have no production server")
		}
	}
	if err := projectFindLinks(dir, req); err != nil {
		return nil, err
	}
	in.Indexes, in.FindLinks = indexes(dir, opts, req)
	return in, nil
}

// projectFindLinks keeps a requirements file's local --find-links inside the project:
// the file is the project's, and what it names is read like the project, never from
// elsewhere on this machine (a -f ../../ or file:///home/... would copy any wheel-named
// file outside the project into the image). URLs over the network are indexes, fine.
func projectFindLinks(dir string, req *pyproject.Requirements) error {
	if req == nil {
		return nil
	}
	for _, f := range req.FindLinks {
		local := f
		if u, ok := strings.CutPrefix(f, "file://"); ok {
			local = u
		} else if strings.Contains(f, "://") {
			continue
		}
		if !filepath.IsAbs(local) {
			local = filepath.Join(dir, path.Dir(req.Files[0]), local)
		}
		root, local := dir, filepath.Clean(local)
		// A folder of the project that is a symlink out of it leaves it too.
		if r, err := filepath.EvalSymlinks(dir); err == nil {
			root = r
			if l, err := filepath.EvalSymlinks(local); err == nil {
				local = l
			} else if rl, err := filepath.Rel(dir, local); err == nil {
				local = filepath.Join(root, rl)
			}
		}
		rel, err := filepath.Rel(root, local)
		if err != nil || !filepath.IsLocal(rel) && rel != "." {
			return fmt.Errorf("%s: --find-links %s leaves the project; put the wheels in a folder of the project, or pass --find-links on the command line", req.Files[0], f)
		}
	}
	return nil
}

// manifestsOnly picks the manifest behind a lock: requirements.txt, else
// pyproject.toml, else Pipfile, in the project's context.
func manifestsOnly(fsys fs.FS, p *plan.Plan) plan.Dependencies {
	d := p.Dependencies
	var files []string
	for _, f := range d.Files {
		if pyproject.LockKind(f) == "" {
			files = append(files, f)
		}
	}
	d.Files = files
	switch d.Manager {
	case "pylock", "uv", "poetry", "pdm", "pipenv":
		for _, c := range []struct{ file, manager string }{{"requirements.txt", "pip"}, {"pyproject.toml", "pep621"}, {"Pipfile", "pipenv"}} {
			f := path.Join(p.Context, c.file)
			if _, err := fs.Stat(fsys, f); err == nil {
				d.Manager, d.Files = c.manager, []string{f}
				break
			}
		}
	}
	return d
}

func isMarkerEnvError(err error) bool {
	return strings.Contains(err.Error(), "the lock is for") || strings.Contains(err.Error(), "requires-python")
}

// probeEnv is a plausible target, used only to check a lock parses.
func probeEnv() marker.Env {
	return target.Target{Arch: "amd64", Python: "3.12.0", Libc: "glibc", LibcVersion: "2.36"}.MarkerEnv()
}

// indexes applies pip's precedence: flags, then the requirements file, then the
// environment, then pip.conf, then PyPI.
func indexes(dir string, o IndexOptions, req *pyproject.Requirements) (idx, findLinks []string) {
	conf := pipConf()
	primary := firstNonEmpty(o.IndexURL, reqIndex(req), os.Getenv("PIP_INDEX_URL"), conf["index-url"], "https://pypi.org/simple")
	extra := o.ExtraIndexURL
	if req != nil {
		extra = append(extra, req.ExtraIndexURLs...)
	}
	extra = append(extra, strings.Fields(os.Getenv("PIP_EXTRA_INDEX_URL"))...)
	extra = append(extra, strings.Fields(conf["extra-index-url"])...)
	noIndex := o.NoIndex || (req != nil && req.NoIndex)
	if !noIndex {
		idx = append([]string{primary}, extra...)
	}
	findLinks = append(findLinks, o.FindLinks...)
	if req != nil {
		for _, f := range req.FindLinks {
			if !strings.Contains(f, "://") && !filepath.IsAbs(f) {
				// pip resolves them relative to the requirements file.
				f = filepath.Join(dir, path.Dir(req.Files[0]), f)
			}
			findLinks = append(findLinks, f)
		}
	}
	findLinks = append(findLinks, strings.Fields(os.Getenv("PIP_FIND_LINKS"))...)
	findLinks = append(findLinks, strings.Fields(conf["find-links"])...)
	return dedupe(idx), dedupe(findLinks)
}

func reqIndex(r *pyproject.Requirements) string {
	if r == nil {
		return ""
	}
	return r.IndexURL
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func dedupe(in []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// pipConf reads [global] (and [install]) from pip's configuration files, later files
// overriding earlier ones as pip does.
func pipConf() map[string]string {
	files := []string{"/etc/xdg/pip/pip.conf", "/etc/pip.conf"}
	if home, err := os.UserHomeDir(); err == nil {
		files = append(files, filepath.Join(home, ".pip", "pip.conf"), filepath.Join(home, ".config", "pip", "pip.conf"))
	}
	if x := os.Getenv("XDG_CONFIG_HOME"); x != "" {
		files = append(files, filepath.Join(x, "pip", "pip.conf"))
	}
	if f := os.Getenv("PIP_CONFIG_FILE"); f != "" {
		if f == os.DevNull {
			return map[string]string{}
		}
		files = append(files, f)
	}
	out := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		section, key := "", ""
		for _, line := range strings.Split(string(b), "\n") {
			t := strings.TrimSpace(line)
			switch {
			case t == "" || t[0] == '#' || t[0] == ';':
			case t[0] == '[':
				section = strings.Trim(t, "[] ")
			case (line[0] == ' ' || line[0] == '\t') && key != "":
				out[key] += " " + t // continuation lines (extra-index-url lists)
			case section == "global" || section == "install" || section == "download":
				k, v, ok := strings.Cut(t, "=")
				if ok {
					key = strings.TrimSpace(k)
					out[key] = strings.TrimSpace(v)
				}
			}
		}
	}
	return out
}

// Choose decides the wheels for one target: from the lock when there is one (offline
// choice by tags, as PEP 751 requires), else by resolving against the indexes.
func (in *Inputs) Choose(ctx context.Context, dir string, c *index.Client, t target.Target) ([]Wheel, error) {
	env := t.MarkerEnv()
	tags, err := t.Tags()
	if err != nil {
		return nil, err
	}
	tagIdx := target.TagIndex(tags)
	if in.Lock != nil || in.lockSource != nil {
		var l *lock.Locked
		if in.lockSource != nil {
			l, err = lock.FromRequirements(in.lockSource, env)
		} else {
			var b []byte
			b, err = projectfs.ReadFile(dir, in.Lock.File)
			if err == nil {
				l, err = lock.Read(in.Lock.File, b, env)
			}
		}
		if err != nil {
			return nil, err
		}
		if in.server != "" {
			found := false
			for _, p := range l.Packages {
				found = found || p.Name == in.server
			}
			if !found {
				return nil, fmt.Errorf("%s has no %s, which the image needs to serve the app; add it to the project's dependencies and lock again", l.File, in.server)
			}
		}
		return fromLock(ctx, c, l, tagIdx, t)
	}
	res, err := resolve.Resolve(ctx, c, resolve.Request{Requirements: in.Requirement, Constraints: in.Constraints, Target: t, Pre: in.Pre})
	if err != nil {
		return nil, err
	}
	var out []Wheel
	for _, p := range res.Pins {
		out = append(out, Wheel{Name: p.Name, Version: p.Version.String(), File: p.File, Filename: p.File.Filename, SHA256: p.File.SHA256(), Requires: p.Requires})
	}
	return out, nil
}

func fromLock(ctx context.Context, c *index.Client, l *lock.Locked, tagIdx map[target.Tag]int, t target.Target) ([]Wheel, error) {
	var out []Wheel
	for _, p := range l.Packages {
		best, bestRank := index.File{}, -1
		consider := func(f index.File) {
			n, err := wheel.ParseName(f.Filename)
			if err != nil || n.Dist != p.Name {
				return
			}
			if r := n.Rank(tagIdx); r >= 0 && (bestRank < 0 || r < bestRank) {
				best, bestRank = f, r
			}
		}
		if len(p.Files) > 0 {
			for _, f := range p.Files {
				consider(f)
			}
			if bestRank >= 0 && best.URL == "" {
				// poetry/pdm locks name files but not where they are: find it on the index.
				files, err := c.Project(ctx, p.Name)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", l.File, err)
				}
				found := false
				for _, f := range files {
					if f.Filename == best.Filename {
						f.Hashes = best.Hashes // the lock's hash is the one to trust
						best, found = f, true
						break
					}
				}
				if !found {
					return nil, fmt.Errorf("%s: %s is locked but the index does not offer it", l.File, best.Filename)
				}
			}
		} else {
			files, err := c.Project(ctx, p.Name)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", l.File, err)
			}
			want := map[string]bool{}
			for _, h := range p.Hashes {
				want[h] = true
			}
			for _, f := range files {
				if want[f.SHA256()] {
					consider(f)
				}
			}
		}
		if bestRank < 0 {
			var names []string
			for _, f := range p.Files {
				names = append(names, f.Filename)
			}
			sort.Strings(names)
			return nil, fmt.Errorf("%s: no wheel of %s %s fits the base image (%s, Python %s, %s %s); the lock has: %s",
				l.File, p.Name, p.Version, t.Machine(), t.Python, t.Libc, t.LibcVersion, strings.Join(names, ", "))
		}
		sum := best.SHA256()
		if sum == "" {
			return nil, fmt.Errorf("%s: %s has no sha256 in the lock", l.File, best.Filename)
		}
		out = append(out, Wheel{Name: p.Name, Version: p.Version, File: best, Filename: best.Filename, SHA256: sum})
	}
	return out, nil
}
