package platform

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pyship/pyship/internal/engine"
	"github.com/pyship/pyship/internal/store"
)

// A revision's replicas get its secrets from a directory of their own under the state
// directory's run/ folder, bind-mounted read-only: the engine mounts it again at every
// start of a replica (a crash, an engine restart) with no pyship running, so the copy
// must live as long as any container of the revision exists — and not longer: a value
// left there outlives a rotation or a pyship down. collectSecrets removes the copies
// of revisions that have no container left.
//
// The directory is 0700 and the files 0400, both owned by the uid the image runs as:
// that uid alone reads them (root aside); the state directory above is 0700 too.

// secretDir is where a replica's secrets are mounted for secretScript; /run/secrets,
// the conventional place for secret files, gets them only on request (SecretFiles).
const secretDir = "/run/pyship/secrets"

// secretScript exports every file of secretDir as an environment variable, then execs
// the image's own command: the values reach the app by reference, and neither docker
// inspect nor the image shows them.
const secretScript = `for f in ` + secretDir + `/*; do [ -f "$f" ] && export "${f##*/}=$(cat "$f")"; done; exec "$@"`

func (p *Platform) runRoot() string          { return filepath.Join(p.Store.Dir, "run") }
func (p *Platform) runDir(rev string) string { return filepath.Join(p.runRoot(), rev) }

// secretFiles writes the revision's secrets into a directory of their own, readable
// only by the user the image runs as, and returns the bind mounts and the command
// override that turns them into environment variables.
func (p *Platform) secretFiles(ctx context.Context, app *store.App, rev string, spec store.Spec) (binds []string, entrypoint, cmd []string, err error) {
	return p.writeSecrets(ctx, rev, spec, func(k string) ([]byte, error) { return p.Store.Secret(app.Name, k) })
}

// writeSecrets is secretFiles with the values from value.
func (p *Platform) writeSecrets(ctx context.Context, rev string, spec store.Spec, value func(string) ([]byte, error)) (binds []string, entrypoint, cmd []string, err error) {
	if len(spec.Secrets) == 0 {
		return nil, nil, nil, nil
	}
	cfg, _, err := p.Engine.InspectImage(ctx, spec.Image)
	if err != nil {
		return nil, nil, nil, err
	}
	orig := append(append([]string{}, cfg.Entrypoint...), cfg.Cmd...)
	if len(spec.Cmd) > 0 {
		orig = append(append([]string{}, cfg.Entrypoint...), spec.Cmd...)
	}
	if len(orig) == 0 {
		return nil, nil, nil, fmt.Errorf("image %s has no command to start", shortImage(spec.Image))
	}
	uid, gid, err := p.imageUser(ctx, spec.Image, cfg.User)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := os.MkdirAll(p.runRoot(), 0o700); err != nil {
		return nil, nil, nil, err
	}
	dir := p.runDir(rev)
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, nil, nil, err
	}
	for _, k := range sortedKeys(spec.Secrets) {
		v, err := value(k)
		if err != nil {
			return nil, nil, nil, err
		}
		if err := writeOwned(dir, k, v, uid, gid); err != nil {
			return nil, nil, nil, err
		}
	}
	// The directory last: once it is the container user's, pyship (unless root) could
	// no longer write into it.
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, nil, nil, err
	}
	if err := chown(dir, uid, gid); err != nil {
		return nil, nil, nil, err
	}
	binds = []string{dir + ":" + secretDir + ":ro"}
	if spec.SecretFiles {
		binds = append(binds, dir+":/run/secrets:ro")
	}
	return binds, []string{"/bin/sh", "-c", secretScript, "pyship-secrets"}, orig, nil
}

// writeOwned writes dir/name as a 0400 file of uid:gid, replacing any earlier copy at
// once (a replica restarting meanwhile reads either the old or the new file, never a
// half-written one; both hold the revision's value).
func writeOwned(dir, name string, value []byte, uid, gid int) error {
	// Names also come from container labels (recover): one must not lead out of dir.
	if !store.ValidSecretName(name) {
		return store.ErrSecretName
	}
	tmp, err := os.CreateTemp(dir, "."+name+".tmp-*") // 0600
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(value)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o400)
	}
	if err == nil {
		err = chown(tmp.Name(), uid, gid)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, name))
	}
	return err
}

// OwnerError is a secret file pyship may not give to the image's user: only root can
// give a file away, and a 0400 file of another uid is what keeps the value from every
// other user of the machine.
type OwnerError struct {
	Path          string
	UID, PyshipID int
	Err           error
}

func (e *OwnerError) Error() string {
	return fmt.Sprintf("the secret files must belong to the user the image runs as (uid %d), and pyship, running as uid %d, may not give %s away (%v): run pyship as root, or run the image as uid %d (USER %d)", e.UID, e.PyshipID, e.Path, e.Err, e.PyshipID, e.PyshipID)
}

func (e *OwnerError) Unwrap() error { return e.Err }

func chown(path string, uid, gid int) error {
	err := os.Lchown(path, uid, gid)
	if err == nil {
		return nil
	}
	if uid == 0 && errors.Is(err, fs.ErrPermission) {
		// The image runs as root, which reads a file of pyship's user all the same.
		return nil
	}
	return &OwnerError{Path: path, UID: uid, PyshipID: os.Geteuid(), Err: err}
}

// collectSecrets removes the secret copies of app's revisions that no container uses
// any more — counting containers in every state: a stopped or exited replica can be
// started again (the engine's restart policy, an engine restart) and must find its
// files — and the never-started probe containers a killed command left. Called under
// the app's deploy lock, so no deploy of the app is between writing a revision's copy
// and creating its containers. When the engine cannot be asked, nothing is removed.
func (p *Platform) collectSecrets(ctx context.Context, app string) error {
	ents, err := os.ReadDir(p.runRoot())
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
	cs, err := p.replicas(ctx, app, "")
	if err != nil {
		return err
	}
	for _, rev := range orphanSecretDirs(app, dirs, cs) {
		if err := os.RemoveAll(p.runDir(rev)); err != nil {
			return fmt.Errorf("removing the secrets of revision %s: %w", rev, err)
		}
	}
	probes, err := p.Engine.List(ctx, LabelState+"="+p.StateID(), LabelProbe)
	if err != nil {
		return err
	}
	for _, c := range probes {
		if time.Since(c.Created) > time.Minute { // a younger one may be another command's, in use
			p.Engine.Remove(ctx, c.ID)
		}
	}
	return nil
}

// orphanSecretDirs picks, among the entries of run/, the revisions of app (APP--HASH;
// app names have no "--", so no other app's revisions match) that no container in cs
// belongs to.
func orphanSecretDirs(app string, dirs []string, cs []engine.Summary) []string {
	used := map[string]bool{}
	for _, c := range cs {
		used[c.Labels[LabelRevision]] = true
	}
	var out []string
	for _, d := range dirs {
		if strings.HasPrefix(d, app+"--") && !used[d] {
			out = append(out, d)
		}
	}
	return out
}
