package k8s

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pyship/pyship/internal/cli"
)

// pyshipEnv runs pyship in-process against the test cluster: its own state directory,
// the cluster's kubeconfig and registry, the fixtures' base image and wheel index.
type pyshipEnv struct {
	t      *testing.T
	c      *testCluster
	ns     string
	state  string
	build  []string
	target []string
}

func newPyshipEnv(t *testing.T, c *testCluster, ns string) *pyshipEnv {
	t.Helper()
	cache := os.Getenv("PYSHIP_FIXTURES")
	if cache == "" {
		cache = "/var/cache/pyship-fixtures"
	}
	base := os.Getenv("PYSHIP_BASE_IMAGE")
	if base == "" {
		base = "pyship-fixtures/python:3.11-slim"
	}
	indexDir := filepath.Join(cache, "index")
	if _, err := os.Stat(filepath.Join(indexDir, "simple", "index.html")); err != nil {
		t.Fatalf("the wheel index fixture is missing (%v): run test/fixtures/wheel-index.sh", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(indexDir))}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return &pyshipEnv{t: t, c: c, ns: ns, state: t.TempDir(),
		build:  []string{"--base", base, "-i", fmt.Sprintf("http://%s/simple/", ln.Addr()), "--cache-dir", t.TempDir()},
		target: []string{"--target", "kubernetes", "--kubeconfig", c.kubeconfig, "--namespace", ns, "--registry", c.registry + "/pyship-test"},
	}
}

// run runs one pyship command with stdin and returns its exit code and output.
func (e *pyshipEnv) run(ctx context.Context, stdin string, args ...string) (int, string, string) {
	var out, errb syncBuffer
	// Before a "--": what follows it is the command exec runs.
	at := slices.Index(args, "--")
	if at < 0 {
		at = len(args)
	}
	args = slices.Insert(slices.Clone(args), at, "--state-dir", e.state)
	code := cli.ExecuteWithInput(ctx, args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func (e *pyshipEnv) must(ctx context.Context, stdin string, args ...string) string {
	e.t.Helper()
	code, out, errOut := e.run(ctx, stdin, args...)
	if code != 0 {
		e.t.Fatalf("pyship %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func (e *pyshipEnv) deploy(ctx context.Context, dir string, extra ...string) (int, string, string) {
	args := append([]string{"deploy", dir, "--app", "web", "--json"}, e.target...)
	args = append(args, e.build...)
	return e.run(ctx, "", append(args, extra...)...)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// flaskProject is examples/flask with its greeting changed to say which version it is.
func flaskProject(t *testing.T, version string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "web")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"app.py", "requirements.txt"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "examples", "flask", f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "app.py" {
			b = bytes.Replace(b, []byte("Hello from Flask, served by pyship"), []byte("Hello from Flask "+version), 1)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// serviceURL is the app's Service address, reached from the host through kube-proxy.
func (c *testCluster) serviceURL(ctx context.Context, t *testing.T, ns, app string) string {
	t.Helper()
	svc, err := c.cs.CoreV1().Services(ns).Get(ctx, app, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the app's Service: %v", err)
	}
	return "http://" + net.JoinHostPort(svc.Spec.ClusterIP, "80")
}

// httpClient opens a connection per request, so that each one goes through the Service's
// rules afresh (a kept-alive connection would stay on one pod).
var httpClient = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}

func getBody(url string) (int, string, error) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, string(b), err
}

// waitBody polls url until it answers 200 with a body containing want.
func waitBody(ctx context.Context, t *testing.T, url, want string) {
	t.Helper()
	err := poll(ctx, 200*time.Millisecond, func() (bool, error) {
		code, body, err := getBody(url)
		if err != nil {
			return false, err
		}
		if code != 200 || !strings.Contains(body, want) {
			return false, fmt.Errorf("HTTP %d: %q", code, body)
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("GET %s never answered %q: %v", url, want, err)
	}
}

// load sends requests to url without pause until stop is closed (at most max), and
// counts them and the failures, keeping the first few failures' text.
type load struct {
	sent, failed atomic.Int64
	mu           sync.Mutex
	errs         []string
	bodies       map[string]int
}

func startLoad(url string, stop <-chan struct{}, max int64) (*load, <-chan struct{}) {
	l := &load{bodies: map[string]int{}}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for l.sent.Load() < max {
				select {
				case <-stop:
					return
				default:
				}
				l.sent.Add(1)
				code, body, err := getBody(url)
				l.mu.Lock()
				if err != nil || code != 200 {
					l.failed.Add(1)
					if len(l.errs) < 5 {
						l.errs = append(l.errs, fmt.Sprintf("HTTP %d %v", code, err))
					}
				} else {
					l.bodies[strings.TrimSpace(body)]++
				}
				l.mu.Unlock()
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	return l, done
}

// TestDeployOnRealNode is pyship's Kubernetes target end to end on the real node, with the
// flask example: v1 with 2 replicas answers through its Service; v2 is deployed while a
// load generator sends requests without pause, and none fails; a broken v3 is refused and v2
// keeps serving; rollback to v1; a secret set from stdin reaches the app and is in no
// object but its own Secret and in no output; logs show both replicas; down leaves nothing.
func TestDeployOnRealNode(t *testing.T) {
	c := cluster(t)
	if !c.realNode {
		t.Skip("the cluster has no node (NODE=real bash test/k8s/run.sh starts one)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	ns := c.namespace(t, "pyship-deploy")
	e := newPyshipEnv(t, c, ns)

	start := time.Now()
	code, out, errOut := e.deploy(ctx, flaskProject(t, "v1"), "--replicas", "2", "--max-replicas", "4")
	if code != 0 {
		c.describePods(t, ns)
		t.Fatalf("deploy v1: exit %d\n%s%s", code, out, errOut)
	}
	t.Logf("TIMING deploy v1 (build, push, apply, 2 pods Ready, switch) %.1fs", time.Since(start).Seconds())
	var res struct {
		Revision string `json:"revision"`
		URL      string `json:"url"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("deploy --json: %v: %s", err, out)
	}
	v1 := res.Revision
	if res.URL != "http://web."+ns+".svc/" {
		t.Errorf("url %q, want the Service's name in the cluster", res.URL)
	}
	url := c.serviceURL(ctx, t, ns, "web")
	waitBody(ctx, t, url+"/", "Hello from Flask v1")

	// What runs is what the issue asks for: digest-pinned image, non-root, read-only root,
	// readiness probe on the Plan's port, preStop, resources, immutable Secret (later).
	dep, err := c.cs.AppsV1().Deployments(ns).Get(ctx, v1, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("Deployment %s: %v", v1, err)
	}
	pc := dep.Spec.Template.Spec.Containers[0]
	if !strings.Contains(pc.Image, "@sha256:") {
		t.Errorf("image %q is not pinned by digest", pc.Image)
	}
	if sc := pc.SecurityContext; sc == nil || sc.RunAsUser == nil || *sc.RunAsUser != 10001 || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("securityContext %+v: want uid 10001 and a read-only root", pc.SecurityContext)
	}
	if pc.ReadinessProbe == nil || pc.ReadinessProbe.HTTPGet == nil || pc.Lifecycle == nil || pc.Lifecycle.PreStop == nil {
		t.Errorf("want a readiness probe and a preStop: %+v %+v", pc.ReadinessProbe, pc.Lifecycle)
	}
	if *dep.Spec.Replicas != 2 || dep.Status.ReadyReplicas != 2 {
		t.Errorf("replicas %d, ready %d; want 2 and 2", *dep.Spec.Replicas, dep.Status.ReadyReplicas)
	}
	hpa, err := c.cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, v1, metav1.GetOptions{})
	if err != nil {
		t.Errorf("the revision's HorizontalPodAutoscaler: %v", err)
	} else if *hpa.Spec.MinReplicas != 2 || hpa.Spec.MaxReplicas != 4 || hpa.Spec.ScaleTargetRef.Name != v1 {
		t.Errorf("HPA %+v: want 2-4 replicas of %s", hpa.Spec, v1)
	}

	// A dry run of v2 shows what the API server would change, and changes nothing.
	code, out, errOut = e.deploy(ctx, flaskProject(t, "v2"), "--dry-run")
	if code != 0 {
		t.Fatalf("deploy --dry-run: exit %d\n%s%s", code, out, errOut)
	}
	var dry struct {
		Revision string `json:"revision"`
		Changed  bool   `json:"changed"`
		Changes  []struct{ Kind, Name, Action, Diff string }
	}
	if err := json.Unmarshal([]byte(out), &dry); err != nil {
		t.Fatalf("deploy --dry-run --json: %v: %s", err, out)
	}
	actions := map[string]string{}
	for _, ch := range dry.Changes {
		actions[ch.Kind] = ch.Action
	}
	if !dry.Changed || actions["Deployment"] != "create" || actions["Service"] != "update" {
		t.Errorf("dry run of v2: changed=%v actions %v; want a new Deployment and the Service moved", dry.Changed, actions)
	}
	if _, err := c.cs.AppsV1().Deployments(ns).Get(ctx, dry.Revision, metav1.GetOptions{}); err == nil {
		t.Errorf("the dry run created the Deployment %s", dry.Revision)
	}
	waitBody(ctx, t, url+"/", "Hello from Flask v1")

	// v2 under load: no request fails, and once deploy returns every answer is v2's.
	stop := make(chan struct{})
	l, loadDone := startLoad(url+"/", stop, 200000)
	start = time.Now()
	code, out, errOut = e.deploy(ctx, flaskProject(t, "v2"), "--host", "web.example.test")
	close(stop)
	<-loadDone
	if code != 0 {
		c.describePods(t, ns)
		t.Fatalf("deploy v2: exit %d\n%s%s", code, out, errOut)
	}
	t.Logf("TIMING deploy v2 under load %.1fs; %d requests, %d failed; answers %v", time.Since(start).Seconds(), l.sent.Load(), l.failed.Load(), l.bodies)
	if l.failed.Load() != 0 {
		t.Errorf("%d of %d requests failed during the switch: %v", l.failed.Load(), l.sent.Load(), l.errs)
	}
	if l.sent.Load() < 100 {
		t.Errorf("only %d requests were sent during the deploy", l.sent.Load())
	}
	json.Unmarshal([]byte(out), &res)
	v2 := res.Revision
	for i := 0; i < 20; i++ {
		if code, body, err := getBody(url + "/"); err != nil || code != 200 || !strings.Contains(body, "v2") {
			t.Fatalf("after the switch, request %d: HTTP %d %q %v; want v2's answer", i, code, body, err)
		}
	}
	if n := c.countPods(ctx, t, ns, "pyship.revision="+v1); n != 0 {
		t.Errorf("%d pod(s) of v1 left after the switch", n)
	}
	if _, err := c.cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, v1, metav1.GetOptions{}); err == nil {
		t.Errorf("v1's HorizontalPodAutoscaler is left after the switch")
	}
	if _, err := c.cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, v2, metav1.GetOptions{}); err != nil {
		t.Errorf("v2 (the same settings) has no HorizontalPodAutoscaler: %v", err)
	}
	if ing, err := c.cs.NetworkingV1().Ingresses(ns).Get(ctx, "web", metav1.GetOptions{}); err != nil {
		t.Errorf("--host made no Ingress: %v", err)
	} else if r := ing.Spec.Rules; len(r) != 1 || r[0].Host != "web.example.test" || r[0].HTTP.Paths[0].Backend.Service.Name != "web" {
		t.Errorf("Ingress rules %+v: want web.example.test to the Service web", r)
	}

	// A broken v3 (it reads a setting nobody set, and crashes at start) is refused with
	// the diagnosis the local platform gives; v2 keeps serving.
	broken := flaskProject(t, "v3")
	src, _ := os.ReadFile(filepath.Join(broken, "app.py"))
	src = bytes.Replace(src, []byte("import os\n"), []byte("import os\n\nTOKEN = os.environ[\"PYSHIP_K8S_TOKEN\"]\n"), 1)
	os.WriteFile(filepath.Join(broken, "app.py"), src, 0o644)
	start = time.Now()
	code, out, errOut = e.deploy(ctx, broken)
	if code == 0 {
		t.Fatalf("deploy of a broken v3 succeeded:\n%s%s", out, errOut)
	}
	t.Logf("TIMING broken v3 refused after %.1fs", time.Since(start).Seconds())
	if !strings.Contains(errOut, "did not become healthy") || !strings.Contains(errOut, "PYSHIP_K8S_TOKEN") || !strings.Contains(errOut, "previous revision keeps serving") {
		t.Errorf("broken v3: want the diagnosis (PYSHIP_K8S_TOKEN is not set) and that v2 keeps serving:\n%s", errOut)
	}
	if n := c.countAppObjects(ctx, t, ns, "pyship.app=web")["Deployments"]; n != 1 {
		t.Errorf("after the refused v3: %d Deployments, want v2's alone", n)
	}
	waitBody(ctx, t, url+"/", "Hello from Flask v2")

	// Rollback to v1.
	e.must(ctx, "", "rollback", "web", v1)
	for i := 0; i < 10; i++ {
		if code, body, err := getBody(url + "/"); err != nil || code != 200 || !strings.Contains(body, "v1") {
			t.Fatalf("after rollback, request %d: HTTP %d %q %v; want v1's answer", i, code, body, err)
		}
	}

	// A one-off command runs beside the replicas, with their image, and exits with its code.
	code, out, errOut = e.run(ctx, "", "exec", "web", "--", "python", "-c", "import flask; print('exec-ok', flask.__name__); raise SystemExit(3)")
	if code != 3 || !strings.Contains(out, "exec-ok flask") {
		t.Errorf("exec: exit %d (want 3)\n%s%s", code, out, errOut)
	}
	if n := c.countPods(ctx, t, ns, "pyship.exec.app=web"); n != 0 {
		t.Errorf("exec left %d pod(s)", n)
	}

	// A secret from stdin reaches the app, and only its own Secret holds it.
	const secret = "s3cr3t-k8s-sentinel-value"
	var outputs strings.Builder
	outputs.WriteString(e.must(ctx, secret+"\n", "secret", "set", "web", "GREETING"))
	waitBody(ctx, t, url+"/env", secret)
	outputs.WriteString(e.must(ctx, "", "status", "web"))
	outputs.WriteString(e.must(ctx, "", "status", "web", "--json"))
	outputs.WriteString(e.must(ctx, "", "revisions", "web", "--json"))
	outputs.WriteString(e.must(ctx, "", "secret", "list", "web"))
	if strings.Contains(outputs.String(), secret) {
		t.Errorf("pyship printed the secret value:\n%s", outputs.String())
	}
	c.assertOnlySecretHolds(ctx, t, ns, secret)

	// Logs: both replicas of the live revision, prefixed.
	logs := e.must(ctx, "", "logs", "web", "--json")
	replicas := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var l struct{ Revision, Replica, Message string }
		if json.Unmarshal([]byte(line), &l) == nil && l.Replica != "" {
			replicas[l.Revision+"/"+l.Replica] = true
		}
	}
	if len(replicas) < 2 {
		t.Errorf("logs show %d replica(s), want both: %v\n%s", len(replicas), replicas, logs)
	}
	if strings.Contains(logs, secret) {
		t.Errorf("the logs hold the secret value")
	}
	// logs -f: a request made after it started shows up.
	fctx, fcancel := context.WithCancel(ctx)
	var fout syncBuffer
	fdone := make(chan int, 1)
	go func() {
		fdone <- cli.ExecuteWithInput(fctx, []string{"logs", "web", "-f", "--state-dir", e.state}, strings.NewReader(""), &fout, io.Discard)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(fout.String(), "GET /healthz") && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
	}
	fcancel()
	<-fdone
	if !strings.Contains(fout.String(), "] ") {
		t.Errorf("logs -f printed no prefixed line in 30 s:\n%s", fout.String())
	}

	// A traffic split: a fixed count (an autoscaler would change the ratio), then new code
	// as a second revision, then 50/50 between them. Both answer through the Service, with
	// a pod each; 100% to one puts it back alone.
	e.must(ctx, "", "scale", "web", "--replicas", "2", "--max-replicas", "0")
	ra := liveRevision(ctx, t, e)
	if code, out, errOut := e.deploy(ctx, flaskProject(t, "v4")); code != 0 {
		t.Fatalf("deploy v4: exit %d\n%s%s", code, out, errOut)
	}
	rb := liveRevision(ctx, t, e)
	if code, out, errOut := e.run(ctx, "", "traffic", "web", ra+"=50", rb+"=50", "--json"); code != 0 {
		c.describePods(t, ns)
		t.Fatalf("traffic split: exit %d\n%s%s", code, out, errOut)
	}
	answers := map[string]int{}
	for i := 0; i < 200; i++ {
		code, body, err := getBody(url + "/")
		if err != nil || code != 200 {
			t.Fatalf("during the split, request %d: HTTP %d %v", i, code, err)
		}
		switch {
		case strings.Contains(body, "Hello from Flask v1"):
			answers[ra]++
		case strings.Contains(body, "Hello from Flask v4"):
			answers[rb]++
		default:
			answers[body]++
		}
	}
	a, b := answers[ra], answers[rb]
	t.Logf("split 50/50 between %s and %s: %d and %d of 200 requests", ra, rb, a, b)
	// A fair coin gives 100 ± 21 (3σ) of 200: the bounds only catch a split that is not one.
	if a+b != 200 || a < 60 || b < 60 {
		t.Errorf("split 50/50: answers %v", answers)
	}
	for rev, want := range map[string]int{ra: 1, rb: 1} {
		if n := c.waitLivePods(ctx, t, ns, "pyship.revision="+rev, want); n != want {
			t.Errorf("split: %d pod(s) of %s, want %d", n, rev, want)
		}
	}
	if st := e.must(ctx, "", "revisions", "web"); !strings.Contains(st, " 50%") {
		t.Errorf("revisions during the split:\n%s", st)
	}
	e.must(ctx, "", "traffic", "web", rb+"=100")
	for i := 0; i < 20; i++ {
		if code, body, err := getBody(url + "/"); err != nil || code != 200 || !strings.Contains(body, "Hello from Flask v4") {
			t.Fatalf("after 100%% to %s, request %d: HTTP %d %q %v", rb, i, code, body, err)
		}
	}
	if n := c.waitLivePods(ctx, t, ns, "pyship.revision="+rb, 2); n != 2 {
		t.Errorf("%s runs %d pod(s) after it took all the traffic, want its 2", rb, n)
	}

	// down removes everything pyship made, and nothing else in the namespace.
	other, err := c.cs.CoreV1().ConfigMaps(ns).Create(ctx, configMap(ns, "not-pyships"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.must(ctx, "", "down", "web", "--yes")
	for kind, n := range c.countAppObjects(ctx, t, ns, "pyship.app=web") {
		if n != 0 {
			t.Errorf("after down: %d %s left", n, kind)
		}
	}
	if _, err := c.cs.CoreV1().ConfigMaps(ns).Get(ctx, other.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("down removed a ConfigMap it did not make: %v", err)
	}
	if code, out, _ := e.run(ctx, "", "down", "web", "--yes"); code != 0 || !strings.Contains(out, "not deployed") {
		t.Errorf("second down: exit %d %s", code, out)
	}
}

// liveRevision is the revision that takes all of web's traffic, as pyship revisions says.
func liveRevision(ctx context.Context, t *testing.T, e *pyshipEnv) string {
	t.Helper()
	var rows []struct {
		Name    string `json:"name"`
		Traffic int    `json:"traffic"`
	}
	out := e.must(ctx, "", "revisions", "web", "--json")
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("revisions --json: %v\n%s", err, out)
	}
	for _, r := range rows {
		if r.Traffic == 100 {
			return r.Name
		}
	}
	t.Fatalf("no revision takes all the traffic:\n%s", out)
	return ""
}
