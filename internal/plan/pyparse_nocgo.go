//go:build !cgo

package plan

// pyship reads Python with tree-sitter's Python grammar, a C library, so it is built
// with cgo (the default where a C compiler is installed). This line stops a build
// without cgo here, with a name that says why, rather than in the middle of tree-sitter.
var _ = pyship_reads_Python_with_tree_sitter__build_with_CGO_ENABLED_1_and_a_C_compiler
