package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pyship/pyship/internal/build"
	"github.com/pyship/pyship/internal/engine"
	"github.com/pyship/pyship/internal/gateway"
	"github.com/pyship/pyship/internal/kube"
	"github.com/pyship/pyship/internal/plan"
	"github.com/pyship/pyship/internal/platform"
	"github.com/pyship/pyship/internal/publish"
	"github.com/pyship/pyship/internal/store"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

type platformFlags struct {
	state   string
	gateway string
	admin   string
	wait    bool
}

func (f *platformFlags) bind(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.state, "state-dir", "", "platform state `DIR` (default $PYSHIP_STATE_DIR or ~/.local/share/pyship)")
	cmd.Flags().StringVar(&f.gateway, "gateway", "", "gateway address `HOST:PORT` (default $PYSHIP_GATEWAY or 127.0.0.1:8080)")
	cmd.Flags().StringVar(&f.admin, "gateway-admin", "", "gateway admin address (default the gateway port + 1)")
}

// open connects the platform: engine, store, gateway.
func (f *platformFlags) open(ctx context.Context, stderr io.Writer) (*platform.Platform, func(), error) {
	eng, err := dialEngine(ctx)
	if err != nil {
		return nil, nil, err
	}
	p, done, err := f.openStore(stderr)
	if err != nil {
		eng.Close()
		return nil, nil, err
	}
	p.Engine = eng
	return p, done, nil
}

// openStore opens the platform without the engine, for the commands on an app that
// may run elsewhere: an app on a Kubernetes cluster needs no Docker engine, and its
// commands must not fail because there is none. connectEngine adds it for an app on
// the local engine; the returned func closes both.
func (f *platformFlags) openStore(stderr io.Writer) (*platform.Platform, func(), error) {
	dir := f.state
	if dir == "" {
		dir = store.DefaultDir()
	}
	st, err := store.Open(dir)
	if err != nil {
		return nil, nil, err
	}
	reportLoosened(stderr, st)
	listen := firstNonEmpty(f.gateway, os.Getenv("PYSHIP_GATEWAY"), "127.0.0.1:8080")
	admin := f.admin
	if admin == "" {
		host, port, _ := strings.Cut(listen, ":")
		n, _ := strconv.Atoi(port)
		admin = fmt.Sprintf("%s:%d", host, n+1)
	}
	pr := newProgress(stderr)
	p := &platform.Platform{Store: st, Listen: listen, Admin: admin, Log: pr.logf}
	return p, func() {
		st.Close()
		if p.Engine != nil {
			p.Engine.Close()
		}
	}, nil
}

func dialEngine(ctx context.Context) (*engine.Client, error) {
	ectx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return engine.New(ectx)
}

// connectEngine gives p the engine, if it has none yet.
func connectEngine(ctx context.Context, p *platform.Platform) error {
	if p.Engine != nil {
		return nil
	}
	eng, err := dialEngine(ctx)
	if err != nil {
		return err
	}
	p.Engine = eng
	return nil
}

// engineFor connects the engine unless the app is recorded as running elsewhere (an
// app not recorded may still have replicas on the engine: they are looked for there).
func engineFor(ctx context.Context, p *platform.Platform, app string) error {
	if a, err := p.Store.Get(app); err == nil && a.Target.Kind != store.Local {
		return nil
	}
	return connectEngine(ctx, p)
}

// reportLoosened says, once (the next command finds nothing to fix), that the state
// directory was readable by other users and is private now.
func reportLoosened(stderr io.Writer, st *store.Store) {
	if len(st.Loosened) == 0 {
		return
	}
	first, more := st.Loosened[0], ""
	if n := len(st.Loosened) - 1; n > 0 {
		more = fmt.Sprintf("; and %d path(s) under it", n)
	}
	advice := ""
	if len(st.Loosened) > 1 {
		// Only a file under the directory could have given a value away: names in a
		// listable folder whose files were private did not.
		advice = " Secret values kept there may have been read: set them again with new values (pyship secret set)."
	}
	fmt.Fprintf(stderr, "pyship: %s was readable by other users (mode %04o%s); pyship made it private.%s\n", first.Path, first.Was, more, advice)
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func newGateway(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "gateway",
		Short: "pyship's ingress: start it, or show what it routes",
		Long: `The gateway routes NAME.localhost:PORT to the live replicas of each deployed app and
REVISION---NAME.localhost:PORT to one revision. It runs as a container of pyship's own
binary with restart policy "always", so it comes back after a crash or an engine restart,
and re-reads its routes from the state directory. pyship deploy starts it when needed.`,
		Example: `  pyship gateway start
  pyship gateway status --json
  pyship gateway stop`,
	}
	var pf platformFlags
	start := &cobra.Command{
		Use:   "start",
		Short: "Start (or update) the gateway container",
		Example: `  pyship gateway start
  pyship gateway start --gateway 127.0.0.1:9080 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, done, err := pf.open(cmd.Context(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer done()
			if err := p.EnsureGateway(cmd.Context()); err != nil {
				return err
			}
			if g.json {
				return writeJSON(cmd.OutOrStdout(), map[string]any{"gateway": p.GatewayName(), "url": "http://" + p.Listen, "admin": p.Admin})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "gateway on http://%s (container %s)\n", p.Listen, p.GatewayName())
			return nil
		},
	}
	pf.bind(start)
	var stf platformFlags
	stop := &cobra.Command{
		Use:   "stop",
		Short: "Stop and remove the gateway container (deploy starts it again)",
		Long: `stop removes this state directory's gateway container. Apps keep running, but nothing
routes NAME.localhost to them until the gateway is started again (pyship gateway start,
or any deploy). Stopping a gateway that is not running is not an error.`,
		Example: `  pyship gateway stop
  pyship gateway stop --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, done, err := stf.open(cmd.Context(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer done()
			was, err := p.StopGateway(cmd.Context())
			if err != nil {
				return err
			}
			if g.json {
				return writeJSON(cmd.OutOrStdout(), map[string]any{"gateway": p.GatewayName(), "was_running": was})
			}
			if !was {
				fmt.Fprintln(cmd.OutOrStdout(), "the gateway is not running")
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "gateway %s stopped and removed\n", p.GatewayName())
			return nil
		},
	}
	stf.bind(stop)
	var sf platformFlags
	status := &cobra.Command{
		Use:   "status",
		Short: "Show the routing table version and in-flight requests",
		Example: `  pyship gateway status
  pyship gateway status --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, done, err := sf.open(cmd.Context(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer done()
			s, err := gateway.Query(cmd.Context(), p.Admin)
			if err != nil {
				return fmt.Errorf("the gateway does not answer on %s (pyship gateway start): %v", p.Admin, err)
			}
			if g.json {
				return writeJSON(cmd.OutOrStdout(), gatewayStatusJSON(s))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "routes version %d\n", s.Version)
			for _, a := range sortedKeysOf(s.Inflight) {
				fmt.Fprintf(cmd.OutOrStdout(), "  %s  %d in flight\n", a, s.Inflight[a])
			}
			return nil
		},
	}
	sf.bind(status)
	var routes, listen, admin string
	serve := &cobra.Command{
		Use:     "serve",
		Short:   "Run the gateway in the foreground (what the gateway container runs)",
		Hidden:  true,
		Example: `  pyship gateway serve --routes /state/routes.json --listen 127.0.0.1:8080 --admin 127.0.0.1:8081`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			return gateway.Serve(ctx, routes, listen, admin, cmd.OutOrStdout())
		},
	}
	serve.Flags().StringVar(&routes, "routes", "routes.json", "routes `FILE`")
	serve.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "proxy `ADDR`")
	serve.Flags().StringVar(&admin, "admin", "127.0.0.1:8081", "admin `ADDR`")
	cmd.AddCommand(start, stop, status, serve)
	return cmd
}

// gatewayStatusJSON is the gateway's status with names as values, not keys: JSON keys
// stay snake_case field names (addresses and app names are data).
func gatewayStatusJSON(s *gateway.Status) any {
	type inflight struct {
		Address  string `json:"address"`
		Requests int64  `json:"requests"`
	}
	type revision struct {
		Revision string   `json:"revision"`
		Percent  int      `json:"percent"`
		Replicas []string `json:"replicas"`
	}
	type app struct {
		App       string     `json:"app"`
		Revisions []revision `json:"revisions"`
	}
	out := struct {
		Version  int64      `json:"version"`
		Inflight []inflight `json:"inflight"`
		Apps     []app      `json:"apps"`
		StateDir string     `json:"state_dir,omitempty"`
	}{Version: s.Version, Inflight: []inflight{}, Apps: []app{}, StateDir: s.StateDir}
	for _, a := range sortedKeysOf(s.Inflight) {
		out.Inflight = append(out.Inflight, inflight{a, s.Inflight[a]})
	}
	if s.Routes != nil {
		for _, name := range sortedKeysOf(s.Routes.Apps) {
			ar := s.Routes.Apps[name]
			a := app{App: name, Revisions: []revision{}}
			for _, rev := range sortedKeysOf(ar.Revisions) {
				reps := ar.Revisions[rev]
				if reps == nil {
					reps = []string{}
				}
				a.Revisions = append(a.Revisions, revision{rev, ar.Weights[rev], reps})
			}
			out.Apps = append(out.Apps, a)
		}
	}
	return out
}

func sortedKeysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

type deployFlags struct {
	build     buildFlags
	pf        platformFlags
	tf        targetFlags
	app       string
	image     string
	replicas  int
	autoscale autoscaleFlags
	host      string
	dryRun    bool
	probe     string
	env       []string
	envFile   string
	// vaultSecrets are secrets an Azure app reads from --key-vault, by name.
	vaultSecrets []string
	set          func(name string) bool // whether a flag was given (--replicas 0 is not "unset")
}

func newDeploy(g *globals) *cobra.Command {
	f := &deployFlags{}
	cmd := &cobra.Command{
		Use:   "deploy [DIR]",
		Short: "Deploy the project as a new, health-gated revision: locally behind pyship's gateway, on Kubernetes or on Azure",
		Long: `deploy builds the project (or takes --image), creates an immutable revision — image,
command, env, secret references with their value digests, port, probe, replicas — starts
its replicas on loopback, waits until each answers its HTTP probe, switches the gateway to
it, then drains and stops the previous revision. No request fails during the switch. A
revision that never becomes healthy gets no traffic: the previous one keeps serving and
deploy exits 1 with the failed revision's diagnosis and logs.

The app answers at http://NAME.localhost:8080/ (the gateway port is --gateway).

--target kubernetes deploys to a cluster instead (docs/kubernetes.md). --target aca,
aci, appservice or functions deploys to Azure through Resource Manager with your Azure
credential (az login, a service principal's AZURE_CLIENT_ID/SECRET/TENANT_ID, workload
or managed identity): the image is pushed to --registry by digest, the same document
pyship render writes is checked against Azure's schema, then created or updated in
--resource-group of --subscription (default $AZURE_SUBSCRIPTION_ID). A Container App's
new revision is waited for until Azure reports it healthy (the previous one serves until
then); deploy prints the URL Azure gave. An app whose resource Azure already has as
deployed is not sent again. --dry-run asks Azure what it has and lists what would
change. Secrets are Key Vault references (--secret NAME with --key-vault), never values.
Later deploys, env set/unset, scale, status, revisions, logs and down act on the
recorded resource.`,
		Example: `  pyship deploy --app shop
  pyship deploy ./api --app api --replicas 2 --env LOG_LEVEL=info
  pyship deploy --app shop --image shop:1.4 --port 8000
  pyship deploy --app shop --target aca --registry shopreg.azurecr.io -g shop-rg --location westeurope \
      --environment "$(az containerapp env show -n prod -g shop-rg --query id -o tsv)"
  pyship deploy --app shop --target appservice --registry shopreg.azurecr.io -g shop-rg --location westeurope \
      --plan "$(az appservice plan show -n linux -g shop-rg --query id -o tsv)" --dry-run
  pyship deploy ./func --app orders --target functions --image shopreg.azurecr.io/orders@sha256:... \
      --registry shopreg.azurecr.io -g shop-rg --location westeurope --plan PLAN_ID --storage-account ordersstate`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f.set = cmd.Flags().Changed
			return runDeploy(cmd.Context(), g, f, args, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f.build.bindIndex(cmd)
	f.pf.bind(cmd)
	f.tf.bind(cmd)
	cmd.Flags().StringVar(&f.app, "app", "", "app `NAME` (default the directory's name)")
	cmd.Flags().StringVar(&f.image, "image", "", "deploy this image `REF` from the engine instead of building")
	cmd.Flags().IntVar(&f.replicas, "replicas", 0, "replicas (default 1, or the app's current count)")
	f.autoscale.bind(cmd)
	cmd.Flags().BoolVar(&f.dryRun, "dry-run", false, "build, then show what would change (Kubernetes: the API server's server-side dry run, as a diff) without pushing or changing anything")
	cmd.Flags().StringVar(&f.host, "host", "", "public host `NAME` routed to the app by an Ingress (--target kubernetes; --host= removes it)")
	cmd.Flags().StringVar(&f.probe, "probe", "", "HTTP `PATH` that must answer (below 500) before traffic switches (default /)")
	cmd.Flags().StringArrayVarP(&f.env, "env", "e", nil, "set `KEY=VALUE` in the app's settings")
	cmd.Flags().StringVar(&f.envFile, "env-file", "", "read settings from `FILE` (KEY=VALUE lines)")
	cmd.Flags().StringArrayVar(&f.vaultSecrets, "secret", nil, "Azure targets: the app reads secret `NAME` (an environment variable) from --key-vault, where it is the secret name in lower case with dashes (API_KEY: api-key); repeat for more")
	cmd.Flags().BoolVar(&f.pf.wait, "wait", true, "wait for another deploy of the app to finish instead of failing")
	cmd.SetFlagErrorFunc(quietFlagErrors) // --env values
	return cmd
}

// validate checks the settings deploy was given, before a build or an engine call.
func (f *deployFlags) validate() error {
	// The detection flags (--python, --framework, --settings-module) too.
	if _, err := f.build.detect.options(); err != nil {
		return err
	}
	if f.set("replicas") {
		if err := store.ValidReplicas(f.replicas); err != nil {
			return err
		}
	}
	if f.set("probe") {
		if err := store.ValidProbe(f.probe); err != nil {
			return err
		}
	}
	if f.set("port") {
		if err := store.ValidPort(f.build.detect.port); err != nil {
			return err
		}
	}
	if err := store.ValidHost(f.host); err != nil {
		return err
	}
	if f.app != "" {
		return store.ValidName(f.app)
	}
	return nil
}

func runDeploy(ctx context.Context, g *globals, f *deployFlags, args []string, stdout, stderr io.Writer) error {
	// Bad settings fail before a build or an engine call.
	if err := f.validate(); err != nil {
		return usage(err)
	}
	if dir, err := g.projectDir(args); err == nil {
		cfg, err := readDeployConfig(dir)
		if err != nil {
			return err
		}
		f.tf.withConfig(cfg)
	}
	flagTarget, err := f.tf.target()
	if err != nil {
		return err
	}
	env, err := parseEnv(f.env, "--env", f.envFile)
	if err != nil {
		return usage(err)
	}
	if len(f.vaultSecrets) > 0 && !store.IsAzure(flagTarget.Kind) {
		return usagef("--secret names a Key Vault secret of an Azure app (--target aca, aci or appservice); elsewhere: pyship secret set NAME KEY")
	}
	for _, s := range f.vaultSecrets {
		if !store.ValidSecretName(s) {
			return usage(fmt.Errorf("--secret: %w", store.ErrSecretName))
		}
	}
	if flagTarget.Kind == store.Kubernetes && f.app != "" {
		// A kubeconfig that names no usable cluster fails before the build.
		if _, err := resolveFlagTarget(flagTarget); err != nil {
			return err
		}
	}
	// The engine is connected once the target is known: a deploy to a cluster needs
	// none (it builds without one and pushes to the cluster's registry).
	p, done, err := f.pf.openStore(stderr)
	if err != nil {
		return err
	}
	defer done()
	var dir string
	var port int
	var tgt store.Target
	var builtUser string // the user of the image deploy built (pods run as it)
	image, ref := "", f.image
	if f.image == "" {
		o, _, err := f.build.options(ctx, g, args, p.Log)
		if err != nil {
			return err
		}
		dir, port = o.Dir, o.Plan.Port
		if f.app == "" {
			f.app = imageName(dir)
		}
		if err := store.ValidName(f.app); err != nil {
			return usage(fmt.Errorf("--app (default the directory's name): %w", err))
		}
		preflight(p.Log, o.Plan, deployAdvice(f.app), func(name string) bool {
			if _, ok := env[name]; ok {
				return true
			}
			a, err := p.Store.Get(f.app)
			if err != nil {
				return false
			}
			_, inEnv := a.Env[name]
			_, inSecrets := a.Secrets[name]
			return inEnv || inSecrets
		})
		// Labelled as this state directory's build for the app: down finds it even when
		// the revision that ran it was lost with the state file.
		if o.Labels == nil {
			o.Labels = map[string]string{}
		}
		o.Labels[platform.LabelBuildState], o.Labels[platform.LabelBuildApp] = p.StateID(), f.app
		if tgt, err = targetOf(p, f.app, flagTarget); err != nil {
			return err
		}
		if tgt.Kind == store.Kubernetes {
			if err := checkCluster(ctx, p, tgt); err != nil {
				return err
			}
			// The build uses the engine's images when there is one (a base image
			// pulled there), and does without.
			_ = connectEngine(ctx, p)
		} else if store.IsAzure(tgt.Kind) {
			_ = connectEngine(ctx, p)
		} else if err := connectEngine(ctx, p); err != nil {
			return err
		}
		o.Engine = p.Engine
		res, err := build.Build(ctx, o)
		if err != nil {
			return interrupted(ctx, err)
		}
		id, _, _ := res.Images[0].ConfigDigest()
		if pullsFromRegistry(tgt) {
			if ref, err = pushForCluster(ctx, p.Log, tgt, f.app, res.Images[0], f.dryRun); err != nil {
				return interrupted(ctx, err)
			}
			builtUser = res.Images[0].Config.Config.User
		} else {
			ref = "pyship/" + f.app + ":" + short(id.String())
			if !f.dryRun {
				if _, err := publish.Engine(ctx, p.Engine, res.Images[0], ref, p.Log); err != nil {
					return interrupted(ctx, err)
				}
			}
		}
		image = id.String()
	} else if f.app == "" {
		return usagef("--app NAME is required with --image")
	} else if tgt, err = targetOf(p, f.app, flagTarget); err != nil {
		return err
	} else if pullsFromRegistry(tgt) {
		if tgt.Kind == store.Kubernetes {
			if err := checkCluster(ctx, p, tgt); err != nil {
				return err
			}
		}
		// The cluster (or Azure) pulls the image from a registry: --image names it there, and
		// the revision runs it by digest.
		if ref, image, err = kube.ResolveImage(ctx, f.image); err != nil {
			return err
		}
	} else if err := connectEngine(ctx, p); err != nil {
		return err
	} else {
		info, found, err := p.Engine.Image(ctx, f.image)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("the engine has no image %s", f.image)
		}
		image = info.ID
	}
	lock, err := p.Store.LockApp(f.app, f.pf.wait)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	if err := attachTarget(p, tgt); err != nil {
		return err
	}
	if kr, ok := p.Runtime.(*kube.Runtime); ok && builtUser != "" {
		// The image was just built: its user is known without asking the registry
		// (which a dry run has not pushed to).
		kr.ImageUser = knownUser(ref, builtUser, kr.ImageUser)
	}
	var app *store.App
	if store.IsAzure(tgt.Kind) {
		// Azure is the record of an Azure app's replicas: none to recover here.
		app, err = p.Store.Get(f.app)
	} else {
		app, err = p.App(ctx, f.app)
	}
	if errors.Is(err, store.ErrNoApp) {
		app = &store.App{Name: f.app, Replicas: 1, Probe: "/", Env: map[string]string{}, Secrets: map[string]string{}, Created: time.Now().UTC(), Port: port, Target: tgt}
	} else if err != nil {
		return err
	}
	app.Target = tgt
	app.Image, app.ImageRef = image, ref
	if f.build.detect.port > 0 {
		app.Port = f.build.detect.port
	}
	if app.Port == 0 && app.Target.Kind == store.Functions {
		app.Port = plan.FunctionsPort // the Functions host's, in Microsoft's base image
	}
	if app.Port == 0 {
		return errors.New("--port: the port the image's app listens on (the Plan gives it when pyship builds)")
	}
	if f.replicas > 0 {
		app.Replicas = f.replicas
	}
	if err := f.autoscale.apply(app, f.set); err != nil {
		return err
	}
	for _, name := range f.vaultSecrets {
		if _, ok := app.Env[name]; ok {
			return usagef("--secret %s: %s is a setting of the app (pyship deploy -e); a name is a setting or a secret, not both", name, name)
		}
		app.Secrets[name] = keyVaultSecret
	}
	if f.set("host") {
		if f.host != "" && app.Target.Kind != store.Kubernetes {
			return usagef("--host makes an Ingress on Kubernetes (--target kubernetes); on the local engine the app answers at %s", p.URL(app.Name))
		}
		app.Host = f.host
	}
	if f.probe != "" {
		app.Probe = f.probe
	}
	for k, v := range env {
		app.Env[k] = v
	}
	if store.IsAzure(app.Target.Kind) {
		return deployAzure(ctx, g, p, app, f.dryRun, stdout)
	}
	if f.dryRun {
		return dryRunDeploy(ctx, g, p, app, stdout)
	}
	return deployAndReport(ctx, g, p, app, stdout)
}

func deployAndReport(ctx context.Context, g *globals, p *platform.Platform, app *store.App, stdout io.Writer) error {
	if err := p.EnsureGateway(ctx); err != nil {
		return err
	}
	if err := p.Store.Put(app); err != nil {
		return err
	}
	start := time.Now()
	rev, changed, err := p.Deploy(ctx, app)
	if err != nil {
		return interrupted(ctx, err)
	}
	if !changed && app.Target.Kind == store.Kubernetes {
		// Routing outside the revision (the Ingress of --host) may have changed: the
		// apply is idempotent.
		if err := p.PublishRoutes(ctx); err != nil {
			return err
		}
	}
	if g.json {
		return writeJSON(stdout, map[string]any{"app": app.Name, "revision": rev.Name, "changed": changed, "url": p.URL(app.Name), "seconds": time.Since(start).Seconds()})
	}
	if !changed {
		fmt.Fprintf(stdout, "%s: no change; %s keeps serving at %s\n", app.Name, rev.Name, p.URL(app.Name))
		return nil
	}
	fmt.Fprintf(stdout, "%s: revision %s serving at %s (%.1fs)\n", app.Name, rev.Name, p.URL(app.Name), time.Since(start).Seconds())
	return nil
}

// appCommand is the shape of the commands that act on one deployed app: the app is
// their first argument, NAME, as in kubectl (pyship logs NAME, pyship env set NAME
// KEY=VALUE). --app NAME is accepted in its place (hidden): env and secret took it
// before, and scripts use it.
type appCommand struct {
	use, short, long, example string
	args                      cobra.PositionalArgs // checks the arguments after NAME
	flags                     func(*cobra.Command)
	run                       func(c *appCall) error
	// validate checks the arguments against the app's record (what its target
	// allows) before anything reaches where it runs: a refusal there is a usage error,
	// and must not wait on, or be hidden by, a cluster that does not answer.
	validate func(app *store.App, args []string) error
	// locks: the command changes the app, so it takes the deploy lock (and --wait).
	locks bool
	// azure runs the command on an app that runs in Azure (nil: refused, with what to
	// do instead).
	azure func(c *appCall) error
	// g is the command line's globals (--json), for runs that are functions of their own.
	g *globals
	// unrecorded makes an app the state directory does not have from the command's
	// flags (logs --target aca -g RG NAME: an app deployed without pyship); nil when
	// they name none. azure then runs on it.
	unrecorded func(name string) *store.App
}

// appCall is one run of an appCommand: the app, read and settled, and the arguments
// after its name.
type appCall struct {
	ctx  context.Context
	g    *globals
	p    *platform.Platform
	app  *store.App
	args []string
	cmd  *cobra.Command
}

func (c *appCall) out() io.Writer { return c.cmd.OutOrStdout() }

func (a appCommand) command() *cobra.Command {
	var pf platformFlags
	var appFlag string
	split := func(args []string) (string, []string) {
		if appFlag != "" {
			return appFlag, args
		}
		if len(args) == 0 {
			return "", nil
		}
		return args[0], args[1:]
	}
	cmd := &cobra.Command{Use: a.use, Short: a.short, Long: a.long, Example: a.example,
		Args: func(cmd *cobra.Command, args []string) error {
			name, rest := split(args)
			if name == "" {
				return usagef("%s needs the app's NAME (pyship ls lists them)", cmd.CommandPath())
			}
			if err := store.ValidName(name); err != nil {
				return usage(err)
			}
			if a.args != nil {
				return usage(a.args(cmd, rest))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			name, rest := split(args)
			p, done, err := pf.openStore(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer done()
			rec, recErr := p.Store.Get(name)
			if errors.Is(recErr, store.ErrNoApp) && a.unrecorded != nil {
				// An app pyship did not deploy, which the flags say where to find.
				if app := a.unrecorded(name); app != nil {
					return a.azure(&appCall{ctx: cmd.Context(), g: a.g, p: p, app: app, args: rest, cmd: cmd})
				}
			}
			if recErr == nil && store.IsAzure(rec.Target.Kind) {
				if a.azure == nil {
					return notOnAzure(cmd.CommandPath(), rec)
				}
				if a.locks {
					// A change is a deploy to Azure: one at a time, on the record as it
					// is once the lock is held.
					l, err := p.Store.LockApp(name, pf.wait)
					if err != nil {
						return err
					}
					defer l.Unlock()
					if rec, err = p.Store.Get(name); err != nil {
						return err
					}
				}
				return a.azure(&appCall{ctx: cmd.Context(), g: a.g, p: p, app: rec, args: rest, cmd: cmd})
			}
			if a.validate != nil {
				if rec, err := p.Store.Get(name); err == nil {
					if err := a.validate(rec, rest); err != nil {
						return err
					}
				}
			}
			app, release, err := settleApp(cmd.Context(), p, name, a.locks, pf.wait)
			if err != nil {
				return err
			}
			defer release()
			return a.run(&appCall{ctx: cmd.Context(), g: a.g, p: p, app: app, args: rest, cmd: cmd})
		}}
	pf.bind(cmd)
	cmd.Flags().StringVar(&appFlag, "app", "", "the app `NAME` (instead of the first argument)")
	_ = cmd.Flags().MarkHidden("app")
	if a.locks {
		cmd.Flags().BoolVar(&pf.wait, "wait", true, "wait for another deploy of the app to finish instead of failing")
	}
	if a.flags != nil {
		a.flags(cmd)
	}
	return cmd
}

// settleApp readies the app named name on p as every app command does before it acts,
// and returns it with the func that ends the command's hold on it: the engine if the
// app runs there, the app's deploy lock (kept until release when locks, waiting for
// another deploy if wait), its record (recovered from the runtime if the state lost
// it), its target attached, and what a killed command left reconciled. The dashboard's
// actions go through it too, so a page's rollback is the CLI's.
func settleApp(ctx context.Context, p *platform.Platform, name string, locks, wait bool) (*store.App, func(), error) {
	if err := engineFor(ctx, p, name); err != nil {
		return nil, nil, err
	}
	var l *store.Lock
	var err error
	if locks {
		if l, err = p.Store.LockApp(name, wait); err != nil {
			return nil, nil, err
		}
	} else if l, err = p.Store.LockApp(name, false); err != nil {
		l = nil // a deploy is running: read-only commands show its state as is
	}
	unlock := func() {
		if l != nil {
			l.Unlock()
			l = nil
		}
	}
	app, err := p.App(ctx, name)
	if err == nil {
		// The app's commands act where it runs (its cluster, if it was deployed with
		// --target kubernetes).
		err = attachTarget(p, app.Target)
	}
	if err != nil {
		unlock()
		return nil, nil, err
	}
	if l != nil {
		// A command killed mid-deploy left replicas or a half-made revision: settle
		// them first, so what follows sees a consistent state.
		if err := p.Reconcile(ctx, app); err != nil {
			unlock()
			return nil, nil, err
		}
		if !locks {
			unlock()
		}
	}
	return app, unlock, nil
}

func newEnv(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "env", Short: "Set, unset and list an app's settings (each change is a new, health-gated revision)",
		Example: `  pyship env set shop LOG_LEVEL=debug FEATURE_X=1
  pyship env unset shop FEATURE_X
  pyship env list shop`}
	cmd.SetFlagErrorFunc(quietFlagErrors)
	cmd.AddCommand(
		appCommand{use: "set NAME KEY=VALUE...", short: "Set settings and roll out a revision",
			example: "  pyship env set shop LOG_LEVEL=debug FEATURE_X=1\n  pyship env set shop DATABASE_URL=postgres://db/shop --json",
			args:    envPairArgs, locks: true, run: envSet, azure: envSet, g: g}.command(),
		appCommand{use: "unset NAME KEY...", short: "Remove settings and roll out a revision",
			example: "  pyship env unset shop FEATURE_X\n  pyship env unset shop FEATURE_X LOG_LEVEL --json",
			args:    envNameArgs, locks: true, run: envUnset, azure: envUnset, g: g}.command(),
		appCommand{use: "list NAME", short: "List settings",
			example: "  pyship env list shop\n  pyship env list shop --json",
			args:    cobra.NoArgs, run: envList, azure: envList, g: g}.command(),
	)
	return cmd
}

// envSet, envUnset and envList are pyship env's: the same on every target, a change
// rolled out as a new revision (rollOut).
func envSet(c *appCall) error {
	env, err := parseEnv(c.args, "argument", "")
	if err != nil {
		return err
	}
	for k, v := range env {
		if _, secret := c.app.Secrets[k]; secret {
			return fmt.Errorf("%s is a secret of %s; use pyship secret set", k, c.app.Name)
		}
		c.app.Env[k] = v
	}
	return rollOut(c)
}

func envUnset(c *appCall) error {
	for i, k := range c.args {
		if _, ok := c.app.Env[k]; !ok {
			// Not quoted: only what pyship recorded is (see envinput.go).
			return fmt.Errorf("%s has no setting by the name in argument %d (pyship env list %s lists them)", c.app.Name, i+1, c.app.Name)
		}
		delete(c.app.Env, k)
	}
	return rollOut(c)
}

func envList(c *appCall) error {
	if c.g.json {
		type setting struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		}
		rows := []setting{}
		for _, k := range sortedKeysOf(c.app.Env) {
			rows = append(rows, setting{k, c.app.Env[k]})
		}
		return writeJSON(c.out(), rows)
	}
	for _, k := range sortedKeysOf(c.app.Env) {
		fmt.Fprintf(c.out(), "%s=%s\n", k, c.app.Env[k])
	}
	return nil
}

// rollOut deploys the app's changed settings where it runs: a health-gated revision
// on the engine or a cluster, the resource updated through Resource Manager on Azure.
func rollOut(c *appCall) error {
	if store.IsAzure(c.app.Target.Kind) {
		return deployAzure(c.ctx, c.g, c.p, c.app, false, c.out())
	}
	return deployAndReport(c.ctx, c.g, c.p, c.app, c.out())
}

func newSecret(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "secret", Short: "Set, remove and list an app's secrets (values from stdin or a file, never argv)",
		Long: `Secret values are read from standard input or --file, never from the command line (it
would land in shell history and ps). They are stored outside the project in 0600 files
under the state directory, reach the app as environment variables by reference (and,
after "secret files on", also as files under /run/secrets), and are never printed: list
shows a digest keyed with the state directory's own random key (it tells a changed value
from an unchanged one, and nothing about the value). Each change is a new revision,
rolled out through the same health-gated switch, so it can be rolled back.`,
		Example: `  printf %s "$DB_PASSWORD" | pyship secret set shop DB_PASSWORD
  pyship secret set shop API_KEY --file ./api-key.txt
  pyship secret list shop
  pyship secret remove shop API_KEY`}
	cmd.SetFlagErrorFunc(quietFlagErrors)
	var file string
	cmd.AddCommand(
		appCommand{use: "set NAME SECRET", short: "Set a secret from stdin or --file and roll out a revision",
			example: "  printf %s \"$DB_PASSWORD\" | pyship secret set shop DB_PASSWORD\n  pyship secret set shop API_KEY -f ./api-key.txt\n  pyship secret set shop API_KEY          # on a terminal: asks, input hidden",
			args:    secretNameArg, locks: true,
			flags: func(c *cobra.Command) { c.Flags().StringVarP(&file, "file", "f", "", "read the value from `FILE`") },
			run: func(c *appCall) error {
				name := c.args[0]
				var value []byte
				var err error
				if file != "" {
					value, err = os.ReadFile(file)
				} else {
					in := c.cmd.InOrStdin()
					if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
						fmt.Fprintf(c.cmd.ErrOrStderr(), "value for %s (input hidden): ", name)
						value, err = term.ReadPassword(int(f.Fd()))
						fmt.Fprintln(c.cmd.ErrOrStderr())
					} else {
						value, err = io.ReadAll(bufio.NewReader(in))
					}
				}
				if err != nil {
					return err
				}
				value = []byte(strings.TrimRight(string(value), "\r\n"))
				if len(value) == 0 {
					return usagef("empty secret value")
				}
				if _, plain := c.app.Env[name]; plain {
					return fmt.Errorf("%s is a plain setting of %s; pyship env unset it first", name, c.app.Name)
				}
				digest, err := c.p.Store.SetSecret(c.app.Name, name, value)
				if err != nil {
					return err
				}
				c.app.Secrets[name] = digest
				return deployAndReport(c.ctx, g, c.p, c.app, c.out())
			}}.command(),
		appCommand{use: "remove NAME SECRET", short: "Remove a secret and roll out a revision",
			example: "  pyship secret remove shop API_KEY\n  pyship secret remove shop API_KEY --json",
			args:    secretNameArg, locks: true,
			run: func(c *appCall) error {
				if _, ok := c.app.Secrets[c.args[0]]; !ok {
					return fmt.Errorf("%s has no secret by that name (pyship secret list %s lists them)", c.app.Name, c.app.Name)
				}
				delete(c.app.Secrets, c.args[0])
				if err := deployAndReport(c.ctx, g, c.p, c.app, c.out()); err != nil {
					return err
				}
				return c.p.Store.RemoveSecret(c.app.Name, c.args[0])
			}}.command(),
		appCommand{use: "list NAME", short: "List secrets (names and value digests, never values)",
			example: "  pyship secret list shop\n  pyship secret list shop --json",
			args:    cobra.NoArgs,
			run: func(c *appCall) error {
				type secretRow struct {
					Name string `json:"name"`
					// Digest is keyed (store.Digest): it tells a changed value from an
					// unchanged one, and nothing about the value to anyone without the
					// state directory's key. Empty when the value was lost.
					Digest string `json:"digest"`
				}
				rows := []secretRow{}
				for _, k := range sortedKeysOf(c.app.Secrets) {
					keyed, ok := strings.CutPrefix(c.app.Secrets[k], store.DigestPrefix)
					if !ok || len(keyed) < 12 {
						rows = append(rows, secretRow{Name: k})
						continue
					}
					rows = append(rows, secretRow{k, store.DigestPrefix + keyed[:12]})
				}
				if g.json {
					return writeJSON(c.out(), map[string]any{"secrets": rows, "as_files": c.app.SecretFiles})
				}
				for _, r := range rows {
					if r.Digest == "" {
						fmt.Fprintf(c.out(), "%s=(value lost with the state; set it again)\n", r.Name)
						continue
					}
					fmt.Fprintf(c.out(), "%s=******** (%s…)\n", r.Name, r.Digest)
				}
				if c.app.SecretFiles {
					fmt.Fprintln(c.cmd.ErrOrStderr(), "(also as files under /run/secrets)")
				}
				return nil
			}}.command(),
		appCommand{use: "files NAME on|off", short: "Also give the app its secrets as files under /run/secrets (or stop)",
			long: `With "on", every secret is also a file /run/secrets/NAME (0400, owned by the
image's user) beside its environment variable, for libraries that read a path
(Docker secrets, *_FILE settings). It is a new revision, like every change.`,
			example: "  pyship secret files shop on\n  pyship secret files shop off --json",
			args: func(cmd *cobra.Command, args []string) error {
				if len(args) != 1 || args[0] != "on" && args[0] != "off" {
					return usagef("%s: say on or off", cmd.CommandPath())
				}
				return nil
			},
			locks: true,
			run: func(c *appCall) error {
				c.app.SecretFiles = c.args[0] == "on"
				return deployAndReport(c.ctx, g, c.p, c.app, c.out())
			}}.command(),
	)
	return cmd
}

func newRevisions(g *globals) *cobra.Command {
	cmd := appCommand{use: "revisions NAME", short: "List an app's revisions",
		example: "  pyship revisions shop\n  pyship revisions shop --json",
		args:    cobra.NoArgs,
		run: func(c *appCall) error {
			type row struct {
				Name     string    `json:"name"`
				State    string    `json:"state"`
				Traffic  int       `json:"traffic"`
				Image    string    `json:"image"`
				ImageRef string    `json:"image_ref,omitempty"`
				Replicas int       `json:"replicas"`
				Created  time.Time `json:"created"`
				Reason   string    `json:"reason,omitempty"`
			}
			rows := []row{}
			weights := c.app.Weights()
			for _, r := range c.app.Revisions {
				rows = append(rows, row{r.Name, r.State, weights[r.Name], shortID(r.Spec.Image), r.Spec.ImageRef, r.Spec.Replicas, r.Created, r.Reason})
			}
			if g.json {
				return writeJSON(c.out(), rows)
			}
			for _, r := range rows {
				fmt.Fprintf(c.out(), "%-28s %-9s %3d%%  image %s  %d replica(s)  %s  %s\n", r.Name, r.State, r.Traffic, r.Image, r.Replicas, r.Created.Format(time.RFC3339), firstLine(r.Reason))
			}
			return nil
		}}
	cmd.azure = cmd.run // the record's history: the same on every target
	return cmd.command()
}

func shortID(id string) string {
	_, h, ok := strings.Cut(id, ":")
	if ok && len(h) > 12 {
		return h[:12]
	}
	return id
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func newRollback(g *globals) *cobra.Command {
	return appCommand{use: "rollback NAME [REVISION]", short: "Roll back to an earlier revision (default: the one before), health-gated",
		long: `rollback makes REVISION (default: the one before the live one) the app's revision
again: its spec becomes the app's settings, its replicas start and pass their probe, and
traffic switches to them, as for any change.`,
		example: "  pyship rollback shop\n  pyship rollback shop shop--3f2a9c1d\n  pyship rollback shop --json",
		args:    cobra.MaximumNArgs(1), locks: true,
		run: func(c *appCall) error {
			to := ""
			if len(c.args) > 0 {
				to = c.args[0]
			}
			if err := c.p.EnsureGateway(c.ctx); err != nil {
				return err
			}
			r, err := c.p.Rollback(c.ctx, c.app, to)
			if err != nil {
				return err
			}
			if g.json {
				return writeJSON(c.out(), map[string]any{"app": c.app.Name, "revision": r.Name, "url": c.p.URL(c.app.Name)})
			}
			fmt.Fprintf(c.out(), "%s: revision %s serving at %s\n", c.app.Name, r.Name, c.p.URL(c.app.Name))
			return nil
		}}.command()
}

func newScale(g *globals) *cobra.Command {
	var n int
	var as autoscaleFlags
	var set func(string) bool
	cmd := appCommand{use: "scale NAME --replicas COUNT", short: "Change the number of replicas (a new, health-gated revision)",
		example: "  pyship scale shop --replicas 3\n  pyship scale shop --replicas 1 --json\n  pyship scale shop --replicas 2 --max-replicas 10 --cpu-percent 60   # Kubernetes: autoscaled",
		args: func(cmd *cobra.Command, args []string) error {
			if err := cobra.NoArgs(cmd, args); err != nil {
				return err
			}
			// Checked here rather than with MarkFlagRequired, whose error is not typed
			// (every usage error exits 2). scale NAME alone once scaled to 1.
			if !cmd.Flags().Changed("replicas") {
				return usagef("%s needs --replicas COUNT (1-%d)", cmd.CommandPath(), store.MaxReplicas)
			}
			return store.ValidReplicas(n)
		},
		flags: func(c *cobra.Command) {
			c.Flags().IntVar(&n, "replicas", 0, fmt.Sprintf("replica `COUNT` (1-%d; required; with --max-replicas, the minimum)", store.MaxReplicas))
			as.bind(c)
			set = c.Flags().Changed
		},
		locks: true, g: g,
		run: func(c *appCall) error {
			c.app.Replicas = n
			if err := as.apply(c.app, set); err != nil {
				return err
			}
			return rollOut(c)
		}}
	cmd.azure = cmd.run
	return cmd.command()
}

// trafficRow is one revision's share of an app's traffic, for text and JSON alike (a
// map printed with %v showed Go's map[...] syntax).
type trafficRow struct {
	Revision string `json:"revision"`
	Percent  int    `json:"percent"`
}

func trafficRows(t map[string]int) []trafficRow {
	rows := []trafficRow{}
	for _, rev := range sortedKeysOf(t) {
		rows = append(rows, trafficRow{rev, t[rev]})
	}
	return rows
}

func formatTraffic(rows []trafficRow) string {
	parts := make([]string, len(rows))
	for i, r := range rows {
		parts[i] = fmt.Sprintf("%s %d%%", r.Revision, r.Percent)
	}
	return strings.Join(parts, ", ")
}

// parseWeights reads REVISION=PERCENT arguments.
func parseWeights(args []string) (map[string]int, error) {
	w := map[string]int{}
	for i, a := range args {
		rev, pct, ok := strings.Cut(a, "=")
		n, err := strconv.Atoi(strings.TrimSuffix(pct, "%"))
		if !ok || rev == "" || err != nil {
			return nil, usagef("argument %d: expected REVISION=PERCENT", i+1)
		}
		if n < 0 || n > 100 {
			return nil, usagef("argument %d: the percent is %d; use 0-100", i+1, n)
		}
		if _, dup := w[rev]; dup {
			return nil, usagef("argument %d: revision %s is given twice", i+1, rev)
		}
		w[rev] = n
	}
	return w, nil
}

func newTraffic(g *globals) *cobra.Command {
	return appCommand{use: "traffic NAME REVISION=PERCENT...", short: "Split traffic between revisions (locally sticky per client; on Kubernetes a ratio of pods)",
		example: "  pyship traffic shop shop--3f2a9c1d=90 shop--77aa01b2=10\n  pyship traffic shop shop--77aa01b2=100 --json",
		args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("%s takes REVISION=PERCENT arguments (pyship revisions NAME lists the revisions)", cmd.CommandPath())
			}
			_, err := parseWeights(args)
			return err
		},
		validate: func(app *store.App, args []string) error {
			_, err := parseWeights(args)
			return err
		},
		locks: true,
		run: func(c *appCall) error {
			w, err := parseWeights(c.args)
			if err != nil {
				return err
			}
			if err := c.p.EnsureGateway(c.ctx); err != nil {
				return err
			}
			if err := c.p.SetTraffic(c.ctx, c.app, w); err != nil {
				return err
			}
			rows := trafficRows(c.app.Traffic)
			if g.json {
				return writeJSON(c.out(), map[string]any{"app": c.app.Name, "traffic": rows, "url": c.p.URL(c.app.Name)})
			}
			fmt.Fprintf(c.out(), "%s: traffic %s\n", c.app.Name, formatTraffic(rows))
			if c.app.Target.Kind == store.Kubernetes && len(rows) > 1 {
				// Not what the local gateway does: say so where the user looks.
				fmt.Fprintf(c.out(), "  a split on Kubernetes is a ratio of pods behind the Service, each connection to one of them (pyship status %s lists them)\n", c.app.Name)
			}
			return nil
		}}.command()
}

func newLs(g *globals) *cobra.Command {
	var pf platformFlags
	cmd := &cobra.Command{Use: "ls", Short: "List deployed apps", Args: cobra.NoArgs,
		Example: "  pyship ls\n  pyship ls --json\n  pyship ls --state-dir ./state",
		RunE: func(cmd *cobra.Command, args []string) error {
			p, done, err := pf.openStore(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer done()
			apps, err := p.Store.List()
			if err != nil {
				return err
			}
			if err := connectEngine(cmd.Context(), p); err != nil {
				// Apps that all run on clusters are listed without Docker; an engine
				// that does not answer hides only the local replicas the state lost.
				if len(apps) == 0 || slices.ContainsFunc(apps, func(a *store.App) bool { return a.Target.Kind == store.Local }) {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "pyship: listing the apps recorded here only: %v\n", err)
			} else if err := p.RecoverAll(cmd.Context()); err != nil {
				return err
			} else if apps, err = p.Store.List(); err != nil {
				return err
			}
			if g.json {
				type row struct {
					Name     string `json:"name"`
					Live     string `json:"live"`
					URL      string `json:"url"`
					Replicas int    `json:"replicas"`
					Target   string `json:"target"`
				}
				rows := []row{}
				for _, a := range apps {
					rows = append(rows, row{a.Name, a.Live, p.URLFor(a.Name, a.Target), a.Replicas, a.Target.String()})
				}
				return writeJSON(cmd.OutOrStdout(), rows)
			}
			for _, a := range apps {
				fmt.Fprintf(cmd.OutOrStdout(), "%-20s %-28s %s  %s\n", a.Name, a.Live, p.URLFor(a.Name, a.Target), a.Target)
			}
			return nil
		}}
	pf.bind(cmd)
	return cmd
}

func newStatus(g *globals) *cobra.Command {
	return appCommand{use: "status NAME", short: "Show an app: revision, replicas and their state, URL",
		example: "  pyship status shop\n  pyship status shop --json",
		args:    cobra.NoArgs,
		run: func(c *appCall) error {
			type rep struct {
				Name     string `json:"name"`
				Revision string `json:"revision"`
				State    string `json:"state"`
				Address  string `json:"address,omitempty"`
				Ready    bool   `json:"ready"`
				Restarts int    `json:"restarts"`
				Image    string `json:"image,omitempty"`
			}
			reps := []rep{}
			if c.app.Target.Kind == store.Local {
				cs, err := c.p.Replicas(c.ctx, c.app.Name)
				if err != nil {
					return err
				}
				for _, ct := range cs {
					reps = append(reps, rep{Name: ct.Name, Revision: ct.Labels[platform.LabelRevision], State: ct.State, Address: "127.0.0.1:" + ct.Labels["pyship.hostport"], Ready: ct.State == "running"})
				}
			} else {
				rs, err := c.p.List(c.ctx, c.app.Name)
				if err != nil {
					return err
				}
				for _, r := range rs {
					img := ""
					if r.Spec != nil {
						img = r.Spec.ImageRef
					}
					reps = append(reps, rep{Name: r.Name, Revision: r.Revision, State: r.State, Ready: r.Serving, Restarts: r.Restarts, Image: img})
				}
			}
			if g.json {
				return writeJSON(c.out(), map[string]any{"app": c.app.Name, "target": c.app.Target.String(), "live": c.app.Live, "traffic": trafficRows(c.app.Traffic), "url": c.p.URL(c.app.Name),
					"replicas": reps, "env": sortedKeysOf(c.app.Env), "secrets": sortedKeysOf(c.app.Secrets)})
			}
			fmt.Fprintf(c.out(), "%s  %s  (%s)\nlive revision: %s\n", c.app.Name, c.p.URL(c.app.Name), c.app.Target, c.app.Live)
			if c.app.Target.Kind != store.Local {
				if r := c.app.Revision(c.app.Live); r != nil {
					fmt.Fprintf(c.out(), "image: %s\n", r.Spec.ImageRef)
				}
				for _, r := range reps {
					fmt.Fprintf(c.out(), "  %-44s %-22s ready=%-5t restarts=%d\n", r.Name, r.State, r.Ready, r.Restarts)
				}
				return nil
			}
			if len(c.app.Traffic) > 0 {
				fmt.Fprintf(c.out(), "traffic: %s\n", formatTraffic(trafficRows(c.app.Traffic)))
			}
			for _, r := range reps {
				fmt.Fprintf(c.out(), "  %-40s %-10s %s\n", r.Name, r.State, r.Address)
			}
			return nil
		},
		azure: func(c *appCall) error { return azureStatus(c, g.json) }}.command()
}

func newLogs(g *globals) *cobra.Command {
	var o platform.LogOptions
	var where store.Target
	return appCommand{use: "logs NAME", short: "Merged logs of an app's replicas",
		long: `Lines carry the engine's timestamp and [revision/replica]; with -f, replicas that start
later join. --since takes what docker logs --since takes: a duration (10m, 1h30m), an
RFC 3339 date or time (2026-01-02, 2026-01-02T15:04:05Z) or a Unix timestamp. With
--json every line is a JSON object of its own (JSON Lines): time, revision, replica,
message.`,
		example: "  pyship logs shop -f\n  pyship logs shop --since 10m --tail 100 --revision shop--3f2a9c1d\n  pyship logs shop --json",
		args: func(cmd *cobra.Command, args []string) error {
			if err := cobra.NoArgs(cmd, args); err != nil {
				return err
			}
			if o.Tail < 0 {
				return usagef("--tail %d: give a number of lines, 0 or more", o.Tail)
			}
			if where.Kind != "" && !store.IsAzure(where.Kind) {
				return usagef("--target %q: logs takes --target for an Azure app pyship did not deploy (aca, aci, appservice, functions); an app pyship deployed is found by its NAME", where.Kind)
			}
			if o.Since != "" {
				if _, err := parseSince(o.Since, time.Now()); err != nil {
					return usage(err)
				}
			}
			return nil
		},
		flags: func(c *cobra.Command) {
			c.Flags().BoolVarP(&o.Follow, "follow", "f", false, "keep printing new lines (as docker logs -f)")
			c.Flags().StringVar(&o.Since, "since", "", "only lines newer than `DURATION` (10m) or a time (RFC 3339, Unix)")
			c.Flags().IntVar(&o.Tail, "tail", 0, "the last `N` lines per replica (default all)")
			c.Flags().StringVar(&o.Revision, "revision", "", "one `REVISION`'s replicas only")
			c.Flags().StringVar(&where.Kind, "target", "", "for an Azure app pyship did not deploy: aca, aci, appservice or functions (with -g and --subscription)")
			c.Flags().StringVar(&where.Subscription, "subscription", "", "its Azure subscription `ID` (default $AZURE_SUBSCRIPTION_ID)")
			c.Flags().StringVarP(&where.ResourceGroup, "resource-group", "g", "", "its resource group `NAME`")
		},
		unrecorded: func(name string) *store.App {
			if !store.IsAzure(where.Kind) {
				return nil
			}
			t := where
			t.Subscription = firstNonEmpty(t.Subscription, os.Getenv("AZURE_SUBSCRIPTION_ID"))
			return &store.App{Name: name, Target: t}
		},
		run: func(c *appCall) error {
			o.JSON = g.json
			return c.p.Logs(c.ctx, c.app, o, c.out())
		},
		azure: func(c *appCall) error {
			o.JSON = g.json
			return azureLogs(c, o)
		}}.command()
}

// downFlags are pyship down's options.
type downFlags struct {
	pf         platformFlags
	yes        bool
	keepImages bool
}

// downResult is what down did, printed as text or JSON.
type downResult struct {
	App        string                `json:"app"`
	Existed    bool                  `json:"existed"`
	Containers int                   `json:"containers_removed"`
	Revisions  int                   `json:"revisions"`
	Images     platform.ImageRemoval `json:"images"`
}

func newDown(g *globals) *cobra.Command {
	var f downFlags
	cmd := &cobra.Command{
		Use:   "down NAME",
		Short: "Stop and remove an app: its replicas, revisions, secrets and the images pyship built for it",
		Long: `down stops every replica of the app, forgets its revisions, settings and secrets, and
removes the images pyship built for it (pyship/NAME:ID) unless --keep-images; an image a
container still uses, or one given with deploy --image, stays.

On a terminal it asks first; elsewhere (scripts, CI) it needs --yes. An app that is not
deployed is not an error: down says so and exits 0, so it can be run twice.`,
		Example: `  pyship down shop
  pyship down shop --yes --keep-images
  pyship down shop --yes --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDown(cmd, g, &f, args[0])
		},
	}
	f.pf.bind(cmd)
	cmd.Flags().BoolVarP(&f.yes, "yes", "y", false, "remove without asking")
	cmd.Flags().BoolVar(&f.keepImages, "keep-images", false, "keep the images pyship built for the app")
	cmd.Flags().BoolVar(&f.pf.wait, "wait", true, "wait for another deploy of the app to finish instead of failing")
	return cmd
}

func runDown(cmd *cobra.Command, g *globals, f *downFlags, name string) error {
	if err := store.ValidName(name); err != nil {
		return usage(err)
	}
	ctx := cmd.Context()
	p, done, err := f.pf.openStore(cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	defer done()
	if err := engineFor(ctx, p, name); err != nil {
		return err
	}
	l, err := p.Store.LockApp(name, f.pf.wait)
	if err != nil {
		return err
	}
	defer l.Unlock()
	if app, err := p.Store.Get(name); err == nil && store.IsAzure(app.Target.Kind) {
		return downAzure(ctx, g, p, app, cmd.OutOrStdout(), func(what string) error {
			if f.yes {
				return nil
			}
			return confirm(cmd, "Remove "+what+"?")
		})
	}
	res := downResult{App: name, Images: platform.ImageRemoval{Removed: []string{}, Kept: []string{}}}
	app, err := p.App(ctx, name)
	switch {
	case errors.Is(err, store.ErrNoApp):
	case err != nil:
		return err
	default:
		res.Existed, res.Revisions = true, len(app.Revisions)
	}
	local := app == nil || app.Target.Kind == store.Local
	if !local {
		if err := attachTarget(p, app.Target); err != nil {
			return err
		}
	}
	replicas, err := p.List(ctx, name)
	if err != nil {
		return err
	}
	if !res.Existed && len(replicas) == 0 {
		if g.json {
			return writeJSON(cmd.OutOrStdout(), res)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s is not deployed: nothing to remove\n", name)
		return nil
	}
	if !f.yes {
		what := fmt.Sprintf("app %s: %d replica(s), %d revision(s), its settings and secrets", name, len(replicas), res.Revisions)
		if err := confirm(cmd, "Remove "+what+"?"); err != nil {
			return err
		}
	}
	var images []string
	if !f.keepImages && local {
		if images, err = p.AppImages(ctx, app, name); err != nil {
			return err
		}
	}
	if err := p.Down(ctx, name); err != nil {
		return err
	}
	res.Containers = len(replicas)
	res.Images = p.RemoveImages(ctx, images)
	if g.json {
		return writeJSON(cmd.OutOrStdout(), res)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s removed: %d container(s), %d revision(s), %d image(s)", name, res.Containers, res.Revisions, len(res.Images.Removed))
	if n := len(res.Images.Kept); n > 0 {
		fmt.Fprintf(cmd.OutOrStdout(), "; %d image(s) kept (in use)", n)
	}
	fmt.Fprintln(cmd.OutOrStdout())
	return nil
}

// confirm asks a yes/no question on a terminal; anywhere else it refuses, since a
// destructive command in a script must say --yes.
func confirm(cmd *cobra.Command, question string) error {
	in, ok := cmd.InOrStdin().(*os.File)
	if !ok || !term.IsTerminal(int(in.Fd())) {
		return usagef("not a terminal: pass --yes to remove without asking")
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%s [y/N] ", question)
	answer, _ := bufio.NewReader(in).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
		return exitWith(1, errors.New("nothing removed"))
	}
	return nil
}
