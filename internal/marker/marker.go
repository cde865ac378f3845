// Package marker evaluates PEP 508 environment markers ("python_version >= '3.9' and
// sys_platform == 'linux'") against the environment of a target image rather than the
// machine pyship runs on.
package marker

import (
	"fmt"
	"strings"

	"github.com/pyship/pyship/internal/pep440"
	"github.com/pyship/pyship/internal/pyproject"
)

// Env holds the marker variables of one target; "extra" is set per evaluation.
type Env map[string]string

// Marker is a parsed marker expression.
type Marker struct {
	root node
	src  string
}

type node interface {
	eval(env Env) (bool, error)
}

type and struct{ l, r node }
type or struct{ l, r node }
type cmp struct {
	lhs, op, rhs string
	lvar, rvar   bool
}

func (n and) eval(env Env) (bool, error) {
	l, err := n.l.eval(env)
	if err != nil || !l {
		return false, err
	}
	return n.r.eval(env)
}

func (n or) eval(env Env) (bool, error) {
	l, err := n.l.eval(env)
	if err != nil || l {
		return l, err
	}
	return n.r.eval(env)
}

var knownVars = map[string]bool{
	"os_name": true, "sys_platform": true, "platform_machine": true, "platform_python_implementation": true,
	"platform_release": true, "platform_system": true, "platform_version": true, "python_version": true,
	"python_full_version": true, "implementation_name": true, "implementation_version": true, "extra": true,
	"extras": true, "dependency_groups": true,
	// Legacy spellings pip still accepts.
	"os.name": true, "sys.platform": true, "platform.version": true, "platform.machine": true,
	"platform.python_implementation": true, "python_implementation": true,
}

var legacy = map[string]string{"os.name": "os_name", "sys.platform": "sys_platform", "platform.version": "platform_version",
	"platform.machine": "platform_machine", "platform.python_implementation": "platform_python_implementation",
	"python_implementation": "platform_python_implementation"}

func (n cmp) eval(env Env) (bool, error) {
	val := func(s string, isVar bool) (string, error) {
		if !isVar {
			return s, nil
		}
		v, ok := env[s]
		if !ok {
			if s == "extra" {
				return "", nil
			}
			return "", fmt.Errorf("marker variable %s is not known for the target image", s)
		}
		return v, nil
	}
	l, err := val(n.lhs, n.lvar)
	if err != nil {
		return false, err
	}
	r, err := val(n.rhs, n.rvar)
	if err != nil {
		return false, err
	}
	name := n.lhs
	if !n.lvar {
		name = n.rhs
	}
	if name == "extra" {
		// PEP 685: extras compare normalised.
		l, r = pyproject.Normalize(l), pyproject.Normalize(r)
	}
	switch n.op {
	case "in":
		return strings.Contains(r, l), nil
	case "not in":
		return !strings.Contains(r, l), nil
	}
	// PEP 508: compare as PEP 440 versions when both sides are versions, else as strings.
	if v, err := pep440.Parse(l); err == nil {
		if sp, err := pep440.ParseSpecifier(n.op + r); err == nil {
			return sp.Contains(v), nil
		}
	}
	switch n.op {
	case "==", "===":
		return l == r, nil
	case "!=":
		return l != r, nil
	case ">=", "<=":
		return l == r, nil // PEP 508: ordered comparison of strings that are not versions
	case "<", ">", "~=":
		return false, nil
	}
	return false, fmt.Errorf("unknown marker operator %q", n.op)
}

// Parse reads a marker expression.
func Parse(s string) (*Marker, error) {
	p := &parser{src: s}
	p.lex()
	if p.err != nil {
		return nil, p.err
	}
	n := p.expr()
	if p.err == nil && p.pos < len(p.toks) {
		p.fail("unexpected %q", p.toks[p.pos].text)
	}
	if p.err != nil {
		return nil, p.err
	}
	return &Marker{root: n, src: s}, nil
}

// Eval evaluates a marker with "extra" set to extra ("" for none).
func (m *Marker) Eval(env Env, extra string) (bool, error) {
	if m == nil || m.root == nil {
		return true, nil
	}
	e := make(Env, len(env)+1)
	for k, v := range env {
		e[k] = v
	}
	e["extra"] = extra
	return m.root.eval(e)
}

// String is the source text.
func (m *Marker) String() string { return m.src }

// Eval parses and evaluates in one step; an empty marker is true.
func Eval(s string, env Env, extra string) (bool, error) {
	if strings.TrimSpace(s) == "" {
		return true, nil
	}
	m, err := Parse(s)
	if err != nil {
		return false, err
	}
	return m.Eval(env, extra)
}

type token struct {
	kind string // "str", "var", "op", "(", ")", "and", "or"
	text string
}

type parser struct {
	src  string
	toks []token
	pos  int
	err  error
}

func (p *parser) fail(format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf("invalid marker %q: %s", p.src, fmt.Sprintf(format, args...))
	}
}

func (p *parser) lex() {
	s := p.src
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '(' || c == ')':
			p.toks = append(p.toks, token{kind: string(c)})
			i++
		case c == '"' || c == '\'':
			end := strings.IndexByte(s[i+1:], c)
			if end < 0 {
				p.fail("unterminated string")
				return
			}
			p.toks = append(p.toks, token{kind: "str", text: s[i+1 : i+1+end]})
			i += end + 2
		case strings.ContainsRune("<>=!~", rune(c)):
			j := i
			for j < len(s) && strings.ContainsRune("<>=!~", rune(s[j])) {
				j++
			}
			op := s[i:j]
			switch op {
			case "<", "<=", "!=", "==", ">=", ">", "~=", "===":
			default:
				p.fail("unknown operator %q", op)
				return
			}
			p.toks = append(p.toks, token{kind: "op", text: op})
			i = j
		default:
			j := i
			for j < len(s) && (isWord(s[j])) {
				j++
			}
			if j == i {
				p.fail("unexpected character %q", c)
				return
			}
			w := s[i:j]
			i = j
			switch w {
			case "and", "or":
				p.toks = append(p.toks, token{kind: w})
			case "in":
				p.toks = append(p.toks, token{kind: "op", text: "in"})
			case "not":
				rest := strings.TrimLeft(s[i:], " \t")
				if !strings.HasPrefix(rest, "in") || (len(rest) > 2 && isWord(rest[2])) {
					p.fail("expected 'in' after 'not'")
					return
				}
				i = len(s) - len(rest) + 2
				p.toks = append(p.toks, token{kind: "op", text: "not in"})
			default:
				if !knownVars[w] {
					p.fail("unknown variable %q", w)
					return
				}
				if l, ok := legacy[w]; ok {
					w = l
				}
				p.toks = append(p.toks, token{kind: "var", text: w})
			}
		}
	}
}

func isWord(c byte) bool {
	return c == '_' || c == '.' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func (p *parser) peek() token {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return token{}
}

func (p *parser) expr() node {
	n := p.conj()
	for p.err == nil && p.peek().kind == "or" {
		p.pos++
		n = or{n, p.conj()}
	}
	return n
}

func (p *parser) conj() node {
	n := p.atom()
	for p.err == nil && p.peek().kind == "and" {
		p.pos++
		n = and{n, p.atom()}
	}
	return n
}

func (p *parser) atom() node {
	if p.peek().kind == "(" {
		p.pos++
		n := p.expr()
		if p.peek().kind != ")" {
			p.fail("missing )")
			return nil
		}
		p.pos++
		return n
	}
	l, op, r := p.peek(), token{}, token{}
	p.pos++
	if p.pos < len(p.toks) {
		op = p.toks[p.pos]
		p.pos++
	}
	if p.pos < len(p.toks) {
		r = p.toks[p.pos]
		p.pos++
	}
	if (l.kind != "str" && l.kind != "var") || op.kind != "op" || (r.kind != "str" && r.kind != "var") {
		p.fail("expected <value> <op> <value>")
		return nil
	}
	return cmp{lhs: l.text, op: op.text, rhs: r.text, lvar: l.kind == "var", rvar: r.kind == "var"}
}
