package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/spf13/cobra"

	"github.com/pyship/pyship/internal/kube"
	"github.com/pyship/pyship/internal/platform"
	"github.com/pyship/pyship/internal/store"
)

type renderFlags struct {
	detect    detectFlags
	state     string
	target    string
	namespace string
	app       string
	image     string
	replicas  int
	autoscale autoscaleFlags
	host      string
	probe     string
	env       []string
	envFile   string
	out       string
	azure     azureFlags
	set       func(name string) bool
}

const renderLong = `render writes the objects pyship deploy --target kubernetes applies, as YAML, for a
GitOps tool (Argo CD, Flux, kubectl apply -f) to apply: the revision's Deployment
(named APP--HASH, the name deploy gives the same settings, with its readiness probe,
non-root securityContext, resources and preStop drain), its HorizontalPodAutoscaler
when --max-replicas exceeds --replicas, the app's Service selecting it, and an Ingress
for --host. The same inputs give the same bytes: keys are sorted, objects come in a
fixed order (Deployment, HorizontalPodAutoscaler, Service, Ingress), and nothing
depends on the time or the machine.

Inputs: the app's settings recorded in the state directory, if pyship deployed it
(env, secret names, replicas and autoscaling, probe, port, command, host, namespace),
else the defaults and DIR's Plan (its port); flags override them. The image is
--image, else the one the app's serving revision runs. It must be pinned by digest
(REGISTRY/REPO@sha256:...): pods never run a moving tag, so a tag is refused. render
reads the image's config from its registry (the image ID names the revision; its
numeric user is the pods' runAsUser), read-only, with your docker credentials.

With an autoscaler, the Deployment's replicas is the minimum, as deploy applies it:
have your GitOps tool ignore spec.replicas of autoscaled Deployments (Argo CD:
ignoreDifferences), or it will undo the autoscaler's changes.

Secrets: render never writes a value, and writes no Secret object (deploy's is
immutable: an empty one applied from Git could never be filled). The Deployment reads
the Secret named after the revision; render prints its name and keys, and the kubectl
command that creates it from files, on stderr (and under "secrets" with --json).
Each new revision reads a Secret of its own name.

Output: without -o, one YAML stream ("---" between documents) on stdout. With -o DIR
(created if absent), one file per object: deployment-APP--HASH.yaml, service-APP.yaml,
horizontalpodautoscaler-APP--HASH.yaml, ingress-APP.yaml. Each file begins with a
header line naming the app; a file without it is never replaced (render then writes
nothing), and files an earlier render of the same app wrote for objects it no longer
has (the previous revision's Deployment) are removed.

The objects carry the pyship.app and pyship.revision labels but not the state
directory's: they belong to the tool that applies them, and pyship down does not
delete them.

--target aca writes the app's Azure Container App (Microsoft.App/containerApps,
api-version 2026-01-01) instead: the YAML that az containerapp create/update --yaml
takes, on stdout; with -o DIR that YAML (containerapp-APP.yaml), an ARM template
holding the same resource (containerapp-APP.arm.json) and the same in Bicep
(containerapp-APP.bicep; every Azure target writes one with -o). It needs --location and
--environment (the Container Apps environment's resource ID). Ingress is external,
HTTPS only, to the Plan's port (targetPort); startup, readiness and liveness probes ask
--probe; replicas and --max-replicas become the scale rule (HTTP concurrency); a
traffic split of the app becomes multiple-revision mode with its weights; the revision
suffix is the hash deploy would give. Secrets are Key Vault references (--key-vault,
read by the app's managed identity, --identity or its system-assigned one), never
values; an image in an Azure Container Registry is pulled with the same identity. Each
document is checked against Azure's published API definition (unknown keys, read-only
properties, wrong types and stated limits are errors) before it is written.

--target aci writes the app's Azure Container Instances container group
(Microsoft.ContainerInstance/containerGroups 2026-05-01) as the YAML az container create
--file takes: a public IP with the app's name as DNS label on the Plan's port,
readiness and liveness probes, secrets as Key Vault secret references read with
--identity (a user-assigned identity: Container Instances take no other for Key Vault
or ACR). A container group has no replicas, autoscaling or revisions: those settings
are refused, not dropped.

--target appservice writes the app's Web App for Containers (Microsoft.Web/sites
2025-03-01) as an ARM template on stdout; with -o DIR the template (site-APP.arm.json)
and a script of the az webapp commands that make the same site (site-APP.sh). It needs
--plan (a Linux App Service plan's resource ID). The image by digest in linuxFxVersion,
WEBSITES_PORT set to the Plan's port, WEBSITES_ENABLE_APP_SERVICE_STORAGE=false, the
health check on --probe, HTTPS only, TLS 1.2, FTP off, settings as app settings and
secrets as @Microsoft.KeyVault(SecretUri=...) references, an ACR image pulled with the
site's managed identity. Autoscaling and traffic splits belong to the plan and to
deployment slots there, and are refused.

--target functions writes an Azure Functions app on a custom container (Microsoft.Web/sites
of kind functionapp, 2025-03-01) as an ARM template; with -o DIR the template
(functionapp-APP.arm.json) and the az functionapp commands (functionapp-APP.sh). It
needs --plan (a Linux Premium or Dedicated plan) and --storage-account, the account the
Functions host keeps its state in, reached with the app's system-assigned identity
(AzureWebJobsStorage__accountName: no connection string). The image is the one the
Dockerfile pyship init writes for a Functions project builds (Microsoft's Functions base
image), pushed and pinned by digest.`

func newRender(g *globals) *cobra.Command {
	f := &renderFlags{}
	cmd := &cobra.Command{
		Use:   "render [DIR]",
		Short: "Write what a target applies as byte-stable documents: Kubernetes objects, Azure resources",
		Long:  renderLong,
		Example: `  pyship render --target kubernetes --image registry.example/shop@sha256:4f1c... > shop.yaml
  pyship render --target kubernetes --app shop -o deploy/shop     # the app's serving image
  pyship render --target kubernetes ./api --app api -n prod --replicas 3 --env LOG_LEVEL=info \
      --image registry.example/api@sha256:9a0b... -o k8s/api
  pyship render --target kubernetes --app shop --max-replicas 10 --host shop.example.com -o deploy/shop
  pyship render --target kubernetes --app shop -o deploy/shop --json
  pyship render --target aca --app shop --location westeurope -o azure/shop \
      --environment /subscriptions/SUB/resourceGroups/rg/providers/Microsoft.App/managedEnvironments/prod \
      --key-vault https://shop-kv.vault.azure.net
  pyship render --target functions ./orders --image shopreg.azurecr.io/orders@sha256:... --location westeurope \
      --plan PLAN_ID --storage-account ordersstate -o azure/orders`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f.set = cmd.Flags().Changed
			return runRender(cmd.Context(), g, f, args, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f.detect.bind(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.target, "target", "", "what to render for: `kubernetes`, aca (Azure Container Apps), aci (Azure Container Instances), appservice (Azure App Service) or functions (Azure Functions)")
	fl.StringVarP(&f.namespace, "namespace", "n", "", "the objects' `NAMESPACE` (default the app's recorded one, else none: the applier's)")
	fl.StringVar(&f.app, "app", "", "app `NAME` (default the directory's name)")
	fl.StringVar(&f.image, "image", "", "the image `REF`, pinned by digest: REGISTRY/REPO@sha256:DIGEST (default the app's serving one)")
	fl.IntVar(&f.replicas, "replicas", 0, "replicas (default the app's count, else 1)")
	f.autoscale.bind(cmd)
	fl.StringVar(&f.host, "host", "", "public host `NAME` an Ingress routes to the app (default the app's; --host= none)")
	fl.StringVar(&f.probe, "probe", "", "HTTP `PATH` the readiness probe asks (default the app's, else /)")
	fl.StringArrayVarP(&f.env, "env", "e", nil, "set `KEY=VALUE` over the app's settings")
	fl.StringVar(&f.envFile, "env-file", "", "read settings from `FILE` (KEY=VALUE lines)")
	fl.StringVarP(&f.out, "output", "o", "", "write one file per object into `DIR` instead of a YAML stream on stdout")
	fl.StringVar(&f.state, "state-dir", "", "platform state `DIR` read for the app's settings (default $PYSHIP_STATE_DIR or ~/.local/share/pyship)")
	f.azure.bind(cmd)
	cmd.SetFlagErrorFunc(quietFlagErrors) // --env values
	return cmd
}

// inspectImage reads an image from its registry. The golden tests route a fixed
// registry name to their in-process registry, whose port changes every run: the name
// is in the image reference, hence in the revision's hash.
var inspectImage = kube.InspectImage

// renderResult is render's --json output.
type renderResult struct {
	App       string              `json:"app"`
	Revision  string              `json:"revision"`
	Namespace string              `json:"namespace,omitempty"`
	Image     string              `json:"image"`
	Objects   []renderedObject    `json:"objects"`
	Secrets   []kube.SecretNeeded `json:"secrets"`
	Removed   []string            `json:"removed"`
}

type renderedObject struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	// File and Action with -o; YAML (the document) without.
	File   string `json:"file,omitempty"`
	Action string `json:"action,omitempty"`
	YAML   string `json:"yaml,omitempty"`
}

// validate checks the command line before anything is read.
func (f *renderFlags) validate() error {
	switch f.target {
	case store.Kubernetes:
		for _, name := range []string{"location", "environment", "key-vault", "identity", "plan", "storage-account"} {
			if f.set(name) {
				return usagef("--%s is for the Azure targets (--target aca, aci, appservice or functions)", name)
			}
		}
	case targetACA, targetACI, targetAppService, targetFunctions:
		if err := f.azure.validate(f.target); err != nil {
			return err
		}
		for _, name := range []string{"namespace", "host"} {
			if f.set(name) {
				return usagef("--%s is for --target kubernetes", name)
			}
		}
	case "":
		return usagef("render needs --target: kubernetes, aca (Azure Container Apps), aci (Azure Container Instances), appservice (Azure App Service) or functions (Azure Functions)")
	default:
		return usagef("--target %q: render writes for kubernetes, aca (Azure Container Apps), aci (Azure Container Instances), appservice (Azure App Service) and functions (Azure Functions)", f.target)
	}
	if _, err := f.detect.options(); err != nil {
		return err
	}
	if f.set("replicas") {
		if err := store.ValidReplicas(f.replicas); err != nil {
			return usage(err)
		}
	}
	if f.set("probe") {
		if err := store.ValidProbe(f.probe); err != nil {
			return usage(err)
		}
	}
	if f.set("port") {
		if err := store.ValidPort(f.detect.port); err != nil {
			return usage(err)
		}
	}
	if err := store.ValidHost(f.host); err != nil {
		return usage(err)
	}
	if err := store.ValidTarget(store.Target{Kind: store.Kubernetes, Namespace: f.namespace}); err != nil {
		return usage(err)
	}
	if f.image != "" {
		if err := digestPinned("--image "+f.image, f.image); err != nil {
			return err
		}
	}
	if f.app != "" {
		return usage(store.ValidName(f.app))
	}
	return nil
}

// digestPinned refuses a reference that is not pinned by digest: a tag can move, and
// the pods of one revision must all run the same image.
func digestPinned(what, ref string) error {
	r, err := name.ParseReference(ref)
	if err != nil {
		return usagef("%s: %v", what, err)
	}
	if _, ok := r.(name.Digest); !ok {
		return usagef("%s is a tag, which can move to another image: pods must run an image pinned by digest; give REGISTRY/REPO@sha256:DIGEST (pyship deploy --target kubernetes and pyship build --push print it)", what)
	}
	return nil
}

// settle is the app as render makes documents of it: its record (or a first deploy's
// defaults), the flags over it, and its image read from the registry.
func (f *renderFlags) settle(ctx context.Context, g *globals, args []string, stderr io.Writer) (*store.App, kube.RegistryImage, error) {
	env, err := parseEnv(f.env, "--env", f.envFile)
	if err != nil {
		return nil, kube.RegistryImage{}, usage(err)
	}
	dir, err := g.projectDir(args)
	if err != nil {
		return nil, kube.RegistryImage{}, err
	}
	if f.app == "" {
		f.app = imageName(dir)
		if err := store.ValidName(f.app); err != nil {
			return nil, kube.RegistryImage{}, usage(fmt.Errorf("--app (default the directory's name): %w", err))
		}
	}
	app, recorded, err := f.recordedApp(stderr)
	if err != nil {
		return nil, kube.RegistryImage{}, err
	}
	// The image: --image, else the one the app's serving revision runs (the last one
	// a deploy pushed and switched to).
	ref := f.image
	if ref == "" {
		if live := app.Revision(app.Live); live != nil {
			ref = live.Spec.ImageRef
		} else {
			ref = app.ImageRef
		}
		switch {
		case !recorded:
			return nil, kube.RegistryImage{}, usagef("render needs --image REGISTRY/REPO@sha256:DIGEST: pyship has not deployed %s from this state directory, so no image is recorded for it", f.app)
		case ref == "" || digestPinned("", ref) != nil:
			return nil, kube.RegistryImage{}, usagef("render needs --image REGISTRY/REPO@sha256:DIGEST: %s's recorded image %q is not pinned by digest in a registry (deploy it with --target kubernetes, or give --image)", f.app, ref)
		}
	}
	ns := f.namespace
	if ns == "" && app.Target.Kind == store.Kubernetes {
		ns = app.Target.Namespace
	}
	if f.target != store.Kubernetes {
		ns = ""
	}
	// The port, as deploy settles it: --port, else the recorded app's, else the Plan's.
	if f.detect.port > 0 {
		app.Port = f.detect.port
	}
	if app.Port == 0 {
		p, err := f.detect.detect(dir)
		if err != nil {
			return nil, kube.RegistryImage{}, err
		}
		app.Port = p.Port
	}
	if f.replicas > 0 {
		app.Replicas = f.replicas
	}
	if f.probe != "" {
		app.Probe = f.probe
	}
	if f.set("host") {
		app.Host = f.host
	}
	// Autoscaling is checked as deploy checks it for a cluster: every render target
	// takes --max-replicas here (Container Apps scale on load; the Azure documents that
	// cannot scale refuse it with their own reason).
	app.Target = store.Target{Kind: store.Kubernetes, Namespace: ns}
	if err := f.autoscale.apply(app, f.set); err != nil {
		return nil, kube.RegistryImage{}, err
	}
	maps.Copy(app.Env, env)
	img, err := inspectImage(ctx, ref)
	if err != nil {
		return nil, kube.RegistryImage{}, interrupted(ctx, fmt.Errorf("reading the image %s from its registry: %w (render needs its config: the image ID names the revision, its user runs the pods)", ref, err))
	}
	app.Image, app.ImageRef = img.ID, img.Ref
	if err := app.Validate(); err != nil {
		return nil, kube.RegistryImage{}, usage(err)
	}
	return app, img, nil
}

func runRender(ctx context.Context, g *globals, f *renderFlags, args []string, stdout, stderr io.Writer) error {
	if err := f.validate(); err != nil {
		return err
	}
	app, img, err := f.settle(ctx, g, args, stderr)
	if err != nil {
		return err
	}
	switch f.target {
	case targetACA:
		return renderContainerApp(g, f, app, stdout)
	case targetACI:
		return renderContainerGroup(g, f, app, stdout)
	case targetAppService:
		return renderSite(g, f, app, stdout)
	case targetFunctions:
		return renderFunctionApp(g, f, app, stdout)
	}
	ns := app.Target.Namespace
	revName, spec := platform.RevisionOf(app)
	// Only the secrets' names: render never reads a value.
	names := map[string][]byte{}
	for k := range spec.Secrets {
		names[k] = nil
	}
	rel := platform.Release{App: app.Name, Revision: revName, Spec: spec, Env: platform.ReleaseEnv(spec), Secrets: names}
	r, err := kube.RenderRevision(rel, app.Host, kube.Options{Namespace: ns, UID: img.UID, GID: img.GID})
	if err != nil {
		return err
	}
	res := renderResult{App: r.App, Revision: r.Revision, Namespace: r.Namespace, Image: img.Ref,
		Objects: []renderedObject{}, Secrets: []kube.SecretNeeded{}, Removed: []string{}}
	if r.Secret != nil {
		res.Secrets = append(res.Secrets, *r.Secret)
		reportSecret(stderr, r.Secret)
	}
	if f.out == "" {
		for _, d := range r.Documents {
			res.Objects = append(res.Objects, renderedObject{Kind: d.Kind, Name: d.Name, YAML: string(d.YAML)})
		}
		if g.json {
			return writeJSON(stdout, res)
		}
		_, err := stdout.Write(r.Stream())
		return err
	}
	dr, err := r.WriteDir(f.out)
	if err != nil {
		return err
	}
	for _, w := range dr.Files {
		res.Objects = append(res.Objects, renderedObject{Kind: w.Kind, Name: w.Name, File: w.Path, Action: w.Action})
	}
	res.Removed = append(res.Removed, dr.Removed...)
	if g.json {
		return writeJSON(stdout, res)
	}
	for _, o := range res.Objects {
		fmt.Fprintf(stdout, "%-9s %s\n", o.Action, o.File)
	}
	for _, p := range res.Removed {
		fmt.Fprintf(stdout, "%-9s %s (an earlier revision's)\n", "removed", p)
	}
	return nil
}

// recordedApp is the app's record in the state directory (a copy render may change),
// or the settings a first deploy starts from when it has none. A state directory that
// does not exist is not created: render only reads it.
func (f *renderFlags) recordedApp(stderr io.Writer) (*store.App, bool, error) {
	fresh := &store.App{Name: f.app, Replicas: 1, Probe: "/", Env: map[string]string{}, Secrets: map[string]string{}}
	dir := firstNonEmpty(f.state, store.DefaultDir())
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return fresh, false, nil
	}
	st, err := store.Open(dir)
	if err != nil {
		return nil, false, err
	}
	defer st.Close()
	reportLoosened(stderr, st)
	a, err := st.Get(f.app)
	if errors.Is(err, store.ErrNoApp) {
		return fresh, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return a, true, nil
}

// reportSecret tells what render left out: the Secret the Deployment reads, which the
// user creates from files (never from values on a command line).
func reportSecret(stderr io.Writer, s *kube.SecretNeeded) {
	where := ""
	if s.Namespace != "" {
		where = " in namespace " + s.Namespace
	}
	fmt.Fprintf(stderr, "pyship: the Deployment reads %s from the Secret %s, which render does not write (secret values stay in pyship's state). Create it%s before the Deployment is applied, each value in a file:\n  %s\n",
		strings.Join(s.Keys, ", "), s.Name, where, s.Command())
}
