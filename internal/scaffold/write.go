package scaffold

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pyship/pyship/internal/plan"
	"github.com/pyship/pyship/internal/projectfs"
)

// File is one container file pyship writes.
type File struct {
	Name    string `json:"name"`    // relative to the build context
	Content string `json:"content"` // what it will hold
	Action  string `json:"action"`  // "create", "overwrite", "merge", "unchanged" or "skip"
	Reason  string `json:"reason,omitempty"`
}

// ErrExists is returned when a file exists and force was not given.
var ErrExists = errors.New("exists")

// Render computes the files for a Plan in the context directory dir, reading what
// exists there (an existing .dockerignore is merged, never replaced).
func Render(dir string, p *plan.Plan, o Options, force bool) ([]File, error) {
	var files []File
	add := func(name, content string, merge bool) error {
		old, err := projectfs.ReadFile(dir, name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			files = append(files, File{Name: name, Content: content, Action: "create"})
			return nil
		case err != nil:
			return err
		}
		if merge {
			content = Dockerignore(string(old))
		}
		switch {
		case string(old) == content:
			files = append(files, File{Name: name, Content: content, Action: "unchanged"})
		case merge:
			files = append(files, File{Name: name, Content: content, Action: "merge", Reason: "the rules it lacked are appended"})
		case force:
			files = append(files, File{Name: name, Content: content, Action: "overwrite"})
		default:
			files = append(files, File{Name: name, Content: content, Action: "skip", Reason: "exists (use --force to overwrite)"})
		}
		return nil
	}
	if err := add("Dockerfile", Dockerfile(p, o), false); err != nil {
		return nil, err
	}
	if err := add(".dockerignore", Dockerignore(""), true); err != nil {
		return nil, err
	}
	if err := add("compose.yaml", Compose(p), false); err != nil {
		return nil, err
	}
	return files, nil
}

// Write writes the files that Render marked create, overwrite or merge. Every file is
// first written in full to a temporary name; only when all are written are they renamed
// into place, so a failure (disk full, permissions) changes nothing.
func Write(dir string, files []File) error {
	type pending struct{ tmp, dest string }
	var done []pending
	cleanup := func() {
		for _, p := range done {
			os.Remove(p.tmp)
		}
	}
	for _, f := range files {
		if f.Action != "create" && f.Action != "overwrite" && f.Action != "merge" {
			continue
		}
		dest := filepath.Join(dir, f.Name)
		tmp, err := writeTemp(dest, []byte(f.Content))
		if err != nil {
			cleanup()
			return fmt.Errorf("writing %s: %w", f.Name, err)
		}
		done = append(done, pending{tmp, dest})
	}
	for i, p := range done {
		if err := os.Rename(p.tmp, p.dest); err != nil {
			cleanup()
			return fmt.Errorf("writing %s (%d of %d files already in place): %w", p.dest, i, len(done), err)
		}
	}
	return nil
}

// writeTemp writes data, synced, to a new temporary file next to path.
func writeTemp(path string, data []byte) (string, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".pyship-*")
	if err != nil {
		return "", err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return tmp.Name(), nil
}
