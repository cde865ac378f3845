// Package resolve chooses one version of every distribution a project needs, for one
// target environment: backtracking over the versions an index offers, with markers,
// extras, pre-release rules, requires-python and yanked files, and a conflict
// explained as the chain of requirements that caused it.
package resolve

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/pyship/pyship/internal/index"
	"github.com/pyship/pyship/internal/marker"
	"github.com/pyship/pyship/internal/pep440"
	"github.com/pyship/pyship/internal/pyproject"
	"github.com/pyship/pyship/internal/target"
	"github.com/pyship/pyship/internal/wheel"
)

// Source is what the resolver needs from an index (index.Client implements it).
type Source interface {
	Project(ctx context.Context, name string) ([]index.File, error)
	Metadata(ctx context.Context, f index.File) (*wheel.Metadata, error)
}

// Request is what to resolve.
type Request struct {
	Requirements []pyproject.Requirement
	Constraints  []pyproject.Requirement // limit versions, never add packages (pip -c)
	Target       target.Target
	Pre          bool // allow pre-releases everywhere (--pre)
	// MaxRounds bounds backtracking; 0 means 20000 candidate tries.
	MaxRounds int
}

// Pin is one chosen distribution.
type Pin struct {
	Name     string
	Version  pep440.Version
	File     index.File
	Requires []string // normalised names of the dependencies it pulled in, sorted
	Extras   []string
}

// Result is a complete, consistent set of pins, sorted by name.
type Result struct{ Pins []Pin }

type edge struct {
	parent string // "the project" or "flask 2.2.2"
	req    pyproject.Requirement
	spec   pep440.Set
}

type cand struct {
	version pep440.Version
	file    index.File
}

type state struct {
	pins   map[string]*cand
	edges  map[string][]edge
	extras map[string]map[string]bool
	order  []string // names in the order they were first required
}

func (s *state) clone() *state {
	n := &state{pins: map[string]*cand{}, edges: map[string][]edge{}, extras: map[string]map[string]bool{}, order: append([]string(nil), s.order...)}
	for k, v := range s.pins {
		n.pins[k] = v
	}
	for k, v := range s.edges {
		n.edges[k] = append([]edge(nil), v...)
	}
	for k, v := range s.extras {
		m := map[string]bool{}
		for e := range v {
			m[e] = true
		}
		n.extras[k] = m
	}
	return n
}

// Conflict is a resolution failure: no version of Name satisfies what the edges ask.
type Conflict struct {
	Name      string
	Because   []string // "flask 2.2.2 needs werkzeug>=2.2.2"
	Available []string
	Detail    string // why candidates were rejected (no wheel, requires-python…)
	names     map[string]bool
}

func (c *Conflict) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cannot resolve %s: ", c.Name)
	if len(c.Because) == 1 {
		fmt.Fprintf(&b, "%s, but no version matches", c.Because[0])
	} else {
		b.WriteString(strings.Join(c.Because, ", and "))
	}
	if len(c.Available) > 0 {
		fmt.Fprintf(&b, " (available: %s)", strings.Join(c.Available, ", "))
	}
	if c.Detail != "" {
		b.WriteString("\n" + c.Detail)
	}
	return b.String()
}

type resolver struct {
	ctx     context.Context
	src     Source
	req     Request
	env     marker.Env
	tags    map[target.Tag]int
	tagList []target.Tag
	python  pep440.Version
	cands   map[string][]cand
	detail  map[string]string
	meta    map[string]*wheel.Metadata
	limits  map[string]pep440.Set
	rounds  int
}

// Resolve picks a version for every requirement and its dependencies.
func Resolve(ctx context.Context, src Source, req Request) (*Result, error) {
	tags, err := req.Target.Tags()
	if err != nil {
		return nil, err
	}
	py, err := pep440.Parse(req.Target.Python)
	if err != nil {
		return nil, fmt.Errorf("target Python %q: %v", req.Target.Python, err)
	}
	r := &resolver{ctx: ctx, src: src, req: req, env: req.Target.MarkerEnv(), tags: target.TagIndex(tags), tagList: tags,
		python: py, cands: map[string][]cand{}, detail: map[string]string{}, meta: map[string]*wheel.Metadata{}, limits: map[string]pep440.Set{}}
	if r.req.MaxRounds == 0 {
		r.req.MaxRounds = 20000
	}
	for _, c := range req.Constraints {
		set, err := pep440.ParseSet(c.Specifier)
		if err != nil {
			return nil, fmt.Errorf("constraint %s: %v", c, err)
		}
		if ok, err := marker.Eval(c.Marker, r.env, ""); err != nil || !ok {
			continue
		}
		r.limits[c.Name] = append(r.limits[c.Name], set...)
	}
	s := &state{pins: map[string]*cand{}, edges: map[string][]edge{}, extras: map[string]map[string]bool{}}
	if err := r.add(s, "the project", req.Requirements, ""); err != nil {
		return nil, err
	}
	final, err := r.solve(s)
	if err != nil {
		return nil, err
	}
	res := &Result{}
	for name, c := range final.pins {
		p := Pin{Name: name, Version: c.version, File: c.file}
		for e := range final.extras[name] {
			p.Extras = append(p.Extras, e)
		}
		sort.Strings(p.Extras)
		m := r.meta[name+"=="+c.version.String()]
		seen := map[string]bool{}
		for _, d := range r.activeDeps(m, final.extras[name]) {
			if !seen[d.Name] {
				seen[d.Name] = true
				p.Requires = append(p.Requires, d.Name)
			}
		}
		sort.Strings(p.Requires)
		res.Pins = append(res.Pins, p)
	}
	sort.Slice(res.Pins, func(i, j int) bool { return res.Pins[i].Name < res.Pins[j].Name })
	return res, nil
}

// add records requirements from parent, skipping those whose markers exclude the target.
func (r *resolver) add(s *state, parent string, reqs []pyproject.Requirement, extra string) error {
	for _, q := range reqs {
		ok, err := marker.Eval(q.Marker, r.env, extra)
		if err != nil {
			return fmt.Errorf("%s: requirement %s: %v", parent, q, err)
		}
		if !ok {
			continue
		}
		if q.URL != "" {
			return fmt.Errorf("%s: requirement %s names a URL; pyship installs from indexes and --find-links (put the wheel in a directory and pass --find-links)", parent, q)
		}
		set, err := pep440.ParseSet(q.Specifier)
		if err != nil {
			return fmt.Errorf("%s: requirement %s: %v", parent, q, err)
		}
		if _, seen := s.edges[q.Name]; !seen {
			s.order = append(s.order, q.Name)
		}
		s.edges[q.Name] = append(s.edges[q.Name], edge{parent: parent, req: q, spec: set})
		if s.extras[q.Name] == nil {
			s.extras[q.Name] = map[string]bool{}
		}
		for _, e := range q.Extras {
			s.extras[q.Name][e] = true
		}
	}
	return nil
}

func (r *resolver) solve(s *state) (*state, error) {
	if err := r.ctx.Err(); err != nil {
		return nil, err
	}
	// Re-check pins against requirements added since they were made; a pin that new
	// edges exclude is a conflict for the caller to back out of.
	for _, name := range s.order {
		if c, ok := s.pins[name]; ok {
			for _, e := range s.edges[name] {
				if !e.spec.Contains(c.version) {
					return nil, r.conflict(s, name, fmt.Sprintf("%s is pinned to %s", name, c.version))
				}
			}
		}
	}
	name := r.next(s)
	if name == "" {
		return s, nil
	}
	all, err := r.candidates(name)
	if err != nil {
		return nil, err
	}
	var lastErr error
	tried := 0
	for _, c := range all {
		if !r.allowed(s, name, c) {
			continue
		}
		tried++
		r.rounds++
		if r.rounds > r.req.MaxRounds {
			return nil, fmt.Errorf("resolution gave up after %d tries; pin some versions (pyship lock with a tighter requirement) to help it", r.req.MaxRounds)
		}
		m, err := r.metadata(name, c)
		if err != nil {
			return nil, err
		}
		if m.RequiresPython != "" {
			if rp, err := pep440.ParseSet(m.RequiresPython); err == nil && !rp.Contains(r.python) {
				continue
			}
		}
		ns := s.clone()
		ns.pins[name] = &c
		parent := name + " " + c.version.String()
		if err := r.add(ns, parent, r.activeDeps(m, ns.extras[name]), ""); err != nil {
			return nil, err
		}
		done, err := r.solve(ns)
		if err == nil {
			return done, nil
		}
		var cf *Conflict
		if !errors.As(err, &cf) {
			return nil, err
		}
		lastErr = err
		// Backjump: a conflict that does not involve this package will not go away by
		// choosing another version of it.
		if !cf.names[name] {
			return nil, err
		}
	}
	if tried == 0 || lastErr == nil {
		return nil, r.conflict(s, name, "")
	}
	return nil, lastErr
}

// activeDeps is the metadata's Requires-Dist for the target, with the requested extras.
func (r *resolver) activeDeps(m *wheel.Metadata, extras map[string]bool) []pyproject.Requirement {
	if m == nil {
		return nil
	}
	var out []pyproject.Requirement
	for _, d := range m.RequiresDist {
		if d.Marker == "" {
			out = append(out, d)
			continue
		}
		if ok, err := marker.Eval(d.Marker, r.env, ""); err == nil && ok {
			out = append(out, pyproject.Requirement{Name: d.Name, Extras: d.Extras, Specifier: d.Specifier, URL: d.URL})
			continue
		}
		for e := range extras {
			if ok, err := marker.Eval(d.Marker, r.env, e); err == nil && ok {
				out = append(out, pyproject.Requirement{Name: d.Name, Extras: d.Extras, Specifier: d.Specifier, URL: d.URL})
				break
			}
		}
	}
	return out
}

// next picks the unpinned name with the fewest viable candidates (fail early), then
// the one required first; a pinned name whose extras grew is re-opened.
func (r *resolver) next(s *state) string {
	best, bestN := "", -1
	for _, name := range s.order {
		if c, ok := s.pins[name]; ok {
			if r.extrasMissing(s, name, c) {
				// Re-open: drop the pin so its extra dependencies are added with it.
				delete(s.pins, name)
			} else {
				continue
			}
		}
		n := 0
		if all, err := r.candidates(name); err == nil {
			for _, c := range all {
				if r.allowed(s, name, c) {
					n++
				}
			}
		}
		if bestN < 0 || n < bestN {
			best, bestN = name, n
		}
	}
	return best
}

func (r *resolver) extrasMissing(s *state, name string, c *cand) bool {
	if len(s.extras[name]) == 0 {
		return false
	}
	m := r.meta[name+"=="+c.version.String()]
	have := map[string]bool{}
	for _, e := range s.edges {
		for _, x := range e {
			if x.parent == name+" "+c.version.String() {
				have[x.req.Name] = true
			}
		}
	}
	for _, d := range r.activeDeps(m, s.extras[name]) {
		if !have[d.Name] {
			return true
		}
	}
	return false
}

func (r *resolver) allowed(s *state, name string, c cand) bool {
	pre := r.req.Pre
	for _, e := range s.edges[name] {
		if !e.spec.Contains(c.version) {
			return false
		}
		pre = pre || e.spec.MentionsPrerelease()
	}
	if lim := r.limits[name]; !lim.Contains(c.version) {
		return false
	}
	if c.file.Yanked && !r.pinnedExactly(s, name) {
		return false
	}
	if c.version.IsPrerelease() && !pre {
		// PEP 440: pre-releases only when nothing else matches.
		for _, o := range r.cands[name] {
			if !o.version.IsPrerelease() && r.matchesEdges(s, name, o) {
				return false
			}
		}
	}
	return true
}

func (r *resolver) matchesEdges(s *state, name string, c cand) bool {
	for _, e := range s.edges[name] {
		if !e.spec.Contains(c.version) {
			return false
		}
	}
	return r.limits[name].Contains(c.version) && (!c.file.Yanked || r.pinnedExactly(s, name))
}

func (r *resolver) pinnedExactly(s *state, name string) bool {
	for _, e := range s.edges[name] {
		for _, sp := range e.spec {
			if sp.Op == "==" && !sp.Wildcard || sp.Op == "===" {
				return true
			}
		}
	}
	return false
}

func (r *resolver) conflict(s *state, name, extra string) *Conflict {
	c := &Conflict{Name: name, names: map[string]bool{name: true}}
	for _, e := range s.edges[name] {
		spec := e.req.Specifier
		if spec == "" {
			spec = " (any version)"
		}
		c.Because = append(c.Because, fmt.Sprintf("%s needs %s%s", e.parent, name, spec))
	}
	// Every package on a path from the project to this one shaped the requirements that
	// clash; only choosing another version of one of them can help.
	queue := []string{name}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, e := range s.edges[n] {
			if e.parent == "the project" {
				continue
			}
			p, _, _ := strings.Cut(e.parent, " ")
			if !c.names[p] {
				c.names[p] = true
				queue = append(queue, p)
			}
		}
	}
	if extra != "" {
		c.Because = append(c.Because, extra)
	}
	if lim := r.limits[name]; len(lim) > 0 {
		c.Because = append(c.Because, fmt.Sprintf("a constraints file limits %s to %s", name, lim))
	}
	seen := map[string]bool{}
	for _, x := range r.cands[name] {
		v := x.version.String()
		if !seen[v] {
			seen[v] = true
			c.Available = append(c.Available, v)
		}
	}
	c.Detail = r.detail[name]
	return c
}

func (r *resolver) metadata(name string, c cand) (*wheel.Metadata, error) {
	key := name + "==" + c.version.String()
	if m, ok := r.meta[key]; ok {
		return m, nil
	}
	m, err := r.src.Metadata(r.ctx, c.file)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", name, c.version, err)
	}
	r.meta[key] = m
	return m, nil
}

// candidates lists the versions of name that have a wheel for the target, newest
// first, each with its best wheel. Why the others were dropped goes to r.detail.
func (r *resolver) candidates(name string) ([]cand, error) {
	if c, ok := r.cands[name]; ok {
		return c, nil
	}
	files, err := r.src.Project(r.ctx, name)
	if err != nil {
		return nil, err
	}
	type best struct {
		c    cand
		rank int
	}
	byVersion := map[string]*best{}
	var sdists, unsupported, pyExcluded []string
	for _, f := range files {
		n, err := wheel.ParseName(f.Filename)
		if err != nil {
			if strings.HasSuffix(f.Filename, ".tar.gz") || strings.HasSuffix(f.Filename, ".zip") {
				sdists = append(sdists, f.Filename)
			}
			continue
		}
		if n.Dist != name {
			continue
		}
		rank := n.Rank(r.tags)
		if rank < 0 {
			unsupported = append(unsupported, f.Filename)
			continue
		}
		if f.RequiresPython != "" {
			if rp, err := pep440.ParseSet(f.RequiresPython); err == nil && !rp.Contains(r.python) {
				pyExcluded = append(pyExcluded, f.Filename+" (Requires-Python "+f.RequiresPython+")")
				continue
			}
		}
		key := n.Version.String()
		if b, ok := byVersion[key]; !ok || rank < b.rank || (rank == b.rank && n.Build > buildOf(b.c.file.Filename)) {
			byVersion[key] = &best{cand{n.Version, f}, rank}
		}
	}
	out := make([]cand, 0, len(byVersion))
	for _, b := range byVersion {
		out = append(out, b.c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version.Compare(out[j].version) > 0 })
	var d []string
	if len(sdists) > 0 {
		d = append(d, fmt.Sprintf("  only source distributions (pyship installs wheels, it does not run build backends): %s\n  ways out: build wheels once and pass --find-links DIR, or build with --dockerfile", strings.Join(sdists, ", ")))
	}
	if len(unsupported) > 0 {
		tried := make([]string, 0, 6)
		for i, t := range r.tagList {
			if i < 3 || i >= len(r.tagList)-3 {
				tried = append(tried, t.String())
			} else if i == 3 {
				tried = append(tried, "…")
			}
		}
		d = append(d, fmt.Sprintf("  wheels for other platforms: %s\n  the target (%s, Python %s, %s %s) accepts %d tags: %s", strings.Join(unsupported, ", "),
			r.req.Target.Machine(), r.req.Target.Python, r.req.Target.Libc, r.req.Target.LibcVersion, len(r.tagList), strings.Join(tried, " ")))
	}
	if len(pyExcluded) > 0 {
		d = append(d, "  not for Python "+r.req.Target.Python+": "+strings.Join(pyExcluded, ", "))
	}
	r.detail[name] = strings.Join(d, "\n")
	r.cands[name] = out
	return out, nil
}

func buildOf(filename string) string {
	n, err := wheel.ParseName(filename)
	if err != nil {
		return ""
	}
	return n.Build
}
