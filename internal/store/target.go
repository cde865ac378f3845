package store

import (
	"fmt"
	"regexp"
	"strings"
)

// Target kinds: where an app's replicas run.
const (
	// Local is the Docker engine on this machine behind pyship's gateway (the zero
	// Target, so apps recorded before targets existed stay local).
	Local = ""
	// Kubernetes is a namespace of a cluster (AKS or any other), reached with the
	// user's kubeconfig as kubectl reads it.
	Kubernetes = "kubernetes"
	// Azure's container services, reached through Resource Manager with the user's
	// Azure credential: Container Apps, Container Instances, App Service.
	ContainerApps      = "aca"
	ContainerInstances = "aci"
	AppService         = "appservice"
	Functions          = "functions"
)

// IsAzure says whether a target kind is one of Azure's services.
func IsAzure(kind string) bool {
	return kind == ContainerApps || kind == ContainerInstances || kind == AppService || kind == Functions
}

// Target is where an app runs. It is recorded with the app at its first deploy, so
// that env, secret, rollback, logs and down act on the same cluster and namespace
// whatever the kubeconfig's current context has become since.
type Target struct {
	Kind string `json:"kind,omitempty"`
	// Kubernetes: the kubeconfig context (resolved at the first deploy: never "the
	// current one"), the namespace, and the registry the cluster pulls images from.
	Context   string `json:"context,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	Registry  string `json:"registry,omitempty"`
	// Kubeconfig is the file named with --kubeconfig, if one was; otherwise the
	// KUBECONFIG variable and ~/.kube/config are read, as kubectl does.
	Kubeconfig string `json:"kubeconfig,omitempty"`
	// Azure: the subscription and resource group the app's resource is in, its
	// region, the Container Apps environment or App Service plan it runs on (resource
	// IDs), the Key Vault its secrets are read from and the user-assigned identity it
	// reads them and pulls its image with ("" for its system-assigned one).
	Subscription  string `json:"subscription,omitempty"`
	ResourceGroup string `json:"resource_group,omitempty"`
	Location      string `json:"location,omitempty"`
	Environment   string `json:"environment,omitempty"`
	Plan          string `json:"plan,omitempty"`
	KeyVault      string `json:"key_vault,omitempty"`
	Identity      string `json:"identity,omitempty"`
	// Storage is a function app's storage account (Functions).
	Storage string `json:"storage_account,omitempty"`
	// URL is the address Azure gave the app (its ingress, public name or host name).
	URL string `json:"url,omitempty"`
}

// String names the target for people: "local", "kubernetes (ctx/ns)".
func (t Target) String() string {
	if t.Kind == Local {
		return "local"
	}
	if IsAzure(t.Kind) {
		return fmt.Sprintf("%s (%s/%s)", t.Kind, t.Subscription, t.ResourceGroup)
	}
	return fmt.Sprintf("%s (%s/%s)", t.Kind, t.Context, t.Namespace)
}

// SamePlace says whether two targets run apps in the same place (the same engine, the
// same cluster and namespace, the same Azure service and resource group), whichever
// registry each pulls from and whatever an Azure app runs with.
func (t Target) SamePlace(u Target) bool {
	if IsAzure(t.Kind) {
		return t.Kind == u.Kind && t.Subscription == u.Subscription && strings.EqualFold(t.ResourceGroup, u.ResourceGroup)
	}
	t.Registry, u.Registry = "", ""
	return t == u
}

// dns1123Label is a Kubernetes namespace name.
var dns1123Label = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// ValidTarget checks a target before it is stored.
func ValidTarget(t Target) error {
	switch t.Kind {
	case Local:
		if t != (Target{}) {
			return fmt.Errorf("--context, --namespace, --registry, --kubeconfig and the Azure settings (--subscription, --resource-group, --location, --environment, --plan, --key-vault, --identity) go with --target kubernetes, aca, aci or appservice")
		}
		return nil
	case ContainerApps, ContainerInstances, AppService, Functions:
		if t.Context != "" || t.Namespace != "" || t.Kubeconfig != "" {
			return fmt.Errorf("--context, --namespace and --kubeconfig are for --target kubernetes")
		}
		return nil
	case Kubernetes:
		if t.Subscription != "" || t.ResourceGroup != "" || t.Location != "" || t.Environment != "" || t.Plan != "" || t.KeyVault != "" || t.Identity != "" || t.Storage != "" {
			return fmt.Errorf("--subscription, --resource-group, --location, --environment, --plan, --key-vault, --identity and --storage-account are for the Azure targets (aca, aci, appservice, functions)")
		}
		if t.Namespace != "" && !dns1123Label.MatchString(t.Namespace) {
			return fmt.Errorf("--namespace %q: a Kubernetes namespace is 1-63 lowercase letters, digits and dashes", t.Namespace)
		}
		return nil
	default:
		return fmt.Errorf("--target %q: use local, kubernetes, aca (Azure Container Apps), aci (Azure Container Instances), appservice (Azure App Service) or functions (Azure Functions)", t.Kind)
	}
}

var hostRe = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// ValidHost checks --host: a lowercase DNS name of two labels or more, as an Ingress
// rule takes it (no port, no wildcard).
func ValidHost(h string) error {
	if h == "" || len(h) <= 253 && hostRe.MatchString(h) {
		return nil
	}
	return &SettingError{"--host", fmt.Sprintf("%q: give a DNS name such as shop.example.com (lowercase, no port, no scheme)", h)}
}
