package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/pyship/pyship/internal/build"
	"github.com/pyship/pyship/internal/kube"
	"github.com/pyship/pyship/internal/plan"
	"github.com/pyship/pyship/internal/platform"
	"github.com/pyship/pyship/internal/publish"
	"github.com/pyship/pyship/internal/store"
)

// targetFlags choose where deploy runs an app; later commands read it from the app.
type targetFlags struct {
	t store.Target
}

func (f *targetFlags) bind(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.t.Kind, "target", "", "where the app runs: `local` (the Docker engine, default), kubernetes, aca (Azure Container Apps), aci (Azure Container Instances), appservice (Azure App Service) or functions (Azure Functions)")
	cmd.Flags().StringVar(&f.t.Context, "context", "", "kubeconfig `CONTEXT` (default the current one); --target kubernetes")
	cmd.Flags().StringVarP(&f.t.Namespace, "namespace", "n", "", "Kubernetes `NAMESPACE` (default the context's, else default)")
	cmd.Flags().StringVar(&f.t.Registry, "registry", "", "registry `HOST[/PATH]` the cluster pulls from; pyship pushes the image there by digest")
	cmd.Flags().StringVar(&f.t.Kubeconfig, "kubeconfig", "", "kubeconfig `FILE` (default $KUBECONFIG, else ~/.kube/config)")
	fl := cmd.Flags()
	fl.StringVar(&f.t.Subscription, "subscription", "", "Azure subscription `ID` (default $AZURE_SUBSCRIPTION_ID); --target aca, aci, appservice")
	fl.StringVarP(&f.t.ResourceGroup, "resource-group", "g", "", "Azure resource group `NAME` the app's resource goes in (it must exist)")
	fl.StringVar(&f.t.Location, "location", "", "Azure `REGION` (westeurope, eastus, ...)")
	fl.StringVar(&f.t.Environment, "environment", "", "--target aca: the Container Apps environment's resource `ID` (az containerapp env show -n NAME -g RG --query id -o tsv)")
	fl.StringVar(&f.t.Plan, "plan", "", "--target appservice: the Linux App Service plan's resource `ID` (az appservice plan show -n NAME -g RG --query id -o tsv)")
	fl.StringVar(&f.t.Storage, "storage-account", "", "--target functions: the storage account `NAME` the Functions host keeps its state in (reached with the app's identity)")
	fl.StringVar(&f.t.KeyVault, "key-vault", "", "Azure Key Vault `URL` the app's secrets are read from (https://VAULT.vault.azure.net)")
	fl.StringVar(&f.t.Identity, "identity", "", "a user-assigned managed identity's resource `ID` the app pulls its image and reads Key Vault with (default its system-assigned one; aci needs one for ACR and Key Vault)")
}

// withConfig fills what the command line left out from the project's [deploy]
// settings (pyship.toml), when they are for the same target: a flag always wins, and
// --target naming another target ignores them.
func (f *targetFlags) withConfig(c plan.DeployConfig) {
	if c.File == "" || f.t.Kind != "" && f.t.Kind != c.Target {
		return
	}
	t := &f.t
	for _, v := range []struct {
		to   *string
		from string
	}{{&t.Kind, c.Target}, {&t.Registry, c.Registry}, {&t.Context, c.Context}, {&t.Namespace, c.Namespace},
		{&t.Subscription, c.Subscription}, {&t.ResourceGroup, c.ResourceGroup}, {&t.Location, c.Location},
		{&t.Environment, c.Environment}, {&t.Plan, c.Plan}, {&t.KeyVault, c.KeyVault}, {&t.Identity, c.Identity}, {&t.Storage, c.StorageAccount}} {
		if *v.to == "" {
			*v.to = v.from
		}
	}
}

// readDeployConfig reads the deploy settings of the project in dir, through an
// os.Root: a pyship.toml that links out of the project is not followed.
func readDeployConfig(dir string) (plan.DeployConfig, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return plan.DeployConfig{}, nil
		}
		return plan.DeployConfig{}, err
	}
	defer root.Close()
	c, err := plan.ReadDeployConfig(root.FS())
	if err != nil {
		return c, usage(err)
	}
	return c, nil
}

// target is the target the flags name, checked: "" and "local" are the local engine.
func (f *targetFlags) target() (store.Target, error) {
	t := f.t
	if t.Kind == "local" {
		t.Kind = store.Local
	}
	if err := store.ValidTarget(t); err != nil {
		return t, usage(err)
	}
	if t.Registry != "" && strings.Contains(t.Registry, "://") {
		return t, usagef("--registry %q: give HOST[:PORT][/PATH], without a scheme", t.Registry)
	}
	return t, nil
}

// deployTarget is where a deploy runs the app: the flags' target for a new app, the
// recorded one for an existing app (flags may repeat it, not change it: moving an app
// between clusters is down, then deploy).
func deployTarget(flags store.Target, existing *store.App) (store.Target, error) {
	if existing == nil || existing.Target.Kind == store.Local && len(existing.Revisions) == 0 {
		switch {
		case flags.Kind == store.Kubernetes:
			if flags.Registry == "" {
				return flags, usagef("--target kubernetes needs --registry HOST[/PATH]: the registry the cluster pulls from (ACR for AKS: NAME.azurecr.io)")
			}
			return resolveFlagTarget(flags)
		case store.IsAzure(flags.Kind):
			if flags.Registry == "" {
				return flags, usagef("--target %s needs --registry HOST[/PATH]: the registry Azure pulls the image from (an Azure Container Registry: NAME.azurecr.io)", flags.Kind)
			}
			if flags.Subscription == "" {
				flags.Subscription = os.Getenv("AZURE_SUBSCRIPTION_ID")
			}
			return flags, checkAzureTarget(flags)
		}
		return flags, nil
	}
	rec := existing.Target
	if flags.Kind == "" && flags == (store.Target{}) {
		return rec, nil
	}
	if store.IsAzure(rec.Kind) {
		return azureTargetOver(rec, flags, existing.Name)
	}
	same := flags.Kind == rec.Kind &&
		(flags.Context == "" || flags.Context == rec.Context) &&
		(flags.Namespace == "" || flags.Namespace == rec.Namespace) &&
		(flags.Registry == "" || flags.Registry == rec.Registry) &&
		(flags.Kubeconfig == "" || flags.Kubeconfig == rec.Kubeconfig)
	if !same {
		return rec, usagef("app %s runs on %s; pyship down %s first to deploy it elsewhere (or give it another --app name)", existing.Name, rec, existing.Name)
	}
	return rec, nil
}

// resolveFlagTarget is kube.Resolve for the target deploy's flags name: a --context
// the kubeconfig does not have, or none when it has no current one, is a usage error.
func resolveFlagTarget(flags store.Target) (store.Target, error) {
	t, err := kube.Resolve(flags)
	var ce *kube.ContextError
	if errors.As(err, &ce) && !ce.Current {
		return t, usage(err)
	}
	return t, err
}

// attachTarget points the platform at where the app runs.
func attachTarget(p *platform.Platform, t store.Target) error {
	if t.Kind != store.Kubernetes || p.Runtime != nil && p.Target == t {
		return nil
	}
	cs, cfg, err := kube.Connect(t)
	var ce *kube.ContextError
	if errors.As(err, &ce) {
		// Recorded at the first deploy, the context has left the kubeconfig since.
		return fmt.Errorf("the app runs on %s: %w", t, err)
	}
	if err != nil {
		return err
	}
	p.Runtime = &kube.Runtime{CS: cs, Config: cfg, Target: t, StateID: p.StateID(), ImageUser: kube.RegistryImageUser, Grace: int64(p.StopGrace)}
	p.Target = t
	return nil
}

// checkCluster connects to the target's cluster and asks it, before anything is
// built, pushed or recorded, whether it answers and lets the kubeconfig's user do all
// that a deploy does there.
func checkCluster(ctx context.Context, p *platform.Platform, t store.Target) error {
	if err := attachTarget(p, t); err != nil {
		return err
	}
	return p.Runtime.(*kube.Runtime).CheckAccess(ctx)
}

// registryRef is where a deploy pushes an app's image for the cluster to pull.
func registryRef(t store.Target, app, id string) string {
	return fmt.Sprintf("%s/%s:%s", strings.TrimSuffix(t.Registry, "/"), app, id)
}

// pinned is ref (REGISTRY/APP:ID) pinned to the digest the registry returned.
func pinned(ref, digest string) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", err
	}
	return r.Context().Digest(digest).String(), nil
}

// targetOf is where deploy runs app: see deployTarget.
func targetOf(p *platform.Platform, app string, flags store.Target) (store.Target, error) {
	if err := store.ValidName(app); err != nil {
		return flags, usage(err)
	}
	existing, err := p.Store.Get(app)
	if err != nil {
		existing = nil
	}
	return deployTarget(flags, existing)
}

// pushForCluster pushes an image deploy built to the target's registry and returns its
// digest-pinned reference: a pod never runs a moving tag. A dry run pushes nothing and
// pins the digest the registry would give (the manifest's own).
func pushForCluster(ctx context.Context, logf func(string, ...any), t store.Target, app string, bi *build.Image, dryRun bool) (string, error) {
	img, err := bi.V1(ctx)
	if err != nil {
		return "", err
	}
	id, _, _ := bi.ConfigDigest()
	tag := registryRef(t, app, short(id.String()))
	if dryRun {
		d, err := img.Digest()
		if err != nil {
			return "", err
		}
		return pinned(tag, d.String())
	}
	logf("pushing %s", tag)
	r, err := publish.Push(ctx, tag, img, nil, nil)
	if err != nil {
		return "", err
	}
	logf("pushed %s@%s (uploaded %d blobs, %s; the rest were already there)", tag, r.Digest, r.SentLayers, mb(r.SentBytes))
	return pinned(tag, r.Digest)
}

// knownUser answers the image user of ref from its config, and asks next for others.
func knownUser(ref, user string, next func(context.Context, string) (int64, int64, error)) func(context.Context, string) (int64, int64, error) {
	return func(ctx context.Context, r string) (int64, int64, error) {
		if r == ref {
			return kube.NumericUser(user)
		}
		if next == nil {
			return 0, 0, nil
		}
		return next(ctx, r)
	}
}
