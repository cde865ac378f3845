package plan

import (
	"fmt"
	"strings"
	"time"

	"github.com/pyship/pyship/internal/pep440"
	"github.com/pyship/pyship/internal/pyproject"
)

// pythonRelease is a CPython minor line with its end of life (PEP 602 schedule: five
// years after the .0 release, in October).
type pythonRelease struct {
	minor string
	eol   time.Time
}

// knownPythons are the minors pyship builds for, oldest first. The newest that satisfies a
// project's constraint is chosen; the last entry is the default for projects that say
// nothing. 3.15 (released October 2026) is not offered until wheels have caught up.
var knownPythons = []pythonRelease{
	{"3.8", date(2024, 10, 7)},
	{"3.9", date(2025, 10, 31)},
	{"3.10", date(2026, 10, 31)},
	{"3.11", date(2027, 10, 31)},
	{"3.12", date(2028, 10, 31)},
	{"3.13", date(2029, 10, 31)},
	{"3.14", date(2030, 10, 31)},
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// DefaultPython is the version used when a project states none.
func DefaultPython() string { return knownPythons[len(knownPythons)-1].minor }

// PythonEOL reports the end-of-life date of a version's minor line, if pyship knows it.
func PythonEOL(version string) (time.Time, bool) {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return time.Time{}, false
	}
	minor := parts[0] + "." + parts[1]
	for _, r := range knownPythons {
		if r.minor == minor {
			return r.eol, true
		}
	}
	if v, err := pyproject.ParseVersion(minor); err == nil && v.Compare(pep440.MustParse("3.8")) < 0 {
		return date(2023, 6, 27), true // 3.7 and older: all past their end of life
	}
	return time.Time{}, false
}

// KnownPythons lists the minors pyship builds for, oldest first.
func KnownPythons() []string {
	out := make([]string, len(knownPythons))
	for i, r := range knownPythons {
		out[i] = r.minor
	}
	return out
}

// ErrUnknownPython is a declared Python version (--python, pyship.toml's python) whose
// minor pyship does not build for: refused before anything is built or stored, since a
// base image python:3.99-slim or a resolver target 2.7 fails much later and less clearly.
type ErrUnknownPython struct{ Version string }

func (e *ErrUnknownPython) Error() string {
	return fmt.Sprintf("Python %q is not a version pyship knows; choose one of %s", e.Version, strings.Join(KnownPythons(), ", "))
}

// ValidPython checks a declared version: X.Y or X.Y.Z of a known minor.
func ValidPython(v string) error {
	if _, err := pyproject.ParseVersion(v); err != nil || strings.Count(v, ".") < 1 || strings.Count(v, ".") > 2 {
		return &ErrUnknownPython{Version: v}
	}
	minor := minorOf(v)
	for _, r := range knownPythons {
		if r.minor == minor {
			return nil
		}
	}
	return &ErrUnknownPython{Version: v}
}

// chooseForConstraint returns the newest known minor that satisfies a constraint.
func chooseForConstraint(constraint string) (string, error) {
	c, err := pyproject.ParseConstraint(constraint)
	if err != nil {
		return "", err
	}
	for i := len(knownPythons) - 1; i >= 0; i-- {
		r := knownPythons[i]
		v, _ := pyproject.ParseVersion(r.minor)
		// A constraint like ">=3.11.4" must accept some patch of the minor: try x.y.99.
		hi := pyproject.Version{Release: append(append([]int{}, v.Release...), 99)}
		if c.Contains(v) || c.Contains(hi) {
			return r.minor, nil
		}
	}
	return "", fmt.Errorf("no Python version pyship supports (%s to %s) satisfies %q", knownPythons[0].minor, DefaultPython(), constraint)
}

// pythonFromFile reads .python-version or runtime.txt: comments and blank lines skipped,
// "cpython-3.12", "python-3.12.4", "3.12" and "3.12.4" accepted.
func pythonFromFile(data []byte) (string, int, error) {
	for i, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		v := strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(l, "python-"), "cpython-"), "python")
		v = strings.TrimSpace(v)
		// "3.12.4-64" or "3.12/envs/x" (pyenv virtualenv names) keep the version part.
		if j := strings.IndexAny(v, "-/ "); j > 0 {
			v = v[:j]
		}
		if _, err := pyproject.ParseVersion(v); err != nil {
			return "", i + 1, fmt.Errorf("%q is not a Python version", l)
		}
		return v, i + 1, nil
	}
	return "", 0, fmt.Errorf("no version in file")
}

// minorOf cuts 3.12.4 to 3.12.
func minorOf(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) >= 2 {
		return parts[0] + "." + parts[1]
	}
	return v
}
