package index

import (
	"fmt"
	"regexp"
	"strings"
)

// NameError is a file name or hash from an index page or lock file that pyship will not
// use in a path: these come from servers and projects pyship does not control, and the
// download cache is keyed by them.
type NameError struct {
	Name string // as given (quoted and shortened in the message)
	Why  string
}

func (e *NameError) Error() string { return fmt.Sprintf("%s: %s", quoteShort(e.Name), e.Why) }

// quoteShort quotes an untrusted value for a message, cut to a readable length.
func quoteShort(s string) string {
	const max = 120
	if len(s) > max {
		return fmt.Sprintf("%q…", s[:max])
	}
	return fmt.Sprintf("%q", s)
}

// maxNameLen is the longest file name Linux file systems store.
const maxNameLen = 255

// CheckFileName accepts a name that is one path element and nothing else: no
// separator of any system, no "." or "..", no control characters.
func CheckFileName(name string) error {
	switch {
	case name == "":
		return &NameError{name, "empty file name"}
	case len(name) > maxNameLen:
		return &NameError{name, fmt.Sprintf("file name longer than %d bytes", maxNameLen)}
	case name == "." || name == "..":
		return &NameError{name, "not a file name"}
	case strings.ContainsAny(name, `/\`):
		return &NameError{name, "a file name with a path separator"}
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return &NameError{name, "a file name with a control character"}
		}
	}
	return nil
}

// wheelNameRe is PEP 427's {dist}-{version}(-{build})?-{python}-{abi}-{platform}.whl
// with each part limited to the characters the binary distribution format allows
// (versions add PEP 440's "!" and "+"). It is stricter than wheel.ParseName, which only
// splits on dashes and so took "x-1.0-py3-none-any.whl/../../y.whl" for a wheel.
var wheelNameRe = regexp.MustCompile(`^[A-Za-z0-9_.]+-[A-Za-z0-9_.!+]+(-[0-9][A-Za-z0-9_.]*)?-[A-Za-z0-9_.]+-[A-Za-z0-9_.]+-[A-Za-z0-9_.]+\.whl$`)

// CheckWheelName accepts a wheel file name that is safe to use as a path element.
func CheckWheelName(name string) error {
	if err := CheckFileName(name); err != nil {
		return err
	}
	if !wheelNameRe.MatchString(name) {
		return &NameError{name, "not a wheel file name ({dist}-{version}(-{build})?-{python}-{abi}-{platform}.whl)"}
	}
	return nil
}

// CheckSHA256 accepts a sha256 as 64 lowercase hex digits (the form File.SHA256 and
// lock readers give).
func CheckSHA256(sum string) error {
	if len(sum) != 64 || strings.Trim(sum, "0123456789abcdef") != "" {
		return &NameError{sum, "not a sha256 (64 hex digits)"}
	}
	return nil
}
