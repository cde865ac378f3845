// Package kube runs pyship's revisions on a Kubernetes cluster (AKS or any other): one
// Deployment and one immutable Secret per revision, and one Service per app whose
// selector names the revision that serves. It implements platform.Runtime, so the
// revision state machine (health gate, switch, drain, rollback, recovery) is the one
// the local engine uses; this package only carries out its steps on the cluster.
package kube

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/pyship/pyship/internal/store"
)

// FieldManager is the name pyship applies as (server-side apply): the objects it owns
// are those whose fields this manager set.
const FieldManager = "pyship"

// requestTimeout bounds every API call that is not a watch or a log stream.
const requestTimeout = 30 * time.Second

// Resolve fills in what the user left to the kubeconfig (the current context, that
// context's namespace, else "default") the way kubectl reads it: --kubeconfig, else
// $KUBECONFIG's files merged, else ~/.kube/config; in a pod with none of them, the
// in-cluster config. The result is what the app's record keeps.
func Resolve(t store.Target) (store.Target, error) {
	cc := clientConfig(t)
	raw, err := cc.RawConfig()
	if err != nil {
		return t, &ConfigError{Err: err}
	}
	if t.Context == "" {
		t.Context = raw.CurrentContext
	}
	if t.Context != "" {
		if _, ok := raw.Contexts[t.Context]; !ok {
			return t, &ConfigError{Err: fmt.Errorf("context %q is not in the kubeconfig (kubectl config get-contexts lists them)", t.Context)}
		}
	}
	// Before the namespace: without a kubeconfig, client-go's own error for it is
	// "try setting KUBERNETES_MASTER", which sends the user nowhere useful.
	if t.Context == "" && len(raw.Contexts) == 0 {
		if _, err := rest.InClusterConfig(); err != nil {
			return t, &ConfigError{Err: errors.New("no kubeconfig (set KUBECONFIG, pass --kubeconfig, or run in a pod) and no in-cluster config")}
		}
		t.Context = "in-cluster"
	}
	if t.Namespace == "" {
		ns, _, err := clientConfig(t).Namespace()
		if err != nil {
			return t, &ConfigError{Err: err}
		}
		t.Namespace = ns
	}
	return t, nil
}

func clientConfig(t store.Target) clientcmd.ClientConfig {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if t.Kubeconfig != "" {
		rules.ExplicitPath = t.Kubeconfig
	}
	over := &clientcmd.ConfigOverrides{}
	if t.Context != "" && t.Context != "in-cluster" {
		over.CurrentContext = t.Context
	}
	if t.Namespace != "" {
		over.Context.Namespace = t.Namespace
	}
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, over)
}

// ConfigError is a kubeconfig pyship cannot use.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return "kubeconfig: " + e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Connect makes the client for a resolved target.
func Connect(t store.Target) (kubernetes.Interface, *rest.Config, error) {
	var cfg *rest.Config
	var err error
	if t.Context == "in-cluster" {
		cfg, err = rest.InClusterConfig()
	} else {
		cfg, err = clientConfig(t).ClientConfig()
	}
	if err != nil {
		return nil, nil, &ConfigError{Err: err}
	}
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = "pyship"
	// An unreachable server fails in seconds, not after the kernel's minutes of SYN
	// retries; client-go bounds the TLS handshake (10 s) itself. Request deadlines come
	// from each call's context, as log streams and watches must outlive any fixed one.
	if cfg.Dial == nil {
		cfg.Dial = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, &ConfigError{Err: err}
	}
	return cs, cfg, nil
}

// server names the API server of a config for messages.
func server(cfg *rest.Config) string {
	if u, err := url.Parse(cfg.Host); err == nil && u.Host != "" {
		return u.Host
	}
	return cfg.Host
}
