package plan

import (
	"strings"
)

// pyNode is one node of a Python syntax tree, copied out of tree-sitter (pyparse.go) so
// that the rules reading it are plain Go. Kinds and field names are tree-sitter-python's.
type pyNode struct {
	kind       string
	field      string // the field this node fills in its parent ("left", "function", ...)
	named      bool   // false for punctuation and keywords
	start, end int    // byte offsets into the source
	line       int    // 1-based
	children   []*pyNode
}

// pyFile is a parsed Python file.
type pyFile struct {
	src  []byte
	root *pyNode
}

func (f *pyFile) text(n *pyNode) string {
	if n == nil || n.start < 0 || n.end > len(f.src) || n.start > n.end {
		return ""
	}
	return string(f.src[n.start:n.end])
}

// child is the first child filling field.
func (n *pyNode) child(field string) *pyNode {
	if n == nil {
		return nil
	}
	for _, c := range n.children {
		if c.field == field {
			return c
		}
	}
	return nil
}

// namedChildren are the children that are not punctuation, keywords or comments.
func (n *pyNode) namedChildren() []*pyNode {
	var out []*pyNode
	if n == nil {
		return nil
	}
	for _, c := range n.children {
		if c.named && c.kind != "comment" {
			out = append(out, c)
		}
	}
	return out
}

// hasToken reports whether an anonymous child (a keyword or operator) is tok.
func (n *pyNode) hasToken(f *pyFile, tok string) bool {
	for _, c := range n.children {
		if !c.named && f.text(c) == tok {
			return true
		}
	}
	return false
}

// walk visits n and its descendants in source order; visit returns false to skip a
// node's children. The walk keeps its own stack: a file's depth costs no Go stack.
func pyWalk(n *pyNode, visit func(n *pyNode, ancestors []*pyNode) bool) {
	if n == nil {
		return
	}
	type frame struct {
		n *pyNode
		i int
	}
	var ancestors []*pyNode
	stack := []frame{{n, -1}}
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		if top.i == -1 {
			top.i = 0
			if !visit(top.n, ancestors) {
				stack = stack[:len(stack)-1]
				continue
			}
			ancestors = append(ancestors, top.n)
		}
		if top.i < len(top.n.children) {
			c := top.n.children[top.i]
			top.i++
			stack = append(stack, frame{c, -1})
			continue
		}
		stack = stack[:len(stack)-1]
		ancestors = ancestors[:len(ancestors)-1]
	}
}

// isScope: a def or class body is a new scope; module-level rules stop there.
func isScope(n *pyNode) bool {
	return n.kind == "function_definition" || n.kind == "class_definition" || n.kind == "lambda"
}

// statements lists the statements of a scope's body (a module or a def's block),
// including those inside if/try/with/for blocks, in source order, but not those inside
// nested defs and classes. A decorated def is listed as the def.
func statements(body *pyNode) []*pyNode {
	var out []*pyNode
	var add func(block *pyNode)
	add = func(block *pyNode) {
		for _, s := range block.namedChildren() {
			if s.kind == "decorated_definition" {
				if def := s.child("definition"); def != nil {
					s = def
				}
			}
			out = append(out, s)
			if isScope(s) {
				continue
			}
			for _, c := range s.children {
				switch c.kind {
				case "block":
					add(c)
				case "elif_clause", "else_clause", "except_clause", "finally_clause", "case_clause", "match_statement":
					for _, b := range c.children {
						if b.kind == "block" {
							add(b)
						}
					}
				}
			}
		}
	}
	add(body)
	return out
}

// assignment returns the target and the value of a statement `x = value` or
// `x: T = value` (nils when it is not an assignment).
func assignment(s *pyNode) (left, right *pyNode) {
	if s.kind == "expression_statement" {
		for _, c := range s.children {
			if c.kind == "assignment" {
				s = c
				break
			}
		}
	}
	if s.kind != "assignment" {
		return nil, nil
	}
	left, right = s.child("left"), s.child("right")
	if right != nil && right.kind == "assignment" {
		// a = b = value: the value is the innermost right-hand side.
		for right != nil && right.kind == "assignment" {
			right = right.child("right")
		}
	}
	return left, right
}

// dotted returns "a.b.c" for a name or attribute chain, "" for anything else.
func (f *pyFile) dotted(n *pyNode) string {
	if n == nil {
		return ""
	}
	switch n.kind {
	case "identifier":
		return f.text(n)
	case "attribute":
		obj := f.dotted(n.child("object"))
		attr := n.child("attribute")
		if obj == "" || attr == nil {
			return ""
		}
		return obj + "." + f.text(attr)
	case "dotted_name":
		return strings.Join(strings.Fields(strings.ReplaceAll(f.text(n), ".", " ")), ".")
	}
	return ""
}

// str returns a string literal's value (adjacent literals joined); ok is false for an
// f-string with replacement fields, a bytes literal or anything that is not a literal.
func (f *pyFile) str(n *pyNode) (string, bool) {
	if n == nil {
		return "", false
	}
	switch n.kind {
	case "concatenated_string":
		var b strings.Builder
		for _, c := range n.namedChildren() {
			s, ok := f.str(c)
			if !ok {
				return "", false
			}
			b.WriteString(s)
		}
		return b.String(), true
	case "parenthesized_expression":
		if kids := n.namedChildren(); len(kids) == 1 {
			return f.str(kids[0])
		}
		return "", false
	case "string":
	default:
		return "", false
	}
	var b strings.Builder
	for _, c := range n.children {
		switch c.kind {
		case "string_start":
			if strings.ContainsAny(f.text(c), "bB") {
				return "", false
			}
		case "string_content":
			b.WriteString(f.text(c))
		case "interpolation":
			return "", false
		}
	}
	return b.String(), true
}

// callArgs splits a call's arguments into positional ones and keywords.
func callArgs(call *pyNode, f *pyFile) (pos []*pyNode, kw map[string]*pyNode) {
	kw = map[string]*pyNode{}
	args := call.child("arguments")
	if args == nil {
		return nil, kw
	}
	for _, a := range args.namedChildren() {
		switch a.kind {
		case "keyword_argument":
			kw[f.text(a.child("name"))] = a.child("value")
		case "list_splat", "dictionary_splat":
		default:
			pos = append(pos, a)
		}
	}
	return pos, kw
}

// imports are the modules a file imports, as written: "flask", "app.core.config",
// ".base" (relative), with the line of each. A star import ends in ".*".
type pyImport struct {
	module string
	star   bool
	line   int
}

func (f *pyFile) imports() []pyImport {
	var out []pyImport
	pyWalk(f.root, func(n *pyNode, _ []*pyNode) bool {
		switch n.kind {
		case "import_statement":
			for _, c := range n.children {
				if c.field != "name" {
					continue
				}
				if c.kind == "aliased_import" {
					c = c.child("name")
				}
				out = append(out, pyImport{module: f.dotted(c), line: n.line})
			}
			return false
		case "import_from_statement":
			m := n.child("module_name")
			mod := ""
			if m != nil && m.kind == "relative_import" {
				mod = strings.Join(strings.Fields(f.text(m)), "")
			} else {
				mod = f.dotted(m)
			}
			star := false
			for _, c := range n.children {
				star = star || c.kind == "wildcard_import"
			}
			out = append(out, pyImport{module: mod, star: star, line: n.line})
			return false
		}
		return true
	})
	return out
}

// topImports are the top-level packages a file imports absolutely.
func (f *pyFile) topImports() map[string]bool {
	out := map[string]bool{}
	for _, im := range f.imports() {
		if im.module != "" && !strings.HasPrefix(im.module, ".") {
			out[strings.SplitN(im.module, ".", 2)[0]] = true
		}
	}
	return out
}

// moduleName turns a file path relative to an import root into a dotted module name,
// replacing every separator (VS Code replaced only the first).
func moduleName(p string) string {
	p = strings.TrimSuffix(p, ".py")
	p = strings.TrimSuffix(p, "/__init__")
	return strings.ReplaceAll(p, "/", ".")
}

// firstSyntaxError is the line of the first part of the file the parser could not read
// (an ERROR node), or 0: error-tolerant parsing reads past it, but what it hides (an
// unclosed `app = Flask(`) is not seen.
func (f *pyFile) firstSyntaxError() int {
	var walk func(n *pyNode) int
	walk = func(n *pyNode) int {
		if n == nil {
			return 0
		}
		// An ERROR node, or a token the parser had to invent (the `)` of an unclosed call).
		if n.kind == "ERROR" || n.kind == "MISSING" {
			return n.line
		}
		for _, c := range n.children {
			if l := walk(c); l > 0 {
				return l
			}
		}
		return 0
	}
	return walk(f.root)
}
