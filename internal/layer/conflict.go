package layer

import (
	"archive/tar"
	"fmt"
	"maps"
	"sort"
)

// ConflictError is two entries that cannot both be in an image: one path claimed by two
// different files, or a path that is a file (or symlink) for one source while another
// puts something under it. An engine refuses such a layer, or one layer silently hides
// the other's files, and neither names the package responsible: this error does.
type ConflictError struct {
	Path string // the contested path, with a leading slash
	// Have is the entry already there; Add the one that clashed with it.
	Have, Add Claim
	// Under is set when a file meets a directory: the path below Path that needs Path to
	// be a directory.
	Under string
}

// Claim is one side of a conflict.
type Claim struct {
	Source string // Entry.Source
	Kind   string // "file", "directory", "symlink"
}

func (e *ConflictError) Error() string {
	if e.Under == "" {
		if e.Have.Source == e.Add.Source {
			return fmt.Sprintf("%s: %s installs two different files at this path", e.Path, e.Have.Source)
		}
		return fmt.Sprintf("%s: both %s (a %s) and %s (a %s) install this path, with different contents",
			e.Path, e.Have.Source, e.Have.Kind, e.Add.Source, e.Add.Kind)
	}
	file, dir := e.Have, e.Add
	if e.Have.Kind == "directory" {
		file, dir = e.Add, e.Have
	}
	below := ""
	if e.Under != e.Path {
		below = " (for " + e.Under + ")"
	}
	if file.Source == dir.Source {
		return fmt.Sprintf("%s: %s has a %s here and also needs a directory here%s", e.Path, file.Source, file.Kind, below)
	}
	return fmt.Sprintf("%s: %s installs a %s here, but %s needs a directory here%s", e.Path, file.Source, file.Kind, dir.Source, below)
}

func claim(e *Entry) Claim {
	src := e.Source
	if src == "" {
		src = "an unnamed source"
	}
	kind := "file"
	switch e.Type {
	case tar.TypeDir:
		kind = "directory"
	case tar.TypeSymlink:
		kind = "symlink"
	}
	return Claim{Source: src, Kind: kind}
}

// sameContent reports whether two entries for one path are interchangeable, so that the
// order in which they are applied cannot matter: regular files with the same mode and
// a content digest both sources vouch for.
func sameContent(a, b *Entry) bool {
	return a.Type == tar.TypeReg && b.Type == tar.TypeReg && a.Digest != "" && a.Digest == b.Digest && a.Mode == b.Mode && a.Size == b.Size
}

// CheckDisjoint reports the first conflict between trees that become layers of one
// image (the same rules as within one tree: only directories, and identical files, may
// be shared). Upper layers would otherwise hide lower layers' files without a word, or
// give the engine a path that is a file in one layer and a directory in another.
func CheckDisjoint(trees ...*Tree) error {
	if len(trees) < 2 {
		return nil // one tree has kept these rules on every Add
	}
	all := &Tree{entries: maps.Clone(trees[0].entries), under: maps.Clone(trees[0].under)}
	for _, t := range trees[1:] {
		paths := make([]string, 0, len(t.entries))
		for p := range t.entries {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		for _, p := range paths {
			if err := all.Add(*t.entries[p]); err != nil {
				return err
			}
		}
	}
	return nil
}
