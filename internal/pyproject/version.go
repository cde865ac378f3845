package pyproject

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Version is a PEP 440 version reduced to what choosing an interpreter needs: the
// release segment and whether it is a pre-release.
type Version struct {
	Release []int
	Pre     bool
}

var versionRe = regexp.MustCompile(`^v?(\d+(?:\.\d+)*)((?:a|b|rc|alpha|beta|c|dev|post)\.?\d*)*(\+[a-z0-9.]+)?$`)

// ParseVersion reads a PEP 440 version such as 3.12, 3.12.4 or 3.13.0rc1.
func ParseVersion(s string) (Version, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	m := versionRe.FindStringSubmatch(s)
	if m == nil {
		return Version{}, fmt.Errorf("invalid version %q", s)
	}
	var v Version
	for _, p := range strings.Split(m[1], ".") {
		n, err := strconv.Atoi(p)
		if err != nil || n > 1<<20 {
			return Version{}, fmt.Errorf("invalid version %q", s)
		}
		v.Release = append(v.Release, n)
	}
	rest := s[len(m[1]):]
	v.Pre = strings.Contains(rest, "a") || strings.Contains(rest, "b") || strings.Contains(rest, "c") || strings.Contains(rest, "dev")
	return v, nil
}

func (v Version) String() string {
	parts := make([]string, len(v.Release))
	for i, n := range v.Release {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ".")
}

// Compare orders release segments, padding the shorter with zeros (3.12 == 3.12.0).
func (v Version) Compare(o Version) int {
	n := max(len(v.Release), len(o.Release))
	for i := 0; i < n; i++ {
		a, b := seg(v.Release, i), seg(o.Release, i)
		if a != b {
			if a < b {
				return -1
			}
			return 1
		}
	}
	return 0
}

func seg(r []int, i int) int {
	if i < len(r) {
		return r[i]
	}
	return 0
}

// Specifier is one clause such as ">=3.9" or "==3.12.*".
type Specifier struct {
	Op       string
	Version  Version
	Wildcard bool
}

// SpecifierSet is a comma-separated PEP 440 specifier: every clause must hold.
type SpecifierSet []Specifier

var specRe = regexp.MustCompile(`^(~=|===|==|!=|<=|>=|<|>)\s*([A-Za-z0-9.+*!-]+)$`)

// ParseSpecifiers reads a PEP 440 specifier set such as ">=3.9,<3.13".
func ParseSpecifiers(s string) (SpecifierSet, error) {
	var set SpecifierSet
	for _, clause := range strings.Split(s, ",") {
		clause = strings.TrimSpace(clause)
		if clause == "" {
			continue
		}
		m := specRe.FindStringSubmatch(clause)
		if m == nil {
			return nil, fmt.Errorf("invalid version specifier %q", clause)
		}
		vs := m[2]
		sp := Specifier{Op: m[1]}
		if strings.HasSuffix(vs, ".*") {
			if sp.Op != "==" && sp.Op != "!=" {
				return nil, fmt.Errorf("wildcard only allowed with == or != in %q", clause)
			}
			sp.Wildcard = true
			vs = strings.TrimSuffix(vs, ".*")
		}
		v, err := ParseVersion(vs)
		if err != nil {
			return nil, fmt.Errorf("invalid version specifier %q", clause)
		}
		if sp.Op == "~=" && len(v.Release) < 2 {
			return nil, fmt.Errorf("~= needs at least two release segments in %q", clause)
		}
		sp.Version = v
		set = append(set, sp)
	}
	return set, nil
}

// Contains reports whether v satisfies every clause.
func (set SpecifierSet) Contains(v Version) bool {
	for _, sp := range set {
		if !sp.contains(v) {
			return false
		}
	}
	return true
}

func (sp Specifier) contains(v Version) bool {
	c := v.Compare(sp.Version)
	switch sp.Op {
	case "==", "===":
		if sp.Wildcard {
			return prefixMatch(v, sp.Version)
		}
		return c == 0
	case "!=":
		if sp.Wildcard {
			return !prefixMatch(v, sp.Version)
		}
		return c != 0
	case ">=":
		return c >= 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	case "<":
		return c < 0
	case "~=":
		upper := Version{Release: append([]int{}, sp.Version.Release[:len(sp.Version.Release)-1]...)}
		return c >= 0 && prefixMatch(v, upper)
	}
	return false
}

func prefixMatch(v, prefix Version) bool {
	for i, n := range prefix.Release {
		if seg(v.Release, i) != n {
			return false
		}
	}
	return true
}

// Constraint is an interpreter constraint: alternatives (Poetry's "||"), each a set.
type Constraint []SpecifierSet

// Contains reports whether v satisfies any alternative.
func (c Constraint) Contains(v Version) bool {
	for _, set := range c {
		if set.Contains(v) {
			return true
		}
	}
	return len(c) == 0
}

// ParseConstraint reads a PEP 440 specifier set or a Poetry constraint
// ("^3.10", "~3.11", "3.12.*", ">=3.9 <4", "^3.9 || ^3.11", "*").
func ParseConstraint(s string) (Constraint, error) {
	var out Constraint
	for _, alt := range strings.Split(s, "||") {
		alt = strings.TrimSpace(alt)
		if alt == "" || alt == "*" {
			out = append(out, SpecifierSet{})
			continue
		}
		clauses := strings.FieldsFunc(alt, func(r rune) bool { return r == ',' || r == ' ' })
		// Rejoin operators separated from their versions by spaces (">= 3.9").
		var joined []string
		for i := 0; i < len(clauses); i++ {
			c := clauses[i]
			if strings.Trim(c, "<>=!~^") == "" && i+1 < len(clauses) {
				c += clauses[i+1]
				i++
			}
			joined = append(joined, c)
		}
		var set SpecifierSet
		for _, c := range joined {
			parsed, err := poetryClause(c)
			if err != nil {
				return nil, err
			}
			set = append(set, parsed...)
		}
		out = append(out, set)
	}
	return out, nil
}

func poetryClause(c string) (SpecifierSet, error) {
	switch {
	case strings.HasPrefix(c, "^"):
		v, err := ParseVersion(c[1:])
		if err != nil {
			return nil, err
		}
		upper := caretUpper(v)
		return SpecifierSet{{Op: ">=", Version: v}, {Op: "<", Version: upper}}, nil
	case strings.HasPrefix(c, "~") && !strings.HasPrefix(c, "~="):
		v, err := ParseVersion(c[1:])
		if err != nil {
			return nil, err
		}
		upper := Version{Release: []int{seg(v.Release, 0), seg(v.Release, 1) + 1}}
		if len(v.Release) == 1 {
			upper = Version{Release: []int{v.Release[0] + 1}}
		}
		return SpecifierSet{{Op: ">=", Version: v}, {Op: "<", Version: upper}}, nil
	case c[0] >= '0' && c[0] <= '9':
		if strings.HasSuffix(c, ".*") || strings.HasSuffix(c, "*") {
			return ParseSpecifiers("==" + strings.TrimSuffix(strings.TrimSuffix(c, "*"), ".") + ".*")
		}
		return ParseSpecifiers("==" + c)
	}
	if c[0] == '=' && !strings.HasPrefix(c, "==") {
		c = "=" + c
	}
	return ParseSpecifiers(c)
}

func caretUpper(v Version) Version {
	for i, n := range v.Release {
		if n != 0 || i == len(v.Release)-1 {
			up := append([]int{}, v.Release[:i]...)
			return Version{Release: append(up, n+1)}
		}
	}
	return Version{Release: []int{1}}
}
