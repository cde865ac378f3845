package store

import (
	"fmt"
	"regexp"
)

// Target kinds: where an app's replicas run.
const (
	// Local is the Docker engine on this machine behind pyship's gateway (the zero
	// Target, so apps recorded before targets existed stay local).
	Local = ""
	// Kubernetes is a namespace of a cluster (AKS or any other), reached with the
	// user's kubeconfig as kubectl reads it.
	Kubernetes = "kubernetes"
)

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
}

// String names the target for people: "local", "kubernetes (ctx/ns)".
func (t Target) String() string {
	if t.Kind == Local {
		return "local"
	}
	return fmt.Sprintf("%s (%s/%s)", t.Kind, t.Context, t.Namespace)
}

// SamePlace says whether two targets run apps in the same place (the same engine, or
// the same cluster and namespace), whichever registry each pulls from.
func (t Target) SamePlace(u Target) bool {
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
			return fmt.Errorf("--context, --namespace, --registry and --kubeconfig are for --target kubernetes")
		}
		return nil
	case Kubernetes:
		if t.Namespace != "" && !dns1123Label.MatchString(t.Namespace) {
			return fmt.Errorf("--namespace %q: a Kubernetes namespace is 1-63 lowercase letters, digits and dashes", t.Namespace)
		}
		return nil
	default:
		return fmt.Errorf("--target %q: use local or kubernetes", t.Kind)
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
