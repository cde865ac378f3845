package pyproject

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"
)

// Located is a requirement with the place it was declared.
type Located struct {
	Requirement
	File       string   `json:"file"`
	Line       int      `json:"line"`
	Hashes     []string `json:"hashes,omitempty"`
	Constraint bool     `json:"constraint,omitempty"` // from a -c file: limits, does not add
	Editable   bool     `json:"editable,omitempty"`
}

// Requirements is a requirements file with everything it includes.
type Requirements struct {
	Files          []string // the top file first, then -r/-c includes in reading order
	Requirements   []Located
	IndexURL       string
	ExtraIndexURLs []string
	FindLinks      []string
	NoIndex        bool
	Pre            bool // --pre
	RequireHashes  bool // --require-hashes, or any --hash: pip's hash-checking mode
}

// ReadRequirements reads a pip requirements file from fsys, following -r and -c includes
// relative to the including file. Includes that leave fsys or name URLs are errors.
func ReadRequirements(fsys fs.FS, name string) (*Requirements, error) {
	r := &Requirements{}
	if err := r.read(fsys, path.Clean(name), false, map[string]bool{}); err != nil {
		return nil, err
	}
	return r, nil
}

// ParseRequirements parses one requirements file's content; includes are recorded in
// Files but not followed.
func ParseRequirements(name string, data []byte) (*Requirements, error) {
	r := &Requirements{}
	err := r.parse(nil, name, data, false, map[string]bool{name: true})
	return r, err
}

func (r *Requirements) read(fsys fs.FS, name string, constraint bool, seen map[string]bool) error {
	if seen[name] {
		return nil // pip reads a file included twice once; a cycle is not an error for pip either
	}
	seen[name] = true
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	return r.parse(fsys, name, data, constraint, seen)
}

var hashOpt = regexp.MustCompile(`\s--hash[= ]\s*(\S+)`)

func (r *Requirements) parse(fsys fs.FS, name string, data []byte, constraint bool, seen map[string]bool) error {
	r.Files = append(r.Files, name)
	if len(data) > 0 && !isText(data) {
		return &ParseError{File: name, Msg: "not a text file"}
	}
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		lineNo := i + 1
		line := lines[i]
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, "\\") + " " + lines[i]
		}
		line = stripComment(line)
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "-") {
			opt, arg := splitOption(line)
			switch opt {
			case "-r", "--requirement", "-c", "--constraint":
				if arg == "" {
					return &ParseError{File: name, Line: lineNo, Msg: opt + " needs a file name"}
				}
				if strings.Contains(arg, "://") {
					return &ParseError{File: name, Line: lineNo, Msg: "remote include " + arg + " is not supported; download it into the project"}
				}
				inc := path.Join(path.Dir(name), arg)
				if strings.HasPrefix(arg, "/") || inc == ".." || strings.HasPrefix(inc, "../") {
					return &ParseError{File: name, Line: lineNo, Msg: "include " + arg + " is outside the project"}
				}
				if fsys == nil {
					r.Files = append(r.Files, inc)
					continue
				}
				isC := constraint || opt == "-c" || opt == "--constraint"
				if err := r.read(fsys, inc, isC, seen); err != nil {
					if pe, ok := err.(*ParseError); ok {
						return pe
					}
					if errors.Is(err, fs.ErrNotExist) {
						return &ParseError{File: name, Line: lineNo, Msg: fmt.Sprintf("%s %s: file not found", opt, arg)}
					}
					// A symlink out of the project, a FIFO, a huge file: said without
					// quoting anything of the file itself.
					return &ParseError{File: name, Line: lineNo, Msg: fmt.Sprintf("%s %s: %s", opt, arg, readFailure(err))}
				}
			case "-i", "--index-url":
				r.IndexURL = arg
			case "--extra-index-url":
				r.ExtraIndexURLs = append(r.ExtraIndexURLs, arg)
			case "-f", "--find-links":
				r.FindLinks = append(r.FindLinks, arg)
			case "--no-index":
				r.NoIndex = true
			case "-e", "--editable":
				loc := Located{File: name, Line: lineNo, Editable: true, Constraint: constraint}
				loc.URL = arg
				loc.Name = eggName(arg)
				r.Requirements = append(r.Requirements, loc)
			case "--pre":
				r.Pre = true
			case "--require-hashes":
				r.RequireHashes = true
			case "--prefer-binary", "--only-binary", "--no-binary", "--trusted-host",
				"--use-feature", "--config-settings", "--global-option":
			default:
				return &ParseError{File: name, Line: lineNo, Msg: "unknown pip option " + opt}
			}
			continue
		}
		var hashes []string
		for _, m := range hashOpt.FindAllStringSubmatch(" "+line, -1) {
			hashes = append(hashes, m[1])
		}
		spec := strings.TrimSpace(hashOpt.ReplaceAllString(" "+line, ""))
		// Per-requirement options other than --hash (e.g. --config-settings) are dropped.
		if j := strings.Index(spec, " --"); j >= 0 {
			spec = strings.TrimSpace(spec[:j])
		}
		loc := Located{File: name, Line: lineNo, Hashes: hashes, Constraint: constraint}
		if len(hashes) > 0 {
			r.RequireHashes = true
		}
		if isPathOrURL(spec) {
			loc.URL = spec
			loc.Name = eggName(spec)
		} else {
			req, err := ParseRequirement(spec)
			if err != nil {
				return &ParseError{File: name, Line: lineNo, Msg: err.Error()}
			}
			loc.Requirement = req
		}
		r.Requirements = append(r.Requirements, loc)
	}
	return nil
}

// Names lists the normalised names of the requirements (not constraints), in order.
func (r *Requirements) Names() []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range r.Requirements {
		if l.Constraint || l.Name == "" || seen[l.Name] {
			continue
		}
		seen[l.Name] = true
		out = append(out, l.Name)
	}
	return out
}

func stripComment(line string) string {
	if strings.HasPrefix(strings.TrimSpace(line), "#") {
		return ""
	}
	for i := 1; i < len(line); i++ {
		if line[i] == '#' && (line[i-1] == ' ' || line[i-1] == '\t') {
			return line[:i]
		}
	}
	return line
}

func splitOption(line string) (string, string) {
	opt, arg, found := strings.Cut(line, "=")
	if sp := strings.IndexAny(line, " \t"); sp >= 0 && (!found || sp < len(opt)) {
		opt, arg = line[:sp], line[sp+1:]
	} else if !found {
		opt, arg = line, ""
	}
	// "-rrequirements.txt" is also valid pip syntax.
	if len(opt) > 2 && opt[0] == '-' && opt[1] != '-' {
		opt, arg = opt[:2], opt[2:]+arg
	}
	return opt, strings.TrimSpace(arg)
}

func isPathOrURL(s string) bool {
	return strings.Contains(s, "://") || strings.HasPrefix(s, ".") || strings.HasPrefix(s, "/") ||
		strings.HasPrefix(s, "git+") || strings.HasSuffix(s, ".whl") || strings.HasSuffix(s, ".tar.gz") || strings.HasSuffix(s, ".zip")
}

func eggName(spec string) string {
	if _, frag, ok := strings.Cut(spec, "#egg="); ok {
		return Normalize(strings.SplitN(frag, "&", 2)[0])
	}
	return ""
}

func isText(b []byte) bool {
	n := min(len(b), 8000)
	for _, c := range b[:n] {
		if c == 0 {
			return false
		}
	}
	return true
}

// readFailure says why an included file could not be read, in pyship's words: the
// error's text may carry a path the user did not write (the symlink's target).
func readFailure(err error) string {
	var pe *fs.PathError
	switch {
	// os.Root's "path escapes from parent" has no exported sentinel.
	case errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "escapes"):
		return "leaves the project (through a symlink); copy the file into the project"
	case errors.As(err, &pe):
		return "cannot be read: " + pe.Err.Error()
	default:
		return "cannot be read"
	}
}
