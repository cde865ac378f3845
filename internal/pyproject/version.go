package pyproject

import (
	"fmt"
	"strings"

	"github.com/pyship/pyship/internal/pep440"
)

// Version and SpecifierSet are PEP 440's, from package pep440; the names stay here for
// the manifest readers.
type (
	Version      = pep440.Version
	SpecifierSet = pep440.Set
)

// ParseVersion reads a PEP 440 version such as 3.12, 3.12.4 or 3.13.0rc1.
func ParseVersion(s string) (Version, error) { return pep440.Parse(strings.TrimSpace(s)) }

// ParseSpecifiers reads a PEP 440 specifier set such as ">=3.9,<3.13".
func ParseSpecifiers(s string) (SpecifierSet, error) { return pep440.ParseSet(s) }

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
		return bounds(v, caretUpper(v))
	case strings.HasPrefix(c, "~") && !strings.HasPrefix(c, "~="):
		v, err := ParseVersion(c[1:])
		if err != nil {
			return nil, err
		}
		upper := []int{v.Release[0], seg(v.Release, 1) + 1}
		if len(v.Release) == 1 {
			upper = []int{v.Release[0] + 1}
		}
		return bounds(v, upper)
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

func caretUpper(v Version) []int {
	for i, n := range v.Release {
		if n != 0 || i == len(v.Release)-1 {
			up := append([]int{}, v.Release[:i]...)
			return append(up, n+1)
		}
	}
	return []int{1}
}

// bounds is ">=v,<upper" for Poetry's ^ and ~.
func bounds(v Version, upper []int) (SpecifierSet, error) {
	parts := make([]string, len(upper))
	for i, n := range upper {
		parts[i] = fmt.Sprint(n)
	}
	return pep440.ParseSet(">=" + v.String() + ",<" + strings.Join(parts, "."))
}

func seg(r []int, i int) int {
	if i < len(r) {
		return r[i]
	}
	return 0
}
