package platform

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pyship/pyship/internal/engine"
)

// Before secrets went into the replicas' own filesystems (secretfiles.go), pyship kept a
// copy of each revision's secrets on the host, under the state directory's run/ folder,
// and bind-mounted it into the revision's replicas. Such replicas may still run after
// an upgrade, and each start of one mounts its copy again: a copy goes only when no
// container of its revision is left (the next deploy retires them), and run/ goes with
// the last copy. Once run/ is gone this costs a failed ReadDir and nothing else.

func (d *dockerRuntime) legacySecretRoot() string { return filepath.Join(d.stateDir, "run") }

// LegacySecretsError is a copy an older pyship left that this one may not remove: a
// root pyship gave it to the image's uid, and this pyship is not root.
type LegacySecretsError struct {
	Path string
	Err  error
}

func (e *LegacySecretsError) Error() string {
	return fmt.Sprintf("%s holds secret values an older pyship copied there, and this pyship may not remove them (%v): remove the folder as root (sudo rm -r %s)", e.Path, e.Err, e.Path)
}

func (e *LegacySecretsError) Unwrap() error { return e.Err }

// removeLegacySecretCopies removes the copies under run/ of revisions that no container
// of this state directory uses any more, in any state (a stopped or exited replica can
// be started again and must find its copy), then run/ itself once empty. When the
// engine cannot be asked, nothing is removed.
func (d *dockerRuntime) removeLegacySecretCopies(ctx context.Context) error {
	root := d.legacySecretRoot()
	ents, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var dirs []string
	for _, e := range ents {
		dirs = append(dirs, e.Name())
	}
	cs, err := d.engine.List(ctx, LabelState+"="+d.stateID, LabelRevision)
	if err != nil {
		return err
	}
	left := len(dirs)
	for _, rev := range unusedSecretCopies(dirs, cs) {
		dir := filepath.Join(root, rev)
		if err := os.RemoveAll(dir); err != nil {
			return &LegacySecretsError{Path: dir, Err: err}
		}
		left--
	}
	if left == 0 {
		if err := os.Remove(root); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// unusedSecretCopies picks, among the entries of run/, those no container in cs
// belongs to (a revision's copy is named after the revision).
func unusedSecretCopies(dirs []string, cs []engine.Summary) []string {
	used := map[string]bool{}
	for _, c := range cs {
		used[c.Labels[LabelRevision]] = true
	}
	var out []string
	for _, d := range dirs {
		if !used[d] {
			out = append(out, d)
		}
	}
	return out
}
