package pyproject

import (
	"fmt"
	"regexp"
	"strings"
)

var normRe = regexp.MustCompile(`[-_.]+`)

// Normalize returns the PEP 503 normalised form of a distribution name.
func Normalize(name string) string {
	return strings.ToLower(normRe.ReplaceAllString(strings.TrimSpace(name), "-"))
}

// Requirement is one PEP 508 dependency specifier.
type Requirement struct {
	Name      string   `json:"name"` // normalised
	Extras    []string `json:"extras,omitempty"`
	Specifier string   `json:"specifier,omitempty"`
	Marker    string   `json:"marker,omitempty"`
	URL       string   `json:"url,omitempty"`
}

func (r Requirement) String() string {
	s := r.Name
	if len(r.Extras) > 0 {
		s += "[" + strings.Join(r.Extras, ",") + "]"
	}
	if r.URL != "" {
		s += " @ " + r.URL
	} else {
		s += r.Specifier
	}
	if r.Marker != "" {
		s += "; " + r.Marker
	}
	return s
}

var nameRe = regexp.MustCompile(`^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)`)

// ParseRequirement reads a PEP 508 requirement such as
// `fastapi[standard]>=0.110; python_version >= "3.9"` or `pkg @ https://…`.
func ParseRequirement(s string) (Requirement, error) {
	s = strings.TrimSpace(s)
	var r Requirement
	body, marker, hasMarker := strings.Cut(s, ";")
	if hasMarker {
		// "@ url ; marker" needs a space before ';' in URLs, which Cut handles well enough:
		// a URL with a literal ';' is not a case worth parsing here.
		r.Marker = strings.TrimSpace(marker)
	}
	body = strings.TrimSpace(body)
	m := nameRe.FindString(body)
	if m == "" {
		return r, fmt.Errorf("no distribution name in %q", s)
	}
	r.Name = Normalize(m)
	rest := strings.TrimSpace(body[len(m):])
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return r, fmt.Errorf("unclosed extras in %q", s)
		}
		for _, e := range strings.Split(rest[1:end], ",") {
			if e = strings.TrimSpace(e); e != "" {
				r.Extras = append(r.Extras, Normalize(e))
			}
		}
		rest = strings.TrimSpace(rest[end+1:])
	}
	if strings.HasPrefix(rest, "@") {
		r.URL = strings.TrimSpace(rest[1:])
		if r.URL == "" {
			return r, fmt.Errorf("empty URL in %q", s)
		}
		return r, nil
	}
	rest = strings.TrimSuffix(strings.TrimPrefix(rest, "("), ")")
	rest = strings.ReplaceAll(rest, " ", "")
	if rest != "" {
		if _, err := ParseSpecifiers(rest); err != nil {
			return r, fmt.Errorf("%q: %v", s, err)
		}
	}
	r.Specifier = rest
	return r, nil
}
