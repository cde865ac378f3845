package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pyship/pyship/internal/azure"
	"github.com/pyship/pyship/internal/platform"
	"github.com/pyship/pyship/internal/store"
)

// keyVaultSecret is the digest an Azure app's secret is recorded with: its value is
// Key Vault's, never pyship's.
const keyVaultSecret = "key-vault"

// pullsFromRegistry says whether the target runs images from a registry, where deploy
// pushes what it builds (Kubernetes, Azure), rather than from the local engine.
func pullsFromRegistry(t store.Target) bool {
	return t.Kind == store.Kubernetes || store.IsAzure(t.Kind)
}

// azureDeployResult is what deploy --target aca|aci|appservice did (or, with
// --dry-run, would do), as text or JSON.
type azureDeployResult struct {
	App      string `json:"app"`
	Target   string `json:"target"`
	ID       string `json:"id"`
	Revision string `json:"revision"`
	Image    string `json:"image"`
	// Created: Azure had no such resource; Changed: the PUT changes what Azure has
	// (both false: nothing to do). Changes are the differences in what pyship sets.
	Created bool           `json:"created"`
	Changed bool           `json:"changed"`
	Applied bool           `json:"applied"`
	DryRun  bool           `json:"dry_run"`
	Changes []azure.Change `json:"changes"`
	URL     string         `json:"url,omitempty"`
	Seconds float64        `json:"seconds"`
}

// deployAzure creates or updates the app's resource in Azure through Resource
// Manager and records the app (its target, settings and the revision) once Azure has
// it: later deploys, logs, render and down act on the same resource. A dry run asks
// Azure what it has and says what the PUT would change; nothing is recorded.
func deployAzure(ctx context.Context, g *globals, p *platform.Platform, app *store.App, dryRun bool, stdout io.Writer) error {
	start := time.Now()
	in := azureDeployInput(app)
	// azure.Deploy makes and checks the document before it asks Azure anything, and
	// the app is recorded only once Azure took it: a setting Azure's schema refuses is
	// never recorded.
	if err := app.Validate(); err != nil {
		return usage(err)
	}
	rm, err := newResourceManager()
	if err != nil {
		return err
	}
	out, err := azure.Deploy(ctx, rm, in, azure.DeployOptions{DryRun: dryRun, Progress: p.Log})
	if out != nil && out.Applied {
		// Azure has the resource now, healthy or not: record it, so that logs show
		// why and down removes it.
		if rerr := recordAzure(p, app, in.App.Revision, out, err); rerr != nil {
			// Say both: a resource Azure has and pyship lost track of needs the user.
			err = errors.Join(err, fmt.Errorf("the resource %s is in Azure, but pyship could not record it (pyship down %s cannot remove it; delete it in the portal, or deploy again once the state directory is writable): %w", out.ID, app.Name, rerr))
		}
	}
	if err != nil {
		return interrupted(ctx, azureUsage(err))
	}
	res := azureDeployResult{App: app.Name, Target: app.Target.Kind, ID: out.ID, Revision: in.App.Revision, Image: app.ImageRef,
		Created: out.Created, Changed: out.Created || len(out.Changes) > 0, Applied: out.Applied, DryRun: dryRun,
		Changes: out.Changes, URL: out.URL, Seconds: time.Since(start).Seconds()}
	if out.Revision != "" {
		res.Revision = out.Revision
	}
	if g.json {
		return writeJSON(stdout, res)
	}
	switch {
	case dryRun && res.Created:
		fmt.Fprintf(stdout, "%s: would create %s (dry run: nothing was changed)\n", app.Name, out.ID)
	case dryRun && !res.Changed:
		fmt.Fprintf(stdout, "%s: no change; Azure has it as deployed (dry run: nothing was changed)\n", app.Name)
	case dryRun:
		fmt.Fprintf(stdout, "%s: would change %d setting(s) of %s (dry run: nothing was changed)\n", app.Name, len(res.Changes), out.ID)
	case !res.Changed:
		fmt.Fprintf(stdout, "%s: no change; Azure has it as deployed, serving at %s\n", app.Name, res.URL)
		return nil
	default:
		fmt.Fprintf(stdout, "%s: %s serving at %s (%.1fs)\n", app.Name, res.Revision, res.URL, res.Seconds)
		return nil
	}
	for _, c := range res.Changes {
		fmt.Fprintln(stdout, "  "+c.String())
	}
	return nil
}

// recordAzure records the app as Azure now has it: its settings, target and the
// revision deploy made (failed, with why, when Azure said it does not run;
// provisioning when the deploy stopped before Azure said).
func recordAzure(p *platform.Platform, app *store.App, revName string, out *azure.Outcome, deployErr error) error {
	_, spec := platform.RevisionOf(app)
	rev := store.Revision{Name: revName, Spec: spec, State: store.Ready, Created: time.Now().UTC()}
	var de *azure.DeployError
	switch {
	case errors.As(deployErr, &de):
		rev.State, rev.Reason = store.Failed, de.Msg
	case deployErr != nil:
		// Azure took the PUT, but the wait for it ended (Ctrl-C, a read that failed):
		// nobody knows yet whether it runs; pyship status asks Azure.
		rev.State, rev.Reason = store.Provisioning, "the deploy stopped waiting: "+deployErr.Error()
	}
	for i := range app.Revisions {
		if app.Revisions[i].State == store.Ready && rev.State == store.Ready && app.Revisions[i].Name != revName {
			app.Revisions[i].State = store.Retired
		}
	}
	if existing := app.Revision(revName); existing != nil {
		*existing = rev
	} else {
		app.Revisions = append(app.Revisions, rev)
	}
	if rev.State == store.Ready {
		app.Live = revName
	}
	if out.URL != "" {
		app.Target.URL = out.URL
	}
	return p.Store.Put(app)
}
