//go:build cgo

package plan

/*
#include <stdlib.h>
void ts_set_allocator(void *(*)(size_t), void *(*)(size_t, size_t), void *(*)(void *, size_t), void (*)(void *));
static void pyship_ts_libc_allocator(void) { ts_set_allocator(malloc, calloc, realloc, free); }
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"time"

	sitter "github.com/tree-sitter/go-tree-sitter"
	python "github.com/tree-sitter/tree-sitter-python/bindings/go"
)

// pyLanguage is tree-sitter's Python grammar: an error-tolerant parser of the whole
// modern language (match, walrus, f-strings, parenthesised imports), so a syntax error
// in one function leaves the rest of the module readable.
var pyLanguage = sitter.NewLanguage(python.Language())

// The Go binding routes every allocation of the C library through Go callbacks
// (C→Go→C), which made parsing five times slower; the library's own default, libc's
// allocator, is what the binding's callbacks end in anyway, so memory freed on either
// side stays consistent.
func init() { C.pyship_ts_libc_allocator() }

// Bounds on what one file may cost: the project is untrusted input.
const (
	maxPySource = 512 << 10 // bytes: no entry module or settings file comes near

	maxPyNodes    = 400_000 // nodes copied out of one file
	maxPyDepth    = 120     // nesting copied; deeper subtrees are cut (no rule looks that deep)
	maxPyParseDur = 2 * time.Second
	pyChunk       = 4 << 10
)

var errPyTooLarge = errors.New("larger than 512 KiB: not read")

// parsers are reused: a parser's setup costs as much as parsing a small file.
var parsers sync.Pool

func getParser() (*sitter.Parser, error) {
	if p, ok := parsers.Get().(*sitter.Parser); ok {
		p.Reset()
		return p, nil
	}
	p := sitter.NewParser()
	if err := p.SetLanguage(pyLanguage); err != nil {
		p.Close()
		return nil, err
	}
	runtime.SetFinalizer(p, (*sitter.Parser).Close)
	return p, nil
}

// parsePython parses Python source into pyship's own syntax tree.
func parsePython(src []byte) (*pyFile, error) {
	if len(src) > maxPySource {
		return nil, errPyTooLarge
	}
	p, err := getParser()
	if err != nil {
		return nil, err
	}
	defer parsers.Put(p)
	deadline := time.Now().Add(maxPyParseDur)
	n := len(src)
	t := p.ParseWithOptions(func(i int, _ sitter.Point) []byte {
		// Small chunks: the binding copies each chunk into a C string kept until the
		// parse ends, and the lexer asks again after every backtrack, so handing it the
		// rest of the file each time cost quadratic time and memory.
		if i < n {
			return src[i:min(i+pyChunk, n)]
		}
		return nil
	}, nil, &sitter.ParseOptions{ProgressCallback: func(sitter.ParseState) bool { return time.Now().After(deadline) }})
	if t == nil {
		return nil, fmt.Errorf("parsing took longer than %s: not read", maxPyParseDur)
	}
	defer t.Close()
	if n := t.RootNode().DescendantCount(); n > maxPyNodes {
		return nil, fmt.Errorf("%d syntax nodes, more than %d: not read", n, maxPyNodes)
	}
	c := t.Walk()
	defer c.Close()
	b := builder{lines: lineStarts(src)}
	root := b.node(c, 0)
	if b.count > maxPyNodes {
		return nil, fmt.Errorf("more than %d syntax nodes: not read", maxPyNodes)
	}
	return &pyFile{src: src, root: root}, nil
}

// The grammar's kind and field names, by id, read once: a C string conversion per
// node would cost more than the parse.
var pyKinds, pyFields = func() ([]string, []string) {
	kinds := make([]string, pyLanguage.NodeKindCount())
	for i := range kinds {
		kinds[i] = pyLanguage.NodeKindForId(uint16(i))
	}
	fields := make([]string, pyLanguage.FieldCount()+1)
	for i := 1; i < len(fields); i++ {
		fields[i] = pyLanguage.FieldNameForId(uint16(i))
	}
	return kinds, fields
}()

var pyNamed = func() []bool {
	named := make([]bool, len(pyKinds))
	for i := range named {
		named[i] = pyLanguage.NodeKindIsNamed(uint16(i))
	}
	return named
}()

type builder struct {
	lines []int // byte offset of each line's start
	count int
}

// lineStarts indexes the source's lines, so a node's line comes from its offset
// without another call into C.
func lineStarts(src []byte) []int {
	out := []int{0}
	for i, c := range src {
		if c == '\n' {
			out = append(out, i+1)
		}
	}
	return out
}

func (b *builder) line(off int) int {
	return sort.Search(len(b.lines), func(i int) bool { return b.lines[i] > off })
}

// node copies the cursor's node and its subtree; it leaves the cursor where it was.
func (b *builder) node(c *sitter.TreeCursor, depth int) *pyNode {
	b.count++
	sn := c.Node()
	id := int(sn.KindId())
	n := &pyNode{start: int(sn.StartByte()), end: int(sn.EndByte())}
	switch {
	case sn.IsError():
		n.kind, n.named = "ERROR", true // its id (0xffff) is outside the grammar's table
	case sn.IsMissing():
		n.kind, n.named = "MISSING", true // a token the parser invented: `)` of `f(x`
	case id < len(pyKinds):
		n.kind, n.named = pyKinds[id], pyNamed[id]
	}
	if f := int(c.FieldId()); f < len(pyFields) {
		n.field = pyFields[f]
	}
	n.line = b.line(n.start)
	if depth >= maxPyDepth || b.count > maxPyNodes || !c.GotoFirstChild() {
		return n
	}
	for {
		if b.count > maxPyNodes {
			break
		}
		n.children = append(n.children, b.node(c, depth+1))
		if !c.GotoNextSibling() {
			break
		}
	}
	c.GotoParent()
	return n
}
