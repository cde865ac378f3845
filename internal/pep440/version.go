// Package pep440 implements Python version numbers and version specifiers as PEP 440
// defines them, with the ordering and pre-release rules of the reference implementation
// (pypa/packaging), so that pyship picks the same versions pip and uv would.
package pep440

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Version is a parsed PEP 440 version. The zero value is not a valid version.
type Version struct {
	Epoch   int
	Release []int
	PreKind string // "a", "b", "rc" or "" for none
	PreNum  int
	Post    int // -1: no post-release segment
	Dev     int // -1: no dev segment
	Local   []string
}

// The regular expression of PEP 440's appendix B, written for Go's RE2.
var versionRe = regexp.MustCompile(`^\s*v?` +
	`(?:(?P<epoch>[0-9]+)!)?` +
	`(?P<release>[0-9]+(?:\.[0-9]+)*)` +
	`(?P<pre>[-_.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?P<pre_n>[0-9]+)?)?` +
	`(?P<post>(?:-(?P<post_n1>[0-9]+))|(?:[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>[0-9]+)?))?` +
	`(?P<dev>[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>[0-9]+)?)?` +
	`(?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?\s*$`)

var groups = func() map[string]int {
	m := map[string]int{}
	for i, n := range versionRe.SubexpNames() {
		if n != "" {
			m[n] = i
		}
	}
	return m
}()

// Parse reads a version in any form PEP 440 accepts and normalises it.
func Parse(s string) (Version, error) {
	m := versionRe.FindStringSubmatch(strings.ToLower(s))
	if m == nil {
		return Version{}, fmt.Errorf("invalid version %q (PEP 440)", s)
	}
	g := func(name string) string { return m[groups[name]] }
	num := func(x string) (int, error) {
		if x == "" {
			return 0, nil
		}
		n, err := strconv.Atoi(x)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("invalid version %q: number too large", s)
		}
		return n, nil
	}
	v := Version{Post: -1, Dev: -1}
	var err error
	if v.Epoch, err = num(g("epoch")); err != nil {
		return Version{}, err
	}
	for _, p := range strings.Split(g("release"), ".") {
		n, err := num(p)
		if err != nil {
			return Version{}, err
		}
		v.Release = append(v.Release, n)
	}
	if l := g("pre_l"); l != "" {
		switch l {
		case "alpha", "a":
			v.PreKind = "a"
		case "beta", "b":
			v.PreKind = "b"
		default:
			v.PreKind = "rc"
		}
		if v.PreNum, err = num(g("pre_n")); err != nil {
			return Version{}, err
		}
	}
	if g("post") != "" {
		n := g("post_n1")
		if n == "" {
			n = g("post_n2")
		}
		if v.Post, err = num(n); err != nil {
			return Version{}, err
		}
	}
	if g("dev") != "" {
		if v.Dev, err = num(g("dev_n")); err != nil {
			return Version{}, err
		}
	}
	if l := g("local"); l != "" {
		v.Local = strings.FieldsFunc(l, func(r rune) bool { return r == '-' || r == '_' || r == '.' })
	}
	return v, nil
}

// MustParse is Parse for constants in code and tests.
func MustParse(s string) Version {
	v, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return v
}

// String is the normalised form ("1.0rc1.post2.dev3+ubuntu.1").
func (v Version) String() string {
	if len(v.Local) > 0 {
		return v.Public() + "+" + strings.Join(v.Local, ".")
	}
	return v.Public()
}

// Public is the version without its local label.
func (v Version) Public() string {
	var b strings.Builder
	if v.Epoch != 0 {
		fmt.Fprintf(&b, "%d!", v.Epoch)
	}
	b.WriteString(v.BaseRelease())
	if v.PreKind != "" {
		fmt.Fprintf(&b, "%s%d", v.PreKind, v.PreNum)
	}
	if v.Post >= 0 {
		fmt.Fprintf(&b, ".post%d", v.Post)
	}
	if v.Dev >= 0 {
		fmt.Fprintf(&b, ".dev%d", v.Dev)
	}
	return b.String()
}

// BaseRelease is the release segment alone ("1.2.0").
func (v Version) BaseRelease() string {
	parts := make([]string, len(v.Release))
	for i, n := range v.Release {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ".")
}

// IsPrerelease reports an alpha, beta, release candidate or development release.
func (v Version) IsPrerelease() bool { return v.PreKind != "" || v.Dev >= 0 }

// IsPostrelease reports a post-release.
func (v Version) IsPostrelease() bool { return v.Post >= 0 }

// base is the epoch and release alone, the "base_version" of packaging.
func (v Version) base() Version {
	return Version{Epoch: v.Epoch, Release: v.Release, Post: -1, Dev: -1}
}

// public drops the local label.
func (v Version) public() Version {
	v.Local = nil
	return v
}

// Compare orders versions as PEP 440 does: epoch, release (zero-padded), then
// dev < pre < final < post, then local labels.
func (v Version) Compare(o Version) int {
	if c := cmpInt(v.Epoch, o.Epoch); c != 0 {
		return c
	}
	n := max(len(v.Release), len(o.Release))
	for i := 0; i < n; i++ {
		if c := cmpInt(seg(v.Release, i), seg(o.Release, i)); c != 0 {
			return c
		}
	}
	if c := cmpInt(v.preRank(), o.preRank()); c != 0 {
		return c
	}
	if v.PreKind != "" && v.PreNum != o.PreNum {
		return cmpInt(v.PreNum, o.PreNum)
	}
	if c := cmpInt(v.Post, o.Post); c != 0 { // -1 (none) sorts first
		return c
	}
	if c := cmpInt(devKey(v.Dev), devKey(o.Dev)); c != 0 {
		return c
	}
	return cmpLocal(v.Local, o.Local)
}

// Equal reports Compare == 0.
func (v Version) Equal(o Version) bool { return v.Compare(o) == 0 }

// preRank places a bare dev release before every pre-release, pre-releases by kind, and
// finals and post-releases after them.
func (v Version) preRank() int {
	switch {
	case v.PreKind == "" && v.Post < 0 && v.Dev >= 0:
		return 0
	case v.PreKind == "a":
		return 1
	case v.PreKind == "b":
		return 2
	case v.PreKind == "rc":
		return 3
	}
	return 4
}

func devKey(d int) int {
	if d < 0 {
		return int(^uint(0) >> 1)
	}
	return d
}

func cmpLocal(a, b []string) int {
	if len(a) == 0 || len(b) == 0 {
		return cmpInt(len(a), len(b))
	}
	for i := 0; i < min(len(a), len(b)); i++ {
		x, xerr := strconv.Atoi(a[i])
		y, yerr := strconv.Atoi(b[i])
		switch {
		case xerr == nil && yerr == nil:
			if c := cmpInt(x, y); c != 0 {
				return c
			}
		case xerr == nil:
			return 1 // numeric segments sort after alphanumeric ones
		case yerr == nil:
			return -1
		default:
			if c := strings.Compare(a[i], b[i]); c != 0 {
				return c
			}
		}
	}
	return cmpInt(len(a), len(b))
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func seg(r []int, i int) int {
	if i < len(r) {
		return r[i]
	}
	return 0
}
