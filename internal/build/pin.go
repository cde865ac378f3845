package build

import (
	"fmt"

	"github.com/pyship/pyship/internal/pep440"
	"github.com/pyship/pyship/internal/pyproject"
	"github.com/pyship/pyship/internal/wheel"
)

// checkPin refuses a wheel that is not the distribution the resolver or the lock chose:
// its file name must name the pinned project and version, as pip refuses a candidate
// whose metadata is inconsistent with what was requested. (wheel.Open has checked the
// wheel's METADATA against its file name.) Otherwise a wheel could install itself
// under another project's name, or a lock's hash could bring a version the lock does
// not say.
func checkPin(w Wheel, wh *wheel.Wheel) error {
	if pyproject.Normalize(w.Name) != wh.Name.Dist {
		return fmt.Errorf("%s: a wheel of %s, but %s was to be installed", wh.Name.File, wh.Name.Dist, w.Name)
	}
	if w.Version == "" {
		return nil // a lock may leave the version out; its hash chose the file
	}
	v, err := pep440.Parse(w.Version)
	if err != nil {
		return fmt.Errorf("%s: %s %q is not a version: %v", wh.Name.File, w.Name, w.Version, err)
	}
	if !v.Equal(wh.Name.Version) {
		return fmt.Errorf("%s: a wheel of %s %s, but %s %s was to be installed", wh.Name.File, wh.Name.Dist, wh.Name.Version, w.Name, w.Version)
	}
	return nil
}
