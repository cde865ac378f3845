package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/pyship/pyship/internal/kube"
	"github.com/pyship/pyship/internal/platform"
	"github.com/pyship/pyship/internal/store"
)

// dryRunResult is what deploy --dry-run found: the revision the settings make, whether
// it differs from what serves, and (Kubernetes) what the API server says applying it
// would change.
type dryRunResult struct {
	App      string        `json:"app"`
	Revision string        `json:"revision"`
	Changed  bool          `json:"changed"`
	Target   string        `json:"target"`
	Changes  []kube.Change `json:"changes"`
}

// dryRunDeploy shows what deploying app's settings would do; nothing is stored,
// started, pushed or applied.
func dryRunDeploy(ctx context.Context, g *globals, p *platform.Platform, app *store.App, stdout io.Writer) error {
	rel, changed, err := p.Preview(app)
	if err != nil {
		return err
	}
	res := dryRunResult{App: app.Name, Revision: rel.Revision, Changed: changed, Target: app.Target.String(), Changes: []kube.Change{}}
	if kr, ok := p.Runtime.(*kube.Runtime); ok {
		if res.Changes, err = kr.DryRun(ctx, rel, app.Host); err != nil {
			return err
		}
	}
	if g.json {
		return writeJSON(stdout, res)
	}
	if !changed {
		fmt.Fprintf(stdout, "%s: no change; %s keeps serving (dry run: nothing was changed)\n", app.Name, rel.Revision)
	} else {
		fmt.Fprintf(stdout, "%s: would deploy revision %s on %s (dry run: nothing was changed)\n", app.Name, rel.Revision, app.Target)
	}
	for _, c := range res.Changes {
		fmt.Fprintf(stdout, "%s %s: %s\n", c.Kind, c.Name, c.Action)
		if c.Diff != "" {
			fmt.Fprint(stdout, c.Diff)
		}
	}
	return nil
}
