package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/pyship/pyship/internal/azure"
	"github.com/pyship/pyship/internal/platform"
	"github.com/pyship/pyship/internal/store"
)

// The app commands on an app that runs in Azure: Azure keeps its replicas and
// revisions, so these read and change them through Resource Manager rather than the
// revision state machine of the engine and clusters.

// azureResource is the Azure resource an app recorded on an Azure target is, and the
// Resource Manager client that reaches it.
func azureResource(app *store.App) (azure.Resource, *azure.ARM, error) {
	t := app.Target
	r, err := azure.Locate(t.Kind, azure.Place{Subscription: t.Subscription, ResourceGroup: t.ResourceGroup}, app.Name)
	if err != nil {
		return r, nil, err
	}
	rm, err := newResourceManager()
	return r, rm, err
}

// notOnAzure is the refusal of an app command Azure apps do not have (yet): what to
// do instead.
func notOnAzure(command string, app *store.App) error {
	return usagef("%s runs on %s: %s does not act on Azure apps; change it with pyship env set|unset, pyship scale or pyship deploy (--secret NAME for a Key Vault secret), see it with pyship status, revisions and logs, remove it with pyship down %s",
		app.Name, app.Target, command, app.Name)
}

// azureLogs prints an Azure app's console output from the service's log API, in the
// form pyship logs prints local lines.
func azureLogs(c *appCall, o platform.LogOptions) error {
	if o.Since != "" {
		return usagef("--since: Azure's log APIs take no start time; use --tail N")
	}
	r, rm, err := azureResource(c.app)
	if err != nil {
		return err
	}
	w := c.out()
	return interrupted(c.ctx, rm.Logs(c.ctx, c.app.Target.Kind, r, azure.LogOptions{Follow: o.Follow, Tail: o.Tail, Revision: o.Revision},
		func(l azure.LogLine) error {
			rev := l.Revision
			if rev == "" {
				rev = c.app.Live
			}
			_, err := fmt.Fprintln(w, o.Format(platform.LogLine{Time: l.Time, Revision: rev, Replica: l.Replica, Message: l.Message}))
			return err
		}))
}

// downAzure deletes an Azure app's resource through Resource Manager, then forgets
// the app. Its image stays in the registry (the registry's retention rules own it).
func downAzure(ctx context.Context, g *globals, p *platform.Platform, app *store.App, stdout io.Writer, confirmed func(what string) error) error {
	r, rm, err := azureResource(app)
	if err != nil {
		return err
	}
	if err := confirmed(fmt.Sprintf("%s %s in resource group %s (Azure deletes it and its revisions)", r.What, app.Name, app.Target.ResourceGroup)); err != nil {
		return err
	}
	if p.Log != nil {
		p.Log("deleting %s", r.ID)
	}
	existed, err := rm.Delete(ctx, r)
	if err != nil {
		return interrupted(ctx, err)
	}
	if err := p.Store.Delete(app.Name); err != nil {
		return err
	}
	res := struct {
		App       string `json:"app"`
		Existed   bool   `json:"existed"`
		Target    string `json:"target"`
		ID        string `json:"id"`
		Deleted   bool   `json:"deleted"`
		Revisions int    `json:"revisions"`
	}{app.Name, true, app.Target.Kind, r.ID, existed, len(app.Revisions)}
	if g.json {
		return writeJSON(stdout, res)
	}
	if !existed {
		fmt.Fprintf(stdout, "%s removed: Azure had no %s any more; pyship forgot it\n", app.Name, r.What)
		return nil
	}
	fmt.Fprintf(stdout, "%s removed: %s deleted from Azure, %d revision(s) forgotten\n", app.Name, r.What, len(app.Revisions))
	return nil
}

// azureStatus shows an Azure app as pyship recorded it and as Azure has it now.
func azureStatus(c *appCall, asJSON bool) error {
	r, rm, err := azureResource(c.app)
	if err != nil {
		return err
	}
	b, err := rm.Get(c.ctx, r.ID, r.APIVersion)
	if err != nil {
		return interrupted(c.ctx, err)
	}
	state := azure.StateOf(c.app.Target.Kind, b)
	type rev struct {
		Name  string `json:"name"`
		State string `json:"state"`
		Why   string `json:"reason,omitempty"`
	}
	revs := []rev{}
	for _, r := range c.app.Revisions {
		revs = append(revs, rev{r.Name, r.State, r.Reason})
	}
	image := c.app.ImageRef
	if live := c.app.Revision(c.app.Live); live != nil {
		image = live.Spec.ImageRef
	}
	if asJSON {
		return writeJSON(c.out(), map[string]any{"app": c.app.Name, "target": c.app.Target.String(), "id": r.ID, "live": c.app.Live,
			"url": c.app.Target.URL, "image": image, "exists": b != nil, "azure_state": state, "revisions": revs})
	}
	fmt.Fprintf(c.out(), "%s  %s  (%s)\nlive revision: %s\nimage: %s\n", c.app.Name, c.app.Target.URL, c.app.Target, c.app.Live, image)
	if b == nil {
		fmt.Fprintf(c.out(), "Azure has no %s any more (removed outside pyship): pyship deploy makes it again, pyship down forgets it\n", r.What)
	} else {
		fmt.Fprintf(c.out(), "Azure: %s\n", state)
	}
	for _, r := range revs {
		fmt.Fprintf(c.out(), "  %-28s %-9s %s\n", r.Name, r.State, r.Why)
	}
	return nil
}
