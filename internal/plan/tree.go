package plan

import (
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// skipDirs are never part of an app: virtualenvs, caches, VCS and build output. Reading
// them is what made docker init suggest `.venv.Lib.site-packages.werkzeug.wsgi`.
var skipDirs = map[string]bool{
	".git": true, ".hg": true, ".svn": true, ".venv": true, "venv": true, "site-packages": true,
	"node_modules": true, "__pycache__": true, ".tox": true, ".nox": true, "build": true,
	"dist": true, ".mypy_cache": true, ".pytest_cache": true, ".ruff_cache": true, ".idea": true,
	".vscode": true, ".eggs": true, "htmlcov": true, ".direnv": true, ".cache": true,
}

// maxDepth bounds the walk; Python apps do not nest their entry points deeper.
const maxDepth = 8

// tree is the list of project files Detect looks at, read once.
type tree struct {
	fsys  fs.FS
	files []string        // sorted
	set   map[string]bool // files
	dirs  map[string]bool
	cache map[string][]byte
	pys   map[string]*pyFile
	// pyErrs are the Python files that could not be read (too large, too complex): the
	// Plan says so rather than silently deciding without them.
	pyErrs map[string]error
}

func walk(fsys fs.FS) (*tree, error) {
	t := &tree{fsys: fsys, set: map[string]bool{}, dirs: map[string]bool{".": true}, cache: map[string][]byte{},
		pys: map[string]*pyFile{}, pyErrs: map[string]error{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == "." {
				return err
			}
			return nil // unreadable subtrees are not the app
		}
		if d.IsDir() {
			if p == "." {
				return nil
			}
			name := d.Name()
			if skipDirs[name] || strings.HasSuffix(name, ".egg-info") || strings.Count(p, "/") >= maxDepth {
				return fs.SkipDir
			}
			if _, err := fs.Stat(fsys, p+"/pyvenv.cfg"); err == nil {
				return fs.SkipDir // a virtualenv under any name
			}
			t.dirs[p] = true
			return nil
		}
		if d.Type().IsRegular() {
			t.files = append(t.files, p)
			t.set[p] = true
		}
		return nil
	})
	sort.Strings(t.files)
	return t, err
}

func (t *tree) has(p string) bool { return t.set[path.Clean(p)] }

// read returns a file's content, cached; large files are cut at 1 MiB (py refuses
// Python files over maxPySource, so a cut one is never parsed).
func (t *tree) read(p string) []byte {
	if b, ok := t.cache[p]; ok {
		return b
	}
	f, err := t.fsys.Open(p)
	if err != nil {
		t.cache[p] = nil
		return nil
	}
	defer f.Close()
	buf, _ := io.ReadAll(io.LimitReader(f, 1<<20))
	t.cache[p] = buf
	return buf
}

// under lists the files below dir (recursively), optionally with a suffix.
func (t *tree) under(dir, suffix string) []string {
	var out []string
	prefix := ""
	if dir != "." && dir != "" {
		prefix = dir + "/"
	}
	for _, f := range t.files {
		if strings.HasPrefix(f, prefix) && strings.HasSuffix(f, suffix) {
			out = append(out, f)
		}
	}
	return out
}

// join is path.Join that keeps "." for the root.
func join(dir, name string) string {
	if dir == "" || dir == "." {
		return name
	}
	return dir + "/" + name
}

// rel makes p relative to dir (p must be below dir).
func rel(dir, p string) string {
	if dir == "" || dir == "." {
		return p
	}
	return strings.TrimPrefix(p, dir+"/")
}

// py returns a Python file's syntax tree, parsed once; nil when it cannot be read or is
// beyond the parser's bounds (recorded in pyErrs).
func (t *tree) py(p string) *pyFile {
	if f, ok := t.pys[p]; ok {
		return f
	}
	f, err := parsePython(t.read(p))
	if err != nil {
		t.pyErrs[p] = err
		f = nil
	}
	t.pys[p] = f
	return f
}
