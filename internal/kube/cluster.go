// Package kube runs pyship's revisions on a Kubernetes cluster (AKS or any other): one
// Deployment and one immutable Secret per revision, and one Service per app whose
// selector names the revision that serves. It implements platform.Runtime, so the
// revision state machine (health gate, switch, drain, rollback, recovery) is the one
// the local engine uses; this package only carries out its steps on the cluster.
package kube

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
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
// in-cluster config. The result is what the app's record keeps. Everything is checked
// that can be without a network call (the context exists, its cluster has a server,
// its credential files are there), so a deploy fails on them before it builds.
func Resolve(t store.Target) (store.Target, error) {
	if t.Context == InCluster {
		return resolveInCluster(t)
	}
	cc := clientConfig(t)
	raw, err := cc.RawConfig()
	if err != nil {
		if t.Kubeconfig != "" && errors.Is(err, fs.ErrNotExist) {
			return t, &ConfigError{Err: fmt.Errorf("%s: no such file (--kubeconfig)", t.Kubeconfig)}
		}
		return t, &ConfigError{Err: err}
	}
	files := kubeconfigFiles(t)
	if len(raw.Contexts) == 0 && t.Context == "" {
		if _, err := rest.InClusterConfig(); err != nil {
			found := "none at " + strings.Join(files, ", ")
			if slices.ContainsFunc(files, exists) {
				found = "no context in " + describeFiles(files)
			}
			return t, &ConfigError{Err: fmt.Errorf("%s, and pyship does not run in a pod: set KUBECONFIG or pass --kubeconfig FILE (for AKS, az aks get-credentials writes one)", found)}
		}
		return resolveInCluster(t)
	}
	known := slices.Sorted(maps.Keys(raw.Contexts))
	if t.Context == "" {
		if raw.CurrentContext == "" {
			return t, &ContextError{Where: describeFiles(files), Known: known}
		}
		if _, ok := raw.Contexts[raw.CurrentContext]; !ok {
			return t, &ContextError{Context: raw.CurrentContext, Current: true, Where: describeFiles(files), Known: known}
		}
		t.Context = raw.CurrentContext
	}
	if _, ok := raw.Contexts[t.Context]; !ok {
		return t, &ContextError{Context: t.Context, Where: describeFiles(files), Known: known}
	}
	// What client-go would say of these two is "no configuration has been provided".
	c := raw.Contexts[t.Context]
	if cl, ok := raw.Clusters[c.Cluster]; !ok {
		return t, &ConfigError{Err: fmt.Errorf("context %s names cluster %q, which %s does not have", t.Context, c.Cluster, describeFiles(files))}
	} else if cl.Server == "" {
		return t, &ConfigError{Err: fmt.Errorf("context %s: cluster %q has no server address", t.Context, c.Cluster)}
	}
	if _, err := clientConfig(t).ClientConfig(); err != nil {
		return t, &ConfigError{Err: fmt.Errorf("context %s: %w", t.Context, err)}
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

// InCluster is the context name recorded for an app deployed from inside a pod, with
// the pod's service account and no kubeconfig.
const InCluster = "in-cluster"

func resolveInCluster(t store.Target) (store.Target, error) {
	if _, err := rest.InClusterConfig(); err != nil {
		return t, &ConfigError{Err: fmt.Errorf("context %s: pyship does not run in a pod (%v)", InCluster, err)}
	}
	t.Context = InCluster
	if t.Namespace == "" {
		// The pod's own namespace (its service account's), else default.
		ns, _, err := clientConfig(store.Target{}).Namespace()
		if err != nil || ns == "" {
			ns = "default"
		}
		t.Namespace = ns
	}
	return t, nil
}

func loadingRules(t store.Target) *clientcmd.ClientConfigLoadingRules {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if t.Kubeconfig != "" {
		rules.ExplicitPath = t.Kubeconfig
	}
	return rules
}

func clientConfig(t store.Target) clientcmd.ClientConfig {
	over := &clientcmd.ConfigOverrides{}
	if t.Context != "" && t.Context != InCluster {
		over.CurrentContext = t.Context
	}
	if t.Namespace != "" {
		over.Context.Namespace = t.Namespace
	}
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(loadingRules(t), over)
}

// kubeconfigFiles are the files the target's kubeconfig is read from, as kubectl
// reads them, for messages.
func kubeconfigFiles(t store.Target) []string {
	rules := loadingRules(t)
	if rules.ExplicitPath != "" {
		return []string{rules.ExplicitPath}
	}
	return rules.Precedence
}

// describeFiles names the kubeconfig files and whether each exists: "/a (missing)".
func describeFiles(files []string) string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f
		if !exists(f) {
			out[i] += " (missing)"
		}
	}
	if len(out) == 0 {
		return "no file"
	}
	return strings.Join(out, ", ")
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// ConfigError is a kubeconfig pyship cannot use.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return "kubeconfig: " + e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// ContextError is a context the kubeconfig does not have (or no context at all). When
// the user named it (--context), it is a usage error: the message lists those there are.
type ContextError struct {
	Context string // "" when the kubeconfig has no current context
	Current bool   // Context is the kubeconfig's current-context, not one the user named
	Where   string // the kubeconfig files, described
	Known   []string
}

func (e *ContextError) Error() string {
	has := "it has no contexts"
	if len(e.Known) > 0 {
		has = "its contexts: " + strings.Join(e.Known, ", ")
	}
	where := e.Where
	switch {
	case e.Context == "":
		return fmt.Sprintf("kubeconfig %s has no current context: pass --context (%s)", where, has)
	case e.Current:
		return fmt.Sprintf("kubeconfig %s: its current-context %q is not one of its contexts: pass --context (%s)", where, e.Context, has)
	}
	return fmt.Sprintf("context %q is not in kubeconfig %s (%s)", e.Context, where, has)
}

// Connect makes the client for a resolved target.
func Connect(t store.Target) (kubernetes.Interface, *rest.Config, error) {
	// A recorded target is checked again: its context may have left the kubeconfig
	// since the app's first deploy.
	if _, err := Resolve(t); err != nil {
		return nil, nil, err
	}
	var cfg *rest.Config
	var err error
	if t.Context == InCluster {
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
	// client-go's default of 5 requests a second (burst 10) would queue a deploy's
	// access check (some twenty reviews, sent at once) and the rollout's polls.
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 50, 100
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
