package cli

import (
	"errors"
	"fmt"
	"sort"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/pyship/pyship/internal/azure"
	"github.com/pyship/pyship/internal/platform"
	"github.com/pyship/pyship/internal/store"
)

// checkAzureService refuses what an Azure service cannot be given a document
// without, and what belongs to another service: render and deploy share it.
func checkAzureService(t store.Target) error {
	kind := t.Kind
	needsPlan := kind == store.AppService || kind == store.Functions
	switch {
	case t.Location == "":
		return usagef("--target %s needs --location REGION (westeurope, eastus, ...)", kind)
	case kind == store.ContainerApps && t.Environment == "":
		return usagef("--target aca needs --environment ID, the Container Apps environment's resource ID (az containerapp env show -n NAME -g RG --query id -o tsv)")
	case kind != store.ContainerApps && t.Environment != "":
		return usagef("--environment is for --target aca: %s has no Container Apps environment", kind)
	case needsPlan && t.Plan == "":
		return usagef("--target %s needs --plan ID, the Linux App Service plan's resource ID (az appservice plan show -n NAME -g RG --query id -o tsv)", kind)
	case !needsPlan && t.Plan != "":
		return usagef("--plan is for --target appservice and functions")
	case kind == store.Functions && t.Storage == "":
		return usagef("--target functions needs --storage-account NAME, the storage account the Functions host keeps its state in")
	case kind != store.Functions && t.Storage != "":
		return usagef("--storage-account is for --target functions")
	}
	return nil
}

// checkAzureTarget checks a deploy's Azure target before anything is built: where
// the resource goes, and what its service needs.
func checkAzureTarget(t store.Target) error {
	if err := (azure.Place{Subscription: t.Subscription, ResourceGroup: t.ResourceGroup}).Check(); err != nil {
		return usage(err)
	}
	return checkAzureService(t)
}

// azureTargetOver is an Azure app's recorded target with what the flags change: the
// environment or plan, Key Vault and identity may change; the service, subscription,
// resource group, region and registry are where the app is (down, then deploy, to
// move it).
func azureTargetOver(rec, flags store.Target, app string) (store.Target, error) {
	same := func(flag, recorded string) bool { return flag == "" || flag == recorded }
	if !same(flags.Kind, rec.Kind) || !same(flags.Subscription, rec.Subscription) || !same(flags.ResourceGroup, rec.ResourceGroup) ||
		!same(flags.Location, rec.Location) || !same(flags.Registry, rec.Registry) || flags.Context != "" || flags.Namespace != "" || flags.Kubeconfig != "" {
		return rec, usagef("app %s runs on %s in %s; pyship down %s first to deploy it elsewhere (or give it another --app name)", app, rec, rec.Location, app)
	}
	t := rec
	for _, f := range []struct{ to, from *string }{{&t.Environment, &flags.Environment}, {&t.Plan, &flags.Plan}, {&t.Storage, &flags.Storage}, {&t.KeyVault, &flags.KeyVault}, {&t.Identity, &flags.Identity}} {
		if *f.from != "" {
			*f.to = *f.from
		}
	}
	return t, checkAzureTarget(t)
}

// azureAppInput is the app as an Azure document is made from it: its settings (the
// serving revision's, as the app's record has them), the secrets' names (their values
// are Key Vault's), and where in Azure t says it goes.
func azureAppInput(app *store.App, t store.Target) azure.AppInput {
	rev, spec := platform.RevisionOf(app)
	in := azure.AppInput{Name: app.Name, Revision: rev, Location: t.Location, Environment: t.Environment,
		Image: app.ImageRef, Port: app.Port, Probe: app.Probe, Env: map[string]string{},
		KeyVault: t.KeyVault, Identity: t.Identity, Replicas: app.Replicas, MaxReplicas: app.MaxReplicas}
	for k, v := range spec.Env {
		in.Env[k] = v
	}
	in.Env["PORT"] = fmt.Sprint(app.Port) // as every target runs it (platform.ReleaseEnv)
	for k := range spec.Secrets {
		in.Secrets = append(in.Secrets, k)
	}
	sort.Strings(in.Secrets)
	if len(app.Traffic) > 1 {
		in.Traffic = app.Traffic
	}
	return in
}

// azureDeployInput is what azure.Deploy makes of an app recorded on an Azure target.
func azureDeployInput(app *store.App) azure.DeployInput {
	t := app.Target
	return azure.DeployInput{Target: t.Kind, App: azureAppInput(app, t), Plan: t.Plan, Storage: t.Storage,
		Place: azure.Place{Subscription: t.Subscription, ResourceGroup: t.ResourceGroup}}
}

// newResourceManager is the Resource Manager client of the Azure commands, signed in
// with DefaultAzureCredential (environment, workload identity, managed identity, the
// Azure CLI). The tests point it at a local Resource Manager.
var newResourceManager = func() (*azure.ARM, error) {
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		return nil, fmt.Errorf("no Azure credential: %w (az login, or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET)", err)
	}
	return azure.NewARM(cred, nil)
}

// azureUsage makes an Azure input error a usage error (exit 2): the fix is in the
// command line.
func azureUsage(err error) error {
	var ie *azure.InputError
	if errors.As(err, &ie) {
		return usage(err)
	}
	return err
}
