package platform

import (
	"context"
	"fmt"
	"path"

	"github.com/pyship/pyship/internal/engine"
	"github.com/pyship/pyship/internal/store"
)

// A replica gets its secrets as files in its own filesystem: pyship creates the
// container, copies the files into it through the engine's archive API (the values in
// the request body only: never on a command line, in a label or in docker inspect),
// then starts it. The engine writes them with the owner and modes pyship asks for, so
// pyship needs no right to give a file away: a pyship that is not root (a user in the
// docker group) delivers them the same, owned by the image's uid.
//
// The files live in the container's writable layer, under the engine's data directory
// (root's alone), and go when the container is removed: pyship keeps no copy on the
// host, so there is nothing to collect after a rotation, a failed or killed deploy, or
// a down. The writable layer outlasts every restart — a crash under the restart
// policy, docker restart, an engine restart or a reboot — all of which the engine does
// with no pyship running. A tmpfs (HostConfig.Tmpfs) would keep the values off the
// disk, but it starts empty at every start, and pyship is not there to fill it again
// when the engine restarts a replica: the replica would come back without its secrets.
// (What the engine holds, anyone who may use the engine can read — docker cp, export,
// commit — as they can the process environment: access to the engine is root's.)
//
// The folder is 0500 and the files 0400, owned by the uid and gid the image runs as:
// that user alone reads them (root aside), and the app cannot add to the folder.

// secretDir is where a replica's secrets are for secretScript; /run/secrets, the
// conventional place for secret files, gets them too only on request (SecretFiles).
const secretDir = "/run/pyship/secrets"

// secretScript exports every file of secretDir as an environment variable, then execs
// the image's own command: the values reach the app by reference, and neither docker
// inspect nor the image shows them.
const secretScript = `for f in ` + secretDir + `/*; do [ -f "$f" ] && export "${f##*/}=$(cat "$f")"; done; exec "$@"`

// secretFiles returns the files that give a replica of spec the secret values, and the
// command override that turns them into environment variables.
func (d *dockerRuntime) secretFiles(ctx context.Context, spec store.Spec, values map[string][]byte) (files []engine.Entry, entrypoint, cmd []string, err error) {
	if len(spec.Secrets) == 0 {
		return nil, nil, nil, nil
	}
	cfg, _, err := d.engine.InspectImage(ctx, spec.Image)
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
	uid, gid, err := d.imageUser(ctx, spec.Image, cfg.User)
	if err != nil {
		return nil, nil, nil, err
	}
	files, err = secretEntries(values, spec.SecretFiles, uid, gid)
	if err != nil {
		return nil, nil, nil, err
	}
	return files, []string{"/bin/sh", "-c", secretScript, "pyship-secrets"}, orig, nil
}

// secretEntries lays out values under secretDir (and /run/secrets with alsoRunSecrets)
// as uid:gid's own.
func secretEntries(values map[string][]byte, alsoRunSecrets bool, uid, gid int) ([]engine.Entry, error) {
	dirs := []string{secretDir}
	if alsoRunSecrets {
		dirs = append(dirs, "/run/secrets")
	}
	// /run/pyship is pyship's own; /run itself is the image's and left as it is (the
	// engine makes a missing one 0755, root's).
	out := []engine.Entry{{Path: path.Dir(secretDir), Dir: true, Mode: 0o755}}
	for _, d := range dirs {
		out = append(out, engine.Entry{Path: d, Dir: true, Mode: 0o500, UID: uid, GID: gid})
		for _, k := range sortedKeys(values) {
			// A name becomes a path: one that is not a plain name must not lead out.
			if !store.ValidSecretName(k) {
				return nil, store.ErrSecretName
			}
			out = append(out, engine.Entry{Path: path.Join(d, k), Mode: 0o400, UID: uid, GID: gid, Data: values[k]})
		}
	}
	return out, nil
}
