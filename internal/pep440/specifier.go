package pep440

import (
	"fmt"
	"regexp"
	"strings"
)

// Specifier is one clause of a version specifier, such as ">=2.0" or "==1.4.*".
type Specifier struct {
	Op       string // ~= == != <= >= < > ===
	Version  Version
	Wildcard bool
	raw      string // the version text, for === and String
}

// Set is a comma-separated list of specifiers; a version must satisfy all of them.
type Set []Specifier

var specRe = regexp.MustCompile(`^\s*(~=|===|==|!=|<=|>=|<|>)\s*(\S+?)\s*$`)

// ParseSet reads a specifier set such as ">=1.0,!=1.3.*,<2". The empty string is the
// set that every version satisfies.
func ParseSet(s string) (Set, error) {
	var set Set
	for _, clause := range strings.Split(s, ",") {
		if strings.TrimSpace(clause) == "" {
			if strings.TrimSpace(s) == "" {
				continue
			}
			return nil, fmt.Errorf("empty clause in version specifier %q", s)
		}
		sp, err := ParseSpecifier(clause)
		if err != nil {
			return nil, err
		}
		set = append(set, sp)
	}
	return set, nil
}

// ParseSpecifier reads one clause.
func ParseSpecifier(clause string) (Specifier, error) {
	m := specRe.FindStringSubmatch(clause)
	if m == nil {
		return Specifier{}, fmt.Errorf("invalid version specifier %q", strings.TrimSpace(clause))
	}
	sp := Specifier{Op: m[1], raw: m[2]}
	if sp.Op == "===" {
		sp.Version, _ = Parse(m[2]) // arbitrary equality compares strings; a version is optional
		return sp, nil
	}
	vs := m[2]
	if strings.HasSuffix(vs, ".*") {
		if sp.Op != "==" && sp.Op != "!=" {
			return Specifier{}, fmt.Errorf("invalid version specifier %q: a .* suffix needs == or !=", clause)
		}
		sp.Wildcard = true
		vs = strings.TrimSuffix(vs, ".*")
	}
	v, err := Parse(vs)
	if err != nil {
		return Specifier{}, fmt.Errorf("invalid version specifier %q: %v", strings.TrimSpace(clause), err)
	}
	if sp.Wildcard && (v.Post >= 0 || v.Dev >= 0 || len(v.Local) > 0) {
		return Specifier{}, fmt.Errorf("invalid version specifier %q: a prefix match takes a release", clause)
	}
	if len(v.Local) > 0 && sp.Op != "==" && sp.Op != "!=" {
		return Specifier{}, fmt.Errorf("invalid version specifier %q: local versions only with == or !=", clause)
	}
	if sp.Op == "~=" && len(v.Release) < 2 {
		return Specifier{}, fmt.Errorf("invalid version specifier %q: ~= needs two release numbers", clause)
	}
	sp.Version = v
	return sp, nil
}

func (sp Specifier) String() string {
	if sp.Wildcard {
		return sp.Op + sp.raw
	}
	if sp.Op == "===" {
		return sp.Op + sp.raw
	}
	return sp.Op + sp.Version.String()
}

func (set Set) String() string {
	parts := make([]string, len(set))
	for i, sp := range set {
		parts[i] = sp.String()
	}
	return strings.Join(parts, ",")
}

// Contains reports whether v satisfies every clause, pre-release policy aside: use
// Allows for what an installer would pick.
func (set Set) Contains(v Version) bool {
	for _, sp := range set {
		if !sp.Contains(v) {
			return false
		}
	}
	return true
}

// MentionsPrerelease reports whether the set names a pre-release in an inclusive
// clause, which per PEP 440 opts in to pre-releases of that project.
func (set Set) MentionsPrerelease() bool {
	for _, sp := range set {
		switch sp.Op {
		case "==", ">=", "<=", "~=", "===":
			if sp.Version.IsPrerelease() {
				return true
			}
		}
	}
	return false
}

// Contains applies one clause with the rules of PEP 440 and pypa/packaging.
func (sp Specifier) Contains(v Version) bool {
	switch sp.Op {
	case "===":
		return strings.EqualFold(sp.raw, v.String())
	case "==":
		return sp.equal(v)
	case "!=":
		return !sp.equal(v)
	case "~=":
		prefix := Version{Epoch: sp.Version.Epoch, Release: sp.Version.Release[:len(sp.Version.Release)-1]}
		return v.public().Compare(sp.Version) >= 0 && prefixMatch(v, prefix)
	case "<=":
		return v.public().Compare(sp.Version) <= 0
	case ">=":
		return v.public().Compare(sp.Version) >= 0
	case "<":
		if v.Compare(sp.Version) >= 0 {
			return false
		}
		// "<3" must not admit 3.0rc1: pre-releases of the bound itself are excluded.
		if !sp.Version.IsPrerelease() && v.IsPrerelease() && v.base().Equal(sp.Version.base()) {
			return false
		}
		return true
	case ">":
		if v.Compare(sp.Version) <= 0 {
			return false
		}
		if !sp.Version.IsPostrelease() && v.IsPostrelease() && v.base().Equal(sp.Version.base()) {
			return false
		}
		if len(v.Local) > 0 && v.base().Equal(sp.Version.base()) {
			return false
		}
		return true
	}
	return false
}

func (sp Specifier) equal(v Version) bool {
	if sp.Wildcard {
		return prefixMatch(v, sp.Version)
	}
	if len(sp.Version.Local) == 0 {
		v = v.public()
	}
	return v.Compare(sp.Version) == 0
}

// prefixMatch implements "==X.Y.*": the candidate's release, zero-padded, starts with
// the prefix's release (and its pre-release segment, if the prefix has one).
func prefixMatch(v, prefix Version) bool {
	if v.Epoch != prefix.Epoch {
		return false
	}
	for i, n := range prefix.Release {
		if seg(v.Release, i) != n {
			return false
		}
	}
	if prefix.PreKind != "" {
		return len(v.Release) <= len(prefix.Release) && v.PreKind == prefix.PreKind && v.PreNum == prefix.PreNum
	}
	return true
}

// Allows is what an installer accepts: the set holds and, unless pre-releases are
// allowed (by the user or by the set naming one), v is not a pre-release.
func (set Set) Allows(v Version, pre bool) bool {
	if !set.Contains(v) {
		return false
	}
	return !v.IsPrerelease() || pre || set.MentionsPrerelease()
}
