package wheel

import (
	"fmt"
	"strings"

	"github.com/pyship/pyship/internal/pep440"
	"github.com/pyship/pyship/internal/pyproject"
)

// checkIdentity refuses a wheel whose METADATA names another distribution or version
// than its file name, as pip does ("inconsistent name/version"). The file name is what
// the index offered and the resolver chose; the METADATA is what Python's importlib
// and pip see once it is installed, so a mismatch would install, say, "evil" as a
// second distribution claiming to be flask.
func (w *Wheel) checkIdentity() error {
	file := w.distInfo + "/METADATA"
	b, err := w.readFile(file)
	if err != nil {
		return err
	}
	var name, version string
	err = scanHeaders(file, b, func(key, v string, line int) error {
		switch strings.ToLower(key) {
		case "name":
			if name != "" {
				return fmt.Errorf("%s:%d: Name given twice", file, line)
			}
			name = v
		case "version":
			if version != "" {
				return fmt.Errorf("%s:%d: Version given twice", file, line)
			}
			version = v
		}
		return nil
	})
	if err != nil {
		return err
	}
	if name == "" || version == "" {
		return fmt.Errorf("%s has no Name or no Version", file)
	}
	if pyproject.Normalize(name) != w.Name.Dist {
		return fmt.Errorf("%s says Name: %s, but the file name is for %s", file, name, w.Name.Dist)
	}
	v, err := pep440.Parse(version)
	if err != nil {
		return fmt.Errorf("%s: Version: %v", file, err)
	}
	if !v.Equal(w.Name.Version) {
		return fmt.Errorf("%s says Version: %s, but the file name has %s", file, version, w.Name.Version)
	}
	return nil
}
