package scaffold

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pyship/pyship/internal/plan"
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
		path := filepath.Join(dir, name)
		old, err := os.ReadFile(path)
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

// Write writes the files that Render marked create, overwrite or merge, each through a
// temporary file renamed into place, so an interrupted run leaves the old file whole.
func Write(dir string, files []File) error {
	for _, f := range files {
		if f.Action != "create" && f.Action != "overwrite" && f.Action != "merge" {
			continue
		}
		if err := writeAtomic(filepath.Join(dir, f.Name), []byte(f.Content)); err != nil {
			return fmt.Errorf("writing %s: %w", f.Name, err)
		}
	}
	return nil
}

func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".pyship-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
