package plan

import "strings"

// srcLine is one line of Python code with comments and docstring bodies removed.
type srcLine struct {
	n      int // 1-based
	indent int
	code   string
}

// pyLines splits Python source into code lines. It is a line scanner, not a parser:
// enough to find module-level assignments, defs and calls, and to skip text inside
// triple-quoted strings and comments, which is where naive greps go wrong.
func pyLines(src []byte) []srcLine {
	var out []srcLine
	inTriple := ""
	for i, raw := range strings.Split(string(src), "\n") {
		line := strings.TrimRight(raw, "\r")
		if inTriple != "" {
			if j := strings.Index(line, inTriple); j >= 0 {
				line = line[j+3:]
				inTriple = ""
			} else {
				continue
			}
		}
		code := stripPyComment(line)
		// A triple quote opened and not closed on this line starts a docstring block.
		for _, q := range []string{`"""`, `'''`} {
			if c := strings.Count(code, q); c%2 == 1 {
				code = code[:strings.Index(code, q)]
				inTriple = q
				break
			}
		}
		trimmed := strings.TrimLeft(code, " \t")
		if strings.TrimSpace(trimmed) == "" {
			continue
		}
		out = append(out, srcLine{n: i + 1, indent: len(code) - len(trimmed), code: strings.TrimSpace(trimmed)})
	}
	return out
}

// stripPyComment removes a # comment that is not inside a string literal.
func stripPyComment(line string) string {
	var quote byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#':
			return line[:i]
		}
	}
	return line
}

// pyString returns the first string literal in s ("" if none).
func pyString(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\'' {
			q := s[i]
			if j := strings.IndexByte(s[i+1:], q); j >= 0 {
				return s[i+1 : i+1+j]
			}
			return ""
		}
	}
	return ""
}

// moduleName turns a file path relative to an import root into a dotted module name,
// replacing every separator (VS Code replaced only the first).
func moduleName(p string) string {
	p = strings.TrimSuffix(p, ".py")
	p = strings.TrimSuffix(p, "/__init__")
	return strings.ReplaceAll(p, "/", ".")
}
