package azure

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// The Azure services pyship deploys to, as --target names them.
const (
	ContainerApps      = "aca"        // Microsoft.App/containerApps
	ContainerInstances = "aci"        // Microsoft.ContainerInstance/containerGroups
	AppService         = "appservice" // Microsoft.Web/sites (Web App for Containers)
	// Functions (functionapp.go): Microsoft.Web/sites of kind functionapp.
)

// IsTarget says whether target is one of Azure's services.
func IsTarget(target string) bool {
	return target == ContainerApps || target == ContainerInstances || target == AppService || target == Functions
}

// ResourceManager is what a deploy needs of Azure Resource Manager. *ARM is the
// real one; the deploy logic is unit-tested against an in-memory one.
type ResourceManager interface {
	// Get reads a resource: nil, nil when it does not exist.
	Get(ctx context.Context, id, apiVersion string) (json.RawMessage, error)
	// Put creates or updates a resource and waits until Azure has provisioned it.
	Put(ctx context.Context, r Resource) (json.RawMessage, error)
	// Post calls a resource's action (a site's config/appsettings/list).
	Post(ctx context.Context, id, apiVersion string) (json.RawMessage, error)
}

// Place is where in Azure an app's resource lives.
type Place struct {
	Subscription  string
	ResourceGroup string
}

var (
	subscriptionRe  = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	resourceGroupRe = regexp.MustCompile(`^[-\w._()]{1,90}$`)
)

// Check refuses a place no resource ID can be made of.
func (p Place) Check() error {
	switch {
	case p.Subscription == "":
		return &InputError{"no Azure subscription: give --subscription ID or set AZURE_SUBSCRIPTION_ID (az account show --query id -o tsv)"}
	case !subscriptionRe.MatchString(p.Subscription):
		return &InputError{fmt.Sprintf("subscription %q is not a subscription ID (a GUID: az account list -o table)", p.Subscription)}
	case p.ResourceGroup == "":
		return &InputError{"no resource group: give --resource-group NAME (az group create --name NAME --location REGION makes one)"}
	case !resourceGroupRe.MatchString(p.ResourceGroup) || strings.HasSuffix(p.ResourceGroup, "."):
		return &InputError{fmt.Sprintf("resource group %q: Azure's are 1-90 letters, digits, '-', '_', '.', '(' and ')', not ending in '.'", p.ResourceGroup)}
	}
	return nil
}

// DeployInput is an app as a deploy to one of Azure's services makes it.
type DeployInput struct {
	Target string // ContainerApps, ContainerInstances or AppService
	App    AppInput
	Plan   string // AppService, Functions: the App Service plan's resource ID
	// Storage is a function app's storage account (Functions).
	Storage string
	Place   Place
}

// Desired is the resource a deploy creates or updates for in: its ID, api-version and
// a body Azure's published definition accepts.
func Desired(in DeployInput) (Resource, error) {
	r, err := Locate(in.Target, in.Place, in.App.Name)
	if err != nil {
		return r, err
	}
	switch in.Target {
	case ContainerApps:
		r.Body, err = ContainerAppBody(in.App)
	case ContainerInstances:
		r.Body, err = ContainerGroupBody(in.App)
	case AppService:
		r.Body, err = SiteBody(SiteInput{AppInput: in.App, Plan: in.Plan})
	case Functions:
		r.Body, err = FunctionAppBody(FunctionAppInput{SiteInput: SiteInput{AppInput: in.App, Plan: in.Plan}, Storage: in.Storage})
	}
	return r, err
}

// Locate is the resource (without a body) an app named name is on target in place.
func Locate(target string, place Place, name string) (Resource, error) {
	if err := place.Check(); err != nil {
		return Resource{}, err
	}
	prefix := fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/", place.Subscription, place.ResourceGroup)
	switch target {
	case ContainerApps:
		return Resource{ID: prefix + "Microsoft.App/containerApps/" + name, APIVersion: ContainerAppAPIVersion, What: "Container App " + name}, nil
	case ContainerInstances:
		return Resource{ID: prefix + "Microsoft.ContainerInstance/containerGroups/" + name, APIVersion: ContainerGroupAPIVersion, What: "container group " + name}, nil
	case AppService:
		return Resource{ID: prefix + "Microsoft.Web/sites/" + name, APIVersion: SiteAPIVersion, What: "web app " + name}, nil
	case Functions:
		return Resource{ID: prefix + "Microsoft.Web/sites/" + name, APIVersion: SiteAPIVersion, What: "function app " + name}, nil
	}
	return Resource{}, &InputError{fmt.Sprintf("target %q: Azure's are aca (Container Apps), aci (Container Instances), appservice (App Service) and functions (Azure Functions)", target)}
}

// DeployOptions tune a deploy.
type DeployOptions struct {
	// DryRun reads what Azure has and says what the PUT would change, changing nothing.
	DryRun bool
	// Wait bounds the wait for a Container App's new revision to be healthy (default
	// 10 minutes); Poll is how often it is asked about (default 5 s).
	Wait, Poll time.Duration
	// Progress is told each step, for people (nil: quiet).
	Progress func(format string, args ...any)
}

// Outcome is what a deploy did, or with DryRun would do.
type Outcome struct {
	Target string `json:"target"`
	ID     string `json:"id"`
	// Created: there was no such resource before.
	Created bool `json:"created"`
	// Changes are what the PUT changes of what pyship sets (Azure's own additions to
	// the resource are not compared); empty and not Created: nothing to do.
	Changes []Change `json:"changes"`
	Applied bool     `json:"applied"`
	// URL is where the app answers (empty on a dry run of a new resource).
	URL string `json:"url,omitempty"`
	// Revision is the Container App's latest revision (aca only).
	Revision string `json:"revision,omitempty"`
}

// Deploy creates or updates in's resource through rm, waits until Azure has it
// running (a Container App: until its new revision is healthy; Container Apps keeps
// the previous one serving until then), and says where it answers. An unchanged
// resource is not PUT again.
func Deploy(ctx context.Context, rm ResourceManager, in DeployInput, o DeployOptions) (*Outcome, error) {
	progress := o.Progress
	if progress == nil {
		progress = func(string, ...any) {}
	}
	r, err := Desired(in)
	if err != nil {
		return nil, err
	}
	out := &Outcome{Target: in.Target, ID: r.ID, Changes: []Change{}}
	cur, err := rm.Get(ctx, r.ID, r.APIVersion)
	if err != nil {
		return nil, err
	}
	if cur != nil && (in.Target == AppService || in.Target == Functions) {
		// A site's GET leaves its configuration out (appSettings and more come back
		// null): read it where Azure keeps it, or every deploy would look like a change.
		if cur, err = withSiteConfig(ctx, rm, r, cur); err != nil {
			return nil, err
		}
	}
	if cur == nil {
		out.Created = true
	} else if out.Changes, err = Diff(cur, r.Body); err != nil {
		return nil, fmt.Errorf("%s: reading what Azure has: %w", r.What, err)
	}
	if o.DryRun || !out.Created && len(out.Changes) == 0 {
		if cur != nil {
			out.URL = appURL(in.Target, cur, in.App.Port)
			out.Revision = latestRevision(cur)
		}
		return out, nil
	}
	if out.Created {
		progress("creating %s in %s", r.What, in.Place.ResourceGroup)
	} else {
		progress("updating %s (%d changes)", r.What, len(out.Changes))
	}
	got, err := rm.Put(ctx, r)
	if err != nil {
		return nil, err
	}
	out.Applied = true
	if err := provisioned(r, got); err != nil {
		return nil, err
	}
	if in.Target == ContainerApps {
		out.Revision = latestRevision(got)
		if out.Revision != "" {
			progress("waiting for revision %s to be healthy", out.Revision)
			if err := waitRevision(ctx, rm, r, out.Revision, o); err != nil {
				return out, err
			}
		}
	}
	out.URL = appURL(in.Target, got, in.App.Port)
	return out, nil
}

// withSiteConfig puts a site's configuration into what its GET returned: the site
// config (GET config/web) and the app settings (POST config/appsettings/list, as
// name/value pairs, the form pyship sends them in).
func withSiteConfig(ctx context.Context, rm ResourceManager, r Resource, cur []byte) ([]byte, error) {
	web, err := rm.Get(ctx, r.ID+"/config/web", r.APIVersion)
	if err != nil {
		return nil, err
	}
	settings, err := rm.Post(ctx, r.ID+"/config/appsettings/list", r.APIVersion)
	if err != nil {
		return nil, err
	}
	var site map[string]any
	if err := json.Unmarshal(cur, &site); err != nil {
		return nil, fmt.Errorf("%s: reading what Azure has: %w", r.What, err)
	}
	props, _ := site["properties"].(map[string]any)
	if props == nil {
		props = map[string]any{}
		site["properties"] = props
	}
	var w struct {
		Properties map[string]any `json:"properties"`
	}
	if web != nil && json.Unmarshal(web, &w) == nil && w.Properties != nil {
		props["siteConfig"] = w.Properties
	}
	var list struct {
		Properties map[string]string `json:"properties"`
	}
	if json.Unmarshal(settings, &list) == nil {
		cfg, _ := props["siteConfig"].(map[string]any)
		if cfg == nil {
			cfg = map[string]any{}
			props["siteConfig"] = cfg
		}
		pairs := []any{}
		for k, v := range list.Properties {
			pairs = append(pairs, map[string]any{"name": k, "value": v})
		}
		cfg["appSettings"] = pairs
	}
	return json.Marshal(site)
}

// resourceState is what pyship reads of a resource Azure returns.
type resourceState struct {
	Properties struct {
		ProvisioningState  string `json:"provisioningState"`
		LatestRevisionName string `json:"latestRevisionName"`
		Configuration      struct {
			Ingress struct {
				FQDN string `json:"fqdn"`
			} `json:"ingress"`
		} `json:"configuration"`
		IPAddress struct {
			FQDN string `json:"fqdn"`
			IP   string `json:"ip"`
		} `json:"ipAddress"`
		InstanceView struct {
			State string `json:"state"`
		} `json:"instanceView"`
		DefaultHostName string `json:"defaultHostName"`
		State           string `json:"state"`
	} `json:"properties"`
}

func readState(b []byte) resourceState {
	var s resourceState
	_ = json.Unmarshal(b, &s) // a body pyship cannot read says nothing, not an error
	return s
}

// provisioned refuses a resource whose operation ended without it being made.
func provisioned(r Resource, got []byte) error {
	s := readState(got).Properties
	switch {
	case strings.EqualFold(s.ProvisioningState, "Failed") || strings.EqualFold(s.ProvisioningState, "Canceled"):
		return &DeployError{What: r.What, Msg: fmt.Sprintf("Azure's provisioning ended %s", s.ProvisioningState)}
	case strings.EqualFold(s.InstanceView.State, "Failed") || strings.EqualFold(s.InstanceView.State, "Stopped"):
		return &DeployError{What: r.What, Msg: fmt.Sprintf("the container group is %s (az container logs -g RG -n NAME tells why)", s.InstanceView.State)}
	}
	return nil
}

// StateOf says in a few words how Azure reports a resource of target: its
// provisioning and, where the service says, running state.
func StateOf(target string, b []byte) string {
	if b == nil {
		return ""
	}
	p := readState(b).Properties
	out := "provisioning " + cmp.Or(p.ProvisioningState, "unknown")
	switch {
	case target == ContainerInstances && p.InstanceView.State != "":
		out += ", " + strings.ToLower(p.InstanceView.State)
	case (target == AppService || target == Functions) && p.State != "":
		out += ", " + strings.ToLower(p.State)
	case target == ContainerApps && p.LatestRevisionName != "":
		out += ", latest revision " + p.LatestRevisionName
	}
	return out
}

func latestRevision(b []byte) string { return readState(b).Properties.LatestRevisionName }

// appURL is where the app answers: a Container App's ingress (HTTPS), a container
// group's public name on the app's port (Container Instances have no TLS), a web
// app's default host name (HTTPS).
func appURL(target string, b []byte, port int) string {
	p := readState(b).Properties
	switch target {
	case ContainerApps:
		if p.Configuration.Ingress.FQDN != "" {
			return "https://" + p.Configuration.Ingress.FQDN + "/"
		}
	case ContainerInstances:
		host := cmp.Or(p.IPAddress.FQDN, p.IPAddress.IP)
		if host != "" {
			return fmt.Sprintf("http://%s:%d/", host, port)
		}
	case AppService, Functions:
		if p.DefaultHostName != "" {
			return "https://" + p.DefaultHostName + "/"
		}
	}
	return ""
}

// DeployError is a resource Azure made but that does not run: what is wrong and
// where to look.
type DeployError struct {
	What string
	Msg  string
}

func (e *DeployError) Error() string { return e.What + ": " + e.Msg }

// revisionState is a Container App revision as Azure reports it
// (ContainerAppsRevisions.json, Revision).
type revisionState struct {
	Properties struct {
		HealthState       string `json:"healthState"`
		ProvisioningState string `json:"provisioningState"`
		RunningState      string `json:"runningState"`
		ProvisioningError string `json:"provisioningError"`
		Replicas          int    `json:"replicas"`
	} `json:"properties"`
}

// waitRevision waits until the Container App's revision is healthy, failed, or the
// wait is over. Container Apps gate traffic on readiness themselves: until the new
// revision is healthy the previous one keeps serving.
func waitRevision(ctx context.Context, rm ResourceManager, r Resource, rev string, o DeployOptions) error {
	wait, poll := o.Wait, o.Poll
	if wait <= 0 {
		wait = 10 * time.Minute
	}
	if poll <= 0 {
		poll = 5 * time.Second
	}
	deadline := time.Now().Add(wait)
	id := r.ID + "/revisions/" + rev
	last := ""
	for {
		b, err := rm.Get(ctx, id, r.APIVersion)
		if err != nil {
			return err
		}
		var s revisionState
		if b != nil {
			_ = json.Unmarshal(b, &s)
		}
		p := s.Properties
		switch {
		case strings.EqualFold(p.ProvisioningState, "Failed") || strings.EqualFold(p.RunningState, "Failed"):
			msg := fmt.Sprintf("revision %s failed (%s)", rev, cmp.Or(p.ProvisioningError, "provisioning "+p.ProvisioningState+", running "+p.RunningState))
			return &DeployError{What: r.What, Msg: msg + "; the previous revision keeps serving: pyship logs " + appName(r.ID) + " shows the new one's output"}
		case strings.EqualFold(p.HealthState, "Healthy") && (strings.EqualFold(p.RunningState, "Running") || strings.HasPrefix(strings.ToLower(p.RunningState), "runningat")):
			return nil
		}
		last = fmt.Sprintf("health %s, provisioning %s, running %s", cmp.Or(p.HealthState, "unknown"), cmp.Or(p.ProvisioningState, "unknown"), cmp.Or(p.RunningState, "unknown"))
		if time.Now().After(deadline) {
			return &DeployError{What: r.What, Msg: fmt.Sprintf("revision %s was not healthy within %v (%s); the previous revision keeps serving: pyship logs %s shows why", rev, wait, last, appName(r.ID))}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}

// appName is the last segment of a resource ID.
func appName(id string) string { return id[strings.LastIndex(id, "/")+1:] }
