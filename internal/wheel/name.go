// Package wheel reads wheel files (PEP 427) defensively and installs them straight into
// image layers, without Python and without unpacking to disk.
package wheel

import (
	"fmt"
	"strings"

	"github.com/pyship/pyship/internal/pep440"
	"github.com/pyship/pyship/internal/pyproject"
	"github.com/pyship/pyship/internal/target"
)

// Name is a parsed wheel filename: {dist}-{version}(-{build})?-{py}-{abi}-{plat}.whl.
type Name struct {
	File    string
	Dist    string // normalised
	Version pep440.Version
	Build   string
	Tags    []target.Tag // the compressed tag sets expanded
}

// ParseName reads a wheel filename.
func ParseName(file string) (Name, error) {
	if !strings.HasSuffix(file, ".whl") {
		return Name{}, fmt.Errorf("%s: not a wheel", file)
	}
	parts := strings.Split(strings.TrimSuffix(file, ".whl"), "-")
	if len(parts) != 5 && len(parts) != 6 {
		return Name{}, fmt.Errorf("%s: a wheel name has 5 or 6 dash-separated parts", file)
	}
	v, err := pep440.Parse(parts[1])
	if err != nil {
		return Name{}, fmt.Errorf("%s: %v", file, err)
	}
	n := Name{File: file, Dist: pyproject.Normalize(parts[0]), Version: v}
	if len(parts) == 6 {
		n.Build = parts[2]
		if n.Build == "" || n.Build[0] < '0' || n.Build[0] > '9' {
			return Name{}, fmt.Errorf("%s: build tag must start with a digit", file)
		}
	}
	t := parts[len(parts)-3:]
	for _, py := range strings.Split(t[0], ".") {
		for _, abi := range strings.Split(t[1], ".") {
			for _, plat := range strings.Split(t[2], ".") {
				n.Tags = append(n.Tags, target.Tag{Python: py, ABI: abi, Platform: plat})
			}
		}
	}
	return n, nil
}

// Rank is the best priority of any of the wheel's tags in index (lower is better), or
// -1 when none is supported.
func (n Name) Rank(index map[target.Tag]int) int {
	best := -1
	for _, t := range n.Tags {
		if i, ok := index[t]; ok && (best < 0 || i < best) {
			best = i
		}
	}
	return best
}
