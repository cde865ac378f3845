package platform

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/pyship/pyship/internal/engine"
)

// Exec implements Runtime: a container of rel's image and settings, its secrets put in
// as a replica's are, removed by the engine when the command ends.
func (d *dockerRuntime) Exec(ctx context.Context, rel Release, o ExecOptions) (int, error) {
	spec := rel.Spec
	files, entrypoint, _, err := d.secretFiles(ctx, spec, rel.Secrets)
	if err != nil {
		return -1, err
	}
	cmd := o.Argv
	if entrypoint == nil {
		// The command replaces the image's entrypoint too, as docker run --entrypoint.
		entrypoint, cmd = o.Argv[:1], o.Argv[1:]
	}
	if _, err := d.engine.EnsureNetwork(ctx, NetworkName, map[string]string{"pyship.network": "1"}); err != nil {
		return -1, err
	}
	suffix := make([]byte, 4)
	rand.Read(suffix)
	return d.engine.RunOnce(ctx, engine.CreateOptions{
		Name:       fmt.Sprintf("pyship-exec-%s-%s", rel.Revision, hex.EncodeToString(suffix)),
		Image:      spec.Image,
		Entrypoint: entrypoint,
		Cmd:        cmd,
		Env:        rel.Env,
		Files:      files,
		Labels:     map[string]string{LabelState: d.stateID, LabelExec: rel.App, "pyship.exec.revision": rel.Revision},
		Network:    NetworkName,
		Restart:    "no",
		AutoRemove: true, // a pyship killed mid-command leaves nothing once it ends
	}, o.Stdin, o.Stdout, o.Stderr)
}
