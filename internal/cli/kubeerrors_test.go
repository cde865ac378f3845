package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pyship/pyship/internal/store"
	"github.com/pyship/pyship/internal/testutil"
)

// The error paths of a Kubernetes target that need no cluster: an API server that
// does not answer, one whose certificate is not trusted, a context that is gone, no
// kubeconfig at all. Each is one line naming the server and the context with what to
// check, exit 1 (a usage error, exit 2, where the command line is at fault), a stable
// --json code, and nothing built, pushed or recorded. No Docker engine answers either:
// a cluster's app needs none.

// closedAddr is a loopback address where nothing listens (connection refused).
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// writeKubeconfig writes a kubeconfig with contexts dev (namespace team-a) and prod
// on the cluster at server, and returns its path.
func writeKubeconfig(t *testing.T, dir, server string, contexts ...string) string {
	t.Helper()
	if len(contexts) == 0 {
		contexts = []string{"dev", "prod"}
	}
	var ctxs strings.Builder
	for _, c := range contexts {
		ns := ""
		if c == "dev" {
			ns = ", namespace: team-a"
		}
		fmt.Fprintf(&ctxs, "- name: %s\n  context: {cluster: c1, user: u1%s}\n", c, ns)
	}
	path := filepath.Join(dir, "kubeconfig")
	kc := fmt.Sprintf("apiVersion: v1\nkind: Config\nclusters:\n- name: c1\n  cluster:\n    server: %s\ncontexts:\n%scurrent-context: %s\nusers:\n- name: u1\n  user: {token: not-a-secret}\n", server, ctxs.String(), contexts[0])
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// countingServer answers 404 to everything and counts the requests: a registry and a
// wheel index that must not be reached.
func countingServer(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), &n
}

// oneLine checks that a failure printed exactly one line, "pyship: ...", with every
// want in it and no Go noise (a URL of the call, a stack).
func oneLine(t *testing.T, what, stderr string, want ...string) {
	t.Helper()
	if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "pyship: ") {
		t.Errorf("%s: stderr is not one pyship: line:\n%s", what, stderr)
	}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("%s: stderr lacks %q:\n%s", what, w, stderr)
		}
	}
	for _, noise := range []string{"https://", "http://", "goroutine", ".go:", "&{", "KUBERNETES_MASTER"} {
		if strings.Contains(stderr, noise) {
			t.Errorf("%s: stderr has %q:\n%s", what, noise, stderr)
		}
	}
}

// jsonErr checks a --json failure: stdout empty, stderr one JSON error object.
func jsonErr(t *testing.T, what string, code int, stdout, stderr, wantCode string) string {
	t.Helper()
	var e struct {
		Error struct {
			Code     string `json:"code"`
			Message  string `json:"message"`
			ExitCode int    `json:"exit_code"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(stderr), &e); err != nil || strings.Count(stderr, "\n") != 1 {
		t.Errorf("%s --json: stderr is not one JSON object (%v):\n%s", what, err, stderr)
	}
	if stdout != "" {
		t.Errorf("%s --json: stdout %q", what, stdout)
	}
	if e.Error.Code != wantCode || e.Error.ExitCode != code || code == 0 {
		t.Errorf("%s --json: exit %d, error %+v; want code %s", what, code, e.Error, wantCode)
	}
	return e.Error.Message
}

func storedApps(t *testing.T, state string) []*store.App {
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
	return apps
}

func TestKubernetesUnreachable(t *testing.T) {
	noEngine(t)
	dir := t.TempDir()
	server := closedAddr(t)
	kc := writeKubeconfig(t, dir, "https://"+server)
	reg, hits := countingServer(t)
	state := filepath.Join(dir, "state")
	target := []string{"--target", "kubernetes", "--kubeconfig", kc, "--registry", reg + "/team", "--state-dir", state}
	want := []string{"the API server " + server, "context dev, namespace team-a", "does not answer", "connection refused", "is the cluster up", "kubectl --context dev cluster-info"}

	// Deploy, from --image (the registry would be asked for its digest) and from a
	// project (the build would fetch its base image and wheels): the cluster is
	// asked first, so neither is reached, nothing is built, nothing recorded.
	start := time.Now()
	code, out, errOut := run(append([]string{"deploy", "--app", "web", "--image", reg + "/team/web:1", "--port", "8000"}, target...)...)
	if code != 1 || out != "" {
		t.Errorf("deploy --image: exit %d, stdout %q", code, out)
	}
	oneLine(t, "deploy --image", errOut, append(want, "cannot deploy")...)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("deploy took %s to find a closed port", d)
	}
	proj := testutil.WriteProject(t, map[string]string{"requirements.txt": "flask\ngunicorn\n", "app.py": "from flask import Flask\napp = Flask(__name__)\n"})
	cache := t.TempDir()
	code, _, errOut = run(append([]string{"deploy", proj, "--app", "web", "--base", "registry:" + reg + "/python:3.12-slim",
		"-i", "http://" + reg + "/simple/", "--cache-dir", cache}, target...)...)
	if code != 1 {
		t.Errorf("deploy DIR: exit %d", code)
	}
	oneLine(t, "deploy DIR", errOut, want...)
	code, out, errOut = run(append([]string{"deploy", "--app", "web", "--image", reg + "/team/web:1", "--port", "8000", "--json"}, target...)...)
	jsonErr(t, "deploy", code, out, errOut, "cluster_unreachable")
	if n := hits.Load(); n != 0 {
		t.Errorf("the registry or index got %d request(s) before the cluster was checked", n)
	}
	if entries, _ := os.ReadDir(cache); len(entries) != 0 {
		t.Errorf("the build cache has %d entries: the deploy built before checking the cluster", len(entries))
	}
	if apps := storedApps(t, state); len(apps) != 0 {
		t.Errorf("a failed deploy recorded %d app(s)", len(apps))
	}

	// An app recorded with this target (as its first deploy left it): every command
	// on it says the same (a traffic split too).
	st, err := store.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	app := &store.App{Name: "api", Replicas: 1, Probe: "/", Port: 8000, Env: map[string]string{}, Secrets: map[string]string{}, Live: "api--1",
		Target: store.Target{Kind: store.Kubernetes, Context: "dev", Namespace: "team-a", Registry: reg + "/team", Kubeconfig: kc}}
	if err := st.Put(app); err != nil {
		t.Fatal(err)
	}
	st.Close()
	for _, args := range [][]string{
		{"status", "api"}, {"logs", "api"}, {"revisions", "api"}, {"env", "set", "api", "A=1"}, {"rollback", "api", "api--0"},
		{"scale", "api", "--replicas", "2"}, {"traffic", "api", "api--1=100"}, {"traffic", "api", "api--1=50", "api--2=50"}, {"down", "api", "--yes"},
	} {
		what := strings.Join(args, " ")
		code, out, errOut := run(append(args, "--state-dir", state)...)
		if code != 1 || out != "" {
			t.Errorf("%s: exit %d, stdout %q", what, code, out)
		}
		oneLine(t, what, errOut, want...)
		code, out, errOut = run(append(args, "--state-dir", state, "--json")...)
		jsonErr(t, what, code, out, errOut, "cluster_unreachable")
	}
	// ls lists it without an engine (there is none here).
	code, out, _ = run("ls", "--state-dir", state, "--json")
	if code != 0 || !strings.Contains(out, `"target": "kubernetes (dev/team-a)"`) {
		t.Errorf("ls: exit %d\n%s", code, out)
	}
	if apps := storedApps(t, state); len(apps) != 1 || len(apps[0].Revisions) != 0 {
		t.Errorf("the failed commands changed the record: %+v", apps)
	}

	// The context the app was deployed to has left the kubeconfig since.
	writeKubeconfig(t, dir, "https://"+server, "prod", "staging")
	code, out, errOut = run("status", "api", "--state-dir", state)
	if code != 1 || out != "" {
		t.Errorf("status, context gone: exit %d, stdout %q", code, out)
	}
	oneLine(t, "status, context gone", errOut, `the app runs on kubernetes (dev/team-a): context "dev" is not in kubeconfig `+kc+" (its contexts: prod, staging)")
	code, out, errOut = run("status", "api", "--state-dir", state, "--json")
	jsonErr(t, "status, context gone", code, out, errOut, "kubeconfig")
}

// An API server whose certificate the kubeconfig does not trust (another cluster at
// the address, a stale certificate-authority): said so, not "does not answer".
func TestKubernetesUntrustedServer(t *testing.T) {
	noEngine(t)
	var hits atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the client's refused handshakes
	srv.StartTLS()
	defer srv.Close()
	dir := t.TempDir()
	kc := writeKubeconfig(t, dir, srv.URL)
	host := strings.TrimPrefix(srv.URL, "https://")
	args := []string{"deploy", "--app", "web", "--image", "127.0.0.1:1/team/web:1", "--port", "8000", "--target", "kubernetes", "--kubeconfig", kc, "--registry", "127.0.0.1:1/team", "--state-dir", filepath.Join(dir, "state")}
	code, _, errOut := run(args...)
	if code != 1 {
		t.Errorf("exit %d", code)
	}
	oneLine(t, "untrusted", errOut, "the API server "+host+" (context dev, namespace team-a) has a certificate the kubeconfig does not trust", "x509: certificate signed by unknown authority", "kubectl --context dev cluster-info")
	code, out, errOut := run(append(args, "--json")...)
	jsonErr(t, "untrusted", code, out, errOut, "cluster_untrusted")
	if hits.Load() != 0 {
		t.Errorf("%d request(s) went to an untrusted server", hits.Load())
	}
}

// No kubeconfig anywhere (KUBECONFIG names a missing file, an empty home) and not in
// a pod: the message says where it looked and how to get one.
func TestKubernetesNoKubeconfig(t *testing.T) {
	noEngine(t)
	home := t.TempDir()
	missing := filepath.Join(home, "no", "config")
	t.Setenv("HOME", home)
	t.Setenv("KUBECONFIG", missing)
	t.Setenv("KUBERNETES_SERVICE_HOST", "") // as outside a pod, wherever the test runs
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	state := filepath.Join(home, "state")
	args := []string{"deploy", "--app", "web", "--image", "127.0.0.1:1/team/web:1", "--port", "8000", "--target", "kubernetes", "--registry", "127.0.0.1:1/team", "--state-dir", state}
	code, _, errOut := run(args...)
	if code != 1 {
		t.Errorf("exit %d", code)
	}
	oneLine(t, "no kubeconfig", errOut, "kubeconfig: none at "+missing+", and pyship does not run in a pod: set KUBECONFIG or pass --kubeconfig FILE")
	code, out, errOut := run(append(args, "--json")...)
	jsonErr(t, "no kubeconfig", code, out, errOut, "kubeconfig")
	// A --context given with no kubeconfig is the command line's fault.
	code, _, errOut = run(append(args, "--context", "dev")...)
	if code != 2 || !strings.Contains(errOut, `context "dev" is not in kubeconfig `+missing+" (missing) (it has no contexts)") {
		t.Errorf("--context without a kubeconfig: exit %d\n%s", code, errOut)
	}
	if _, err := os.Stat(state); err == nil {
		if apps := storedApps(t, state); len(apps) != 0 {
			t.Errorf("recorded %d app(s)", len(apps))
		}
	}
}
