package pyproject

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// decodeTOML reads a TOML document into a generic tree, turning decoder errors into
// ParseErrors with the line.
func decodeTOML(name string, data []byte) (map[string]any, error) {
	if !isText(data) {
		return nil, &ParseError{File: name, Msg: "not a text file"}
	}
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, _ := de.Position()
			return nil, &ParseError{File: name, Line: row, Msg: de.Error()}
		}
		return nil, &ParseError{File: name, Msg: err.Error()}
	}
	return doc, nil
}

// lineOf finds the first line of data that starts with key (after spaces), for errors
// and evidence about values the TOML decoder has already accepted.
func lineOf(data []byte, key string) int {
	for i, l := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, key) {
			rest := strings.TrimSpace(t[len(key):])
			if rest == "" || rest[0] == '=' || rest[0] == ']' || rest[0] == '.' {
				return i + 1
			}
		}
	}
	return 0
}

func table(m map[string]any, keys ...string) map[string]any {
	cur := m
	for _, k := range keys {
		next, ok := cur[k].(map[string]any)
		if !ok {
			return nil
		}
		cur = next
	}
	return cur
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func strList(v any) []string {
	arr, _ := v.([]any)
	var out []string
	for _, x := range arr {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// tableRequirements reads a name → constraint table (Poetry, Pipfile).
func tableRequirements(file string, data []byte, t map[string]any, skip ...string) ([]Located, error) {
	var out []Located
	for _, k := range sortedKeys(t) {
		if contains(skip, strings.ToLower(k)) {
			continue
		}
		if nameRe.FindString(k) != k {
			return nil, &ParseError{File: file, Line: lineOf(data, k), Msg: fmt.Sprintf("invalid package name %q", k)}
		}
		loc := Located{File: file, Line: lineOf(data, k)}
		loc.Name = Normalize(k)
		switch v := t[k].(type) {
		case string:
			if v != "*" {
				loc.Specifier = v
			}
		case map[string]any:
			loc.Specifier = str(v, "version")
			for _, e := range strList(v["extras"]) {
				loc.Extras = append(loc.Extras, Normalize(e))
			}
			if p := str(v, "path"); p != "" {
				loc.URL = p
			} else if g := str(v, "git"); g != "" {
				loc.URL = "git+" + g
			}
			if o, ok := v["optional"].(bool); ok && o {
				continue // only installed through an extra
			}
		case []any:
			// Poetry's multiple-constraint form: [{version=…, python=…}, …]
		}
		out = append(out, loc)
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
