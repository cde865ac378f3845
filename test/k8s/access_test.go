package k8s

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/pyship/pyship/internal/cli"
	"github.com/pyship/pyship/internal/kube"
	"github.com/pyship/pyship/internal/platform"
	"github.com/pyship/pyship/internal/store"
)

// neverPulled is an image reference no registry serves (nothing listens on port 1):
// the tests here never get as far as pulling it.
const neverPulled = "127.0.0.1:1/pyship-test/web@sha256:0000000000000000000000000000000000000000000000000000000000000000"

// tokenKubeconfig writes a kubeconfig for the test cluster that authenticates with a
// bearer token, context "restricted", namespace ns.
func (c *testCluster) tokenKubeconfig(t *testing.T, ns, token string) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cl := clientcmdapi.NewCluster()
	cl.Server, cl.CertificateAuthority, cl.CertificateAuthorityData = c.cfg.Host, c.cfg.CAFile, c.cfg.CAData
	cfg.Clusters["test"] = cl
	user := clientcmdapi.NewAuthInfo()
	user.Token = token
	cfg.AuthInfos["restricted"] = user
	ctx := clientcmdapi.NewContext()
	ctx.Cluster, ctx.AuthInfo, ctx.Namespace = "test", "restricted", ns
	cfg.Contexts["restricted"] = ctx
	cfg.CurrentContext = "restricted"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// pyship runs one pyship command in-process and returns its exit code and output.
func pyship(ctx context.Context, args ...string) (int, string, string) {
	var out, errb syncBuffer
	code := cli.ExecuteWithInput(ctx, args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// jsonError reads the --json error object pyship ends stderr with.
func jsonError(t *testing.T, stderr string) (code string, exit int, message string) {
	t.Helper()
	var e struct {
		Error struct {
			Code     string `json:"code"`
			Message  string `json:"message"`
			ExitCode int    `json:"exit_code"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(stderr), &e); err != nil {
		t.Errorf("stderr is not one JSON error object (%v):\n%s", err, stderr)
	}
	return e.Error.Code, e.Error.ExitCode, e.Error.Message
}

func storedApps(t *testing.T, state string) int {
	t.Helper()
	st, err := store.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	apps, err := st.List()
	if err != nil {
		t.Fatal(err)
	}
	return len(apps)
}

// TestRestrictedServiceAccount: a deploy with the token of a ServiceAccount that may
// only read pods is refused before anything is made, naming each missing verb and
// resource, the namespace, the account and the Role it needs; granted kube.Role, the
// Role the message spells out, the same account passes the check and runs every step
// of a revision. A token the cluster did not issue is told apart (unauthorized), and
// a --context the kubeconfig lacks is a usage error listing those it has.
func TestRestrictedServiceAccount(t *testing.T) {
	c := cluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ns := c.namespace(t, "pyship-rbac")
	if _, err := c.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "viewer"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bind := func(role string) {
		t.Helper()
		rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "viewer", Namespace: ns}}}
		if _, err := c.cs.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	reader := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "pod-reader"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list"}}}}
	if _, err := c.cs.RbacV1().Roles(ns).Create(ctx, reader, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bind("pod-reader")
	exp := int64(600)
	tok, err := c.cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "viewer", &authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kc := c.tokenKubeconfig(t, ns, tok.Status.Token)
	restCfg, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatal(err)
	}
	sa, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		t.Fatal(err)
	}
	// The authorizer learns of the binding from a watch: wait until it applies.
	err = poll(ctx, 100*time.Millisecond, func() (bool, error) {
		_, err := sa.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		return err == nil, err
	})
	if err != nil {
		t.Fatalf("the token cannot list pods: %v", err)
	}

	state := filepath.Join(t.TempDir(), "state")
	deploy := []string{"deploy", "--app", "web", "--image", neverPulled, "--port", "8000", "--target", "kubernetes", "--kubeconfig", kc, "--registry", "127.0.0.1:1/pyship-test", "--state-dir", state}
	code, out, errOut := pyship(ctx, deploy...)
	t.Logf("pyship says: %s", errOut)
	if code != 1 || out != "" || strings.Count(errOut, "\n") != 1 {
		t.Errorf("deploy as a pod reader: exit %d, stdout %q, stderr not one line:\n%s", code, out, errOut)
	}
	// What is missing is every permission of kube.Permissions but the pod reader's.
	var missing, advice []string
	for _, p := range kube.Permissions {
		name := p.Resource
		if p.Group != "" {
			name += "." + p.Group
		}
		var verbs []string
		for _, v := range p.Verbs {
			if name == "pods" && (v == "get" || v == "list") {
				continue
			}
			verbs = append(verbs, v)
		}
		if len(verbs) > 0 {
			missing = append(missing, strings.Join(verbs, ",")+" "+name)
		}
		advice = append(advice, name+" "+strings.Join(p.Verbs, ","))
	}
	for _, want := range []string{
		"pyship: cannot deploy to namespace " + ns + " (context restricted): the cluster refused it (forbidden): ",
		`user "system:serviceaccount:` + ns + `:viewer" may not ` + strings.Join(missing, "; ") + " there; ",
		"pyship needs a Role in namespace " + ns + ", bound to the kubeconfig's user, that allows: " + strings.Join(advice, "; "),
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("the refusal lacks %q", want)
		}
	}
	code, _, errOut = pyship(ctx, append(deploy, "--json")...)
	if jc, exit, msg := jsonError(t, errOut); code != 1 || jc != "forbidden" || exit != 1 || !strings.Contains(msg, "deployments.apps") {
		t.Errorf("--json: exit %d, code %q, exit_code %d, message %q", code, jc, exit, msg)
	}
	// Nothing was made: not in the cluster, not in the state.
	lo := metav1.ListOptions{}
	deps, err1 := c.cs.AppsV1().Deployments(ns).List(ctx, lo)
	secs, err2 := c.cs.CoreV1().Secrets(ns).List(ctx, lo)
	svcs, err3 := c.cs.CoreV1().Services(ns).List(ctx, lo)
	hpas, err4 := c.cs.AutoscalingV2().HorizontalPodAutoscalers(ns).List(ctx, lo)
	for _, err := range []error{err1, err2, err3, err4} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := len(deps.Items) + len(secs.Items) + len(svcs.Items) + len(hpas.Items); n != 0 {
		t.Errorf("a refused deploy made %d object(s) in %s", n, ns)
	}
	if n := storedApps(t, state); n != 0 {
		t.Errorf("a refused deploy recorded %d app(s)", n)
	}

	// Granted the Role the message spells out, the account may do all that pyship
	// does: the check passes and a revision goes through each of its steps.
	if _, err := c.cs.RbacV1().Roles(ns).Create(ctx, kube.Role(ns, "pyship"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bind("pyship")
	tgt, err := kube.Resolve(store.Target{Kind: store.Kubernetes, Kubeconfig: kc})
	if err != nil || tgt.Context != "restricted" || tgt.Namespace != ns {
		t.Fatalf("resolve: %+v, %v", tgt, err)
	}
	cs, cfg, err := kube.Connect(tgt)
	if err != nil {
		t.Fatal(err)
	}
	r := &kube.Runtime{CS: cs, Config: cfg, Target: tgt, StateID: "rbac", Grace: 1, Poll: 100 * time.Millisecond}
	if err := poll(ctx, 100*time.Millisecond, func() (bool, error) { err := r.CheckAccess(ctx); return err == nil, err }); err != nil {
		t.Fatalf("with kube.Role bound, the check still refuses: %v", err)
	}
	rel := release("web", "web--a1", 1, map[string]string{"TOKEN": "s3cret"})
	rel.Spec.MaxReplicas = 3 // an autoscaler too
	steps := []struct {
		name string
		do   func() error
	}{
		{"Start", func() error { return r.Start(ctx, rel) }},
		{"Route", func() error {
			return r.Route(ctx, map[string]platform.Traffic{"web": {Weights: map[string]int{"web--a1": 100}}})
		}},
		{"Routed", func() error { _, err := r.Routed(ctx, "web"); return err }},
		{"List", func() error { _, err := r.List(ctx, "web"); return err }},
		{"Secret", func() error { _, err := r.Secret(ctx, "web", "web--a1", "TOKEN"); return err }},
		{"Drain", func() error { return r.Drain(ctx, "web", []string{"web--a0"}, 10*time.Second) }},
		{"Remove", func() error { return r.Remove(ctx, "web", "web--a1", 0) }},
		{"Purge", func() error { return r.Purge(ctx, "web") }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s as the account with kube.Role: %v", s.name, err)
		}
	}
	if n := c.countAppObjects(ctx, t, ns, kube.LabelManagedBy+"=pyship"); n["Deployments"]+n["Secrets"]+n["Services"]+n["HorizontalPodAutoscalers"] != 0 {
		t.Errorf("left after Remove and Purge: %v", n)
	}

	// A token the cluster did not issue.
	bad := c.tokenKubeconfig(t, ns, "not-a-token-this-cluster-issued")
	code, _, errOut = pyship(ctx, "deploy", "--app", "web", "--image", neverPulled, "--port", "8000", "--target", "kubernetes", "--kubeconfig", bad, "--registry", "127.0.0.1:1/pyship-test", "--state-dir", state)
	t.Logf("pyship says: %s", errOut)
	host := strings.TrimPrefix(c.cfg.Host, "https://")
	if code != 1 || !strings.Contains(errOut, "the API server "+host+" did not accept the kubeconfig's credentials (unauthorized)") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("unauthorized: exit %d\n%s", code, errOut)
	}
	code, _, errOut = pyship(ctx, "deploy", "--app", "web", "--image", neverPulled, "--port", "8000", "--target", "kubernetes", "--kubeconfig", bad, "--registry", "127.0.0.1:1/pyship-test", "--state-dir", state, "--json")
	if jc, _, _ := jsonError(t, errOut); code != 1 || jc != "unauthorized" {
		t.Errorf("unauthorized --json: exit %d, code %q", code, jc)
	}

	// A context the (test cluster's own) kubeconfig does not have.
	code, _, errOut = pyship(ctx, "deploy", "--app", "web", "--image", neverPulled, "--port", "8000", "--target", "kubernetes", "--kubeconfig", c.kubeconfig, "--context", "nope", "--registry", "127.0.0.1:1/pyship-test", "--state-dir", state)
	t.Logf("pyship says: %s", errOut)
	if code != 2 || !strings.Contains(errOut, `context "nope" is not in kubeconfig `+c.kubeconfig+" (its contexts: pyship-test)") {
		t.Errorf("--context nope: exit %d\n%s", code, errOut)
	}
	if n := storedApps(t, state); n != 0 {
		t.Errorf("the refused deploys recorded %d app(s)", n)
	}
}

// release is a revision of app as the platform hands it to a Runtime.
func release(app, rev string, replicas int, secrets map[string]string) platform.Release {
	rel := platform.Release{App: app, Revision: rev, Env: []string{"PORT=8000"}, Secrets: map[string][]byte{},
		Spec: store.Spec{Image: "sha256:" + strings.Repeat("0", 64), ImageRef: neverPulled, Port: 8000, Probe: "/", Replicas: replicas, Secrets: map[string]string{}}}
	for k, v := range secrets {
		rel.Secrets[k] = []byte(v)
		rel.Spec.Secrets[k] = "digest-of-" + k
	}
	return rel
}
