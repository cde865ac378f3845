package kube

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pyship/pyship/internal/store"
)

// kubeconfig writes a kubeconfig with two contexts, "dev" (current, namespace team-a)
// and "prod" (no namespace), both on server.
func kubeconfig(t *testing.T, server string) string {
	t.Helper()
	cfg := `apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: c
  cluster:
    server: ` + server + `
users:
- name: u
  user:
    token: not-a-real-token
contexts:
- name: dev
  context: {cluster: c, user: u, namespace: team-a}
- name: prod
  context: {cluster: c, user: u}
`
	p := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// isolate keeps the user's own kubeconfig and any in-cluster environment out.
func isolate(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "absent"))
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
}

func TestResolve(t *testing.T) {
	isolate(t)
	kc := kubeconfig(t, "https://127.0.0.1:6443")
	for _, tc := range []struct {
		name    string
		in      store.Target
		ctx, ns string
		err     string
	}{
		{name: "the current context and its namespace", in: store.Target{Kubeconfig: kc}, ctx: "dev", ns: "team-a"},
		{name: "a context without a namespace: default", in: store.Target{Kubeconfig: kc, Context: "prod"}, ctx: "prod", ns: "default"},
		{name: "the namespace given wins", in: store.Target{Kubeconfig: kc, Namespace: "shop"}, ctx: "dev", ns: "shop"},
		{name: "an unknown context", in: store.Target{Kubeconfig: kc, Context: "staging"}, err: `context "staging" is not in kubeconfig ` + kc + ` (its contexts: dev, prod)`},
		{name: "no kubeconfig, not in a pod", in: store.Target{}, err: "kubeconfig: none at "},
		{name: "a --kubeconfig that is not there", in: store.Target{Kubeconfig: filepath.Join(t.TempDir(), "nope")}, err: "kubeconfig: "},
		{name: "a kubeconfig that does not parse", in: store.Target{Kubeconfig: func() string {
			p := filepath.Join(t.TempDir(), "config")
			if err := os.WriteFile(p, []byte("clusters: [\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}()}, err: "kubeconfig: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Resolve(tc.in)
			if tc.err != "" {
				var ce *ConfigError
				var xe *ContextError
				if err == nil || !strings.HasPrefix(err.Error(), tc.err) || !(errors.As(err, &ce) && ce.Unwrap() != nil || errors.As(err, &xe)) {
					t.Fatalf("err = %v, want a ConfigError %q…", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Context != tc.ctx || got.Namespace != tc.ns || got.Kubeconfig != tc.in.Kubeconfig {
				t.Errorf("Resolve = %+v, want context %s namespace %s", got, tc.ctx, tc.ns)
			}
		})
	}
}

func TestResolveKUBECONFIG(t *testing.T) {
	isolate(t)
	t.Setenv("KUBECONFIG", kubeconfig(t, "https://127.0.0.1:6443"))
	got, err := Resolve(store.Target{Context: "prod"})
	if err != nil || got.Context != "prod" || got.Namespace != "default" {
		t.Fatalf("Resolve = %+v, %v", got, err)
	}
}

func TestConnectUnreachable(t *testing.T) {
	isolate(t)
	// A port nothing listens on: the real client fails at once with connection refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	tg, err := Resolve(store.Target{Kubeconfig: kubeconfig(t, "https://"+addr)})
	if err != nil {
		t.Fatal(err)
	}
	cs, cfg, err := Connect(tg)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.UserAgent != "pyship" || cfg.Dial == nil {
		t.Errorf("config: user agent %q, dial set %v", cfg.UserAgent, cfg.Dial != nil)
	}
	r := &Runtime{CS: cs, Config: cfg, Target: tg}
	_, err = r.Routed(ctxT(t), "shop")
	want := "cannot read the Service shop: the API server " + addr + " (context dev, namespace team-a) does not answer: dial tcp " + addr + ": connect: connection refused; is the cluster up, and does the context point at it? (kubectl --context dev cluster-info)"
	if err == nil || err.Error() != want {
		t.Fatalf("err =\n  %v\nwant\n  %s", err, want)
	}
	if strings.Contains(err.Error(), "not-a-real-token") {
		t.Error("the error holds the kubeconfig's token")
	}
}

func TestConnectErrors(t *testing.T) {
	isolate(t)
	if _, _, err := Connect(store.Target{Context: "in-cluster"}); err == nil || !strings.HasPrefix(err.Error(), "kubeconfig: ") {
		t.Errorf("in-cluster outside a pod: err = %v", err)
	}
	if _, _, err := Connect(store.Target{Kubeconfig: kubeconfig(t, "https://127.0.0.1:6443"), Context: "staging"}); err == nil || !strings.HasPrefix(err.Error(), `context "staging" is not in kubeconfig`) {
		t.Errorf("an unknown context: err = %v", err)
	}
}
