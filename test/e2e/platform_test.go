package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pyship/pyship/internal/cli"
	"github.com/pyship/pyship/internal/engine"
	"github.com/pyship/pyship/internal/platform"
	"github.com/pyship/pyship/internal/store"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		a := l.Addr().(*net.TCPAddr)
		l.Close()
		// The admin port is the next one: both must be free.
		if l2, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", a.Port+1)); err == nil {
			l2.Close()
			return a.String()
		}
	}
}

// platformEnv is what a platform test runs against: fixtures, the engine, a state
// directory of its own and its gateway. Cleanup takes the apps down and removes the
// gateway.
type platformEnv struct {
	base, index string
	eng         *engine.Client
	state, gw   string
	gwName      string
	// stateLabel selects the containers of this state directory alone: another run of
	// the same test on the engine has the same app and revision names.
	stateLabel string
	c          platformCLI
}

func newPlatformEnv(t *testing.T, apps ...string) *platformEnv {
	t.Helper()
	base, indexDir := fixtures(t)
	e := &platformEnv{base: base, index: serveIndex(t, indexDir), state: t.TempDir(), gw: freeAddr(t)}
	eng, err := engine.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	e.eng = eng
	e.gwName = (&platform.Platform{Store: &store.Store{Dir: e.state}}).GatewayName()
	e.stateLabel = platform.LabelState + "=" + (&platform.Platform{Store: &store.Store{Dir: e.state}}).StateID()
	e.c = platformCLI{t: t, flags: []string{"--state-dir", e.state, "--gateway", e.gw}}
	t.Cleanup(func() {
		for _, a := range apps {
			e.c.run("", "down", a, "--yes")
		}
		// A test that restarts the engine leaves this client's connection stale.
		if eng, err := engine.New(context.Background()); err == nil {
			eng.Remove(context.Background(), e.gwName)
			eng.Close()
		}
		e.eng.Close()
	})
	return e
}

// platformCLI runs pyship with the platform flags of this test.
type platformCLI struct {
	t     *testing.T
	flags []string
}

func (c platformCLI) run(stdin string, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	root := append(args, c.flags...)
	code := cli.ExecuteWithInput(context.Background(), root, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// exec runs pyship exec with the platform flags before the "--" that starts COMMAND.
func (c platformCLI) exec(stdin string, args []string, command ...string) (int, string, string) {
	var out, errb bytes.Buffer
	all := append(append(append(append([]string{"exec"}, args...), c.flags...), "--"), command...)
	code := cli.ExecuteWithInput(context.Background(), all, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func (c platformCLI) must(stdin string, args ...string) string {
	c.t.Helper()
	code, out, errOut := c.run(stdin, args...)
	if code != 0 {
		c.t.Fatalf("pyship %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// load sends requests through the gateway without pause and records every answer.
type load struct {
	mu       sync.Mutex
	bodies   []string
	failures []string
	ok       atomic.Int64
	stop     chan struct{}
	wg       sync.WaitGroup
}

func startLoad(url, host string, workers int) *load {
	l := &load{stop: make(chan struct{})}
	client := &http.Client{Timeout: 30 * time.Second}
	for i := 0; i < workers; i++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				req, _ := http.NewRequest("GET", url, nil)
				req.Host = host
				resp, err := client.Do(req)
				if err != nil {
					l.fail(err.Error())
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					l.fail(fmt.Sprintf("%d %s", resp.StatusCode, b))
					continue
				}
				l.ok.Add(1)
				l.mu.Lock()
				l.bodies = append(l.bodies, string(b))
				l.mu.Unlock()
			}
		}()
	}
	return l
}

func (l *load) fail(s string) {
	l.mu.Lock()
	l.failures = append(l.failures, s)
	l.mu.Unlock()
}

// since returns the bodies recorded after mark.
func (l *load) mark() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.bodies)
}

func (l *load) after(mark int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.bodies[mark:]...)
}

// TestPlatform deploys the flask example behind the gateway and changes it while a
// load generator runs: v2 by a settings change, a broken v3, a rollback to v1, a
// secret. No request may fail, and the secret may show nowhere but in the app.
func TestPlatform(t *testing.T) {
	e := newPlatformEnv(t, "web")
	ctx, eng, c, gw, state, base, index := context.Background(), e.eng, e.c, e.gw, e.state, e.base, e.index

	dir := filepath.Join(t.TempDir(), "flask")
	copyDir(t, filepath.Join("..", "..", "examples", "flask"), dir)
	out := c.must("", "deploy", dir, "--app", "web", "--replicas", "2", "--env", "GREETING=v1", "--base", base, "-i", index, "--cache-dir", t.TempDir())
	if !strings.Contains(out, "serving at http://web.localhost:") {
		t.Fatalf("deploy v1:\n%s", out)
	}
	v1 := strings.Fields(out[strings.Index(out, "web: revision ")+len("web: revision "):])[0]

	l := startLoad("http://"+gw+"/env", "web.localhost", 8)
	defer func() { close(l.stop); l.wg.Wait() }()
	time.Sleep(time.Second)
	if l.ok.Load() == 0 {
		t.Fatalf("no answer through the gateway: %v", l.failures)
	}

	// v2: a settings change is a new revision, switched with no failed request.
	start := time.Now()
	c.must("", "env", "set", "web", "GREETING=v2")
	switchTime := time.Since(start)
	mark := l.mark()
	time.Sleep(500 * time.Millisecond)
	for _, b := range l.after(mark) {
		if !strings.Contains(b, `"v2"`) {
			t.Fatalf("after the switch to v2 a response came from elsewhere: %s", b)
		}
	}

	// v3 is broken: it never becomes healthy, gets no traffic, and deploy says why. (It
	// fails when it starts, importing a module the image lacks: a syntax error is now
	// refused by detection, before any build.)
	broken := filepath.Join(t.TempDir(), "broken")
	copyDir(t, dir, broken)
	os.WriteFile(filepath.Join(broken, "app.py"), []byte("import flask_cors_missing\nfrom flask import Flask\napp = Flask(__name__)\n"), 0o644)
	code, bout, berr := c.run("", "deploy", broken, "--app", "web", "--base", base, "-i", index, "--cache-dir", t.TempDir())
	if code == 0 || !strings.Contains(berr, "no module flask_cors_missing") || !strings.Contains(berr, "previous revision keeps serving") || !strings.Contains(berr, "pyship rollback web web--") {
		t.Fatalf("broken deploy: exit %d\n%s%s", code, bout, berr)
	}
	mark = l.mark()
	time.Sleep(500 * time.Millisecond)
	for _, b := range l.after(mark) {
		if !strings.Contains(b, `"v2"`) {
			t.Fatalf("while v3 failed, a response did not come from v2: %s", b)
		}
	}

	// Roll back to v1.
	c.must("", "rollback", "web", v1)
	mark = l.mark()
	time.Sleep(500 * time.Millisecond)
	for _, b := range l.after(mark) {
		if !strings.Contains(b, `"v1"`) {
			t.Fatalf("after the rollback to v1: %s", b)
		}
	}

	// A secret reaches the app by reference and shows nowhere else.
	const secret = "e2e-platform-secret-5512"
	c.must("", "env", "unset", "web", "GREETING")
	secretOut := c.must(secret+"\n", "secret", "set", "web", "GREETING")
	mark = l.mark()
	time.Sleep(500 * time.Millisecond)
	got := l.after(mark)
	if len(got) == 0 || !strings.Contains(got[len(got)-1], secret) {
		t.Fatalf("the secret did not reach the app: %v", got)
	}

	if n := len(l.failures); n > 0 {
		t.Fatalf("%d of %d requests failed during the changes (v2 switch took %s): %v", n, int64(n)+l.ok.Load(), switchTime, l.failures[:min(5, n)])
	}
	t.Logf("%d requests through the gateway, 0 failed; v2 deploy (build cached) took %s", l.ok.Load(), switchTime)

	// Nothing shows the secret: container configs, the store, pyship's own outputs.
	var outputs strings.Builder
	outputs.WriteString(secretOut)
	for _, args := range [][]string{{"secret", "list", "web", "--json"}, {"status", "web", "--json"}, {"revisions", "web", "--json"}, {"env", "list", "web"}} {
		outputs.WriteString(c.must("", args...))
	}
	if strings.Contains(outputs.String(), secret) {
		t.Errorf("a pyship output shows the secret:\n%s", outputs.String())
	}
	cs, _ := eng.List(ctx, e.stateLabel, "pyship.app=web")
	if len(cs) != 2 {
		t.Errorf("%d replicas running, want 2", len(cs))
	}
	for _, ct := range cs {
		raw, _ := eng.InspectContainerRaw(ctx, ct.ID)
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("docker inspect %s shows the secret", ct.Name)
		}
	}
	filepath.Walk(state, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || strings.Contains(p, "/secrets/") {
			return nil
		}
		if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s holds the secret in clear", p)
		}
		return nil
	})
	for _, p := range []string{filepath.Join(state, "secrets", "web", "GREETING")} {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v, want 0600", p, st.Mode(), err)
		}
	}

	// Logs merge both replicas.
	logs := c.must("", "logs", "web", "--tail", "50")
	if !strings.Contains(logs, "/0] ") || !strings.Contains(logs, "/1] ") {
		t.Errorf("logs do not show both replicas:\n%s", logs)
	}
	var revs []struct{ Name, State string }
	json.Unmarshal([]byte(c.must("", "revisions", "web", "--json")), &revs)
	states := map[string]int{}
	for _, r := range revs {
		states[r.State]++
	}
	if states["ready"] != 1 || states["failed"] != 1 || states["retired"] < 2 {
		t.Errorf("revision states %v", states)
	}
}

// TestPlatformFaults: a deploy killed with SIGKILL mid-way leaves the old revision
// serving and the next command cleans up; a restarted gateway brings its routes back.
func TestPlatformFaults(t *testing.T) {
	e := newPlatformEnv(t, "faulty")
	ctx, eng, c, gw, state, gwName, base, index := context.Background(), e.eng, e.c, e.gw, e.state, e.gwName, e.base, e.index
	dir := filepath.Join(t.TempDir(), "flask")
	copyDir(t, filepath.Join("..", "..", "examples", "flask"), dir)
	tag := "pyship-e2e/platform-faults:1"
	pyship(t, "build", dir, "--base", base, "-i", index, "--cache-dir", t.TempDir(), "-t", tag)
	t.Cleanup(func() { eng.RemoveImage(context.Background(), tag) })
	c.must("", "deploy", "--image", tag, "--app", "faulty", "--port", "5000", "--env", "GREETING=v1")
	ask := func() (int, string) {
		req, _ := http.NewRequest("GET", "http://"+gw+"/env", nil)
		req.Host = "faulty.localhost"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := ask(); code != 200 || !strings.Contains(body, "v1") {
		t.Fatalf("v1: %d %s", code, body)
	}
	before, _ := eng.List(ctx, e.stateLabel, "pyship.app=faulty")

	// kill -9 a deploy once its replica exists, before it is healthy.
	exe, _ := os.Executable()
	cmd := exec.Command(exe, append([]string{"deploy", "--image", tag, "--app", "faulty", "--port", "5000", "--env", "GREETING=v2"}, c.flags...)...)
	cmd.Env = append(os.Environ(), "PYSHIP_MAIN=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		cs, _ := eng.List(ctx, e.stateLabel, "pyship.app=faulty")
		if len(cs) > len(before) {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the deploy never started its replica")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if code, body := ask(); code != 200 || !strings.Contains(body, "v1") {
		t.Fatalf("after kill -9 of a deploy, v1 must still serve: %d %s", code, body)
	}
	var revs []struct{ Name, State, Reason string }
	_, revsOut, lastErr := c.run("", "revisions", "faulty", "--json")
	json.Unmarshal([]byte(revsOut), &revs)
	if len(revs) != 2 || revs[1].State != "failed" || !strings.Contains(revs[1].Reason, "interrupted") {
		t.Errorf("after the next command: %+v", revs)
	}
	if after, _ := eng.List(ctx, e.stateLabel, "pyship.app=faulty"); len(after) != len(before) {
		t.Errorf("the killed deploy's replica is still there: %d containers, want %d\n%s", len(after), len(before), lastErr)
	}

	// The gateway restarts (crash, engine restart): its routes come back.
	if err := eng.Restart(ctx, gwName); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(20 * time.Second)
	for {
		code, body := ask()
		if code == 200 && strings.Contains(body, "v1") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a gateway restart: %d %s", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// And the platform still deploys.
	c.must("", "deploy", "--image", tag, "--app", "faulty", "--port", "5000", "--env", "GREETING=v2")
	if code, body := ask(); code != 200 || !strings.Contains(body, "v2") {
		t.Fatalf("v2: %d %s", code, body)
	}
	// Traffic split between v1 and v2, sticky per client.
	var revs2 []struct{ Name, State string }
	json.Unmarshal([]byte(c.must("", "revisions", "faulty", "--json")), &revs2)
	var v1, v2 string
	for _, r := range revs2 {
		if r.State == "retired" && v1 == "" {
			v1 = r.Name
		}
		if r.State == "ready" {
			v2 = r.Name
		}
	}
	c.must("", "traffic", "faulty", v1+"=50", v2+"=50")
	seen := map[string]bool{}
	var cookie *http.Cookie
	for i := 0; i < 60 && len(seen) < 2; i++ {
		req, _ := http.NewRequest("GET", "http://"+gw+"/env", nil)
		req.Host = "faulty.localhost"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		seen[string(b)] = true
		if cs := resp.Cookies(); len(cs) > 0 {
			cookie = cs[0]
		}
	}
	if len(seen) != 2 || cookie == nil {
		t.Fatalf("a 50/50 split answered %v (cookie %v)", seen, cookie)
	}
	first := ""
	for i := 0; i < 10; i++ {
		req, _ := http.NewRequest("GET", "http://"+gw+"/env", nil)
		req.Host = "faulty.localhost"
		req.AddCookie(cookie)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if first == "" {
			first = string(b)
		} else if string(b) != first {
			t.Fatalf("a client with the cookie moved between revisions: %s then %s", first, b)
		}
	}

	// logs -f follows replicas that start after it.
	lctx, lcancel := context.WithCancel(ctx)
	var lout syncBuffer
	ldone := make(chan struct{})
	go func() {
		cli.ExecuteWithInput(lctx, append([]string{"logs", "faulty", "-f"}, c.flags...), strings.NewReader(""), &lout, io.Discard)
		close(ldone)
	}()
	time.Sleep(time.Second)
	c.must("", "scale", "faulty", "--replicas", "2")
	deadline = time.Now().Add(20 * time.Second)
	for !strings.Contains(lout.String(), "/1] ") && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	lcancel()
	<-ldone
	if !strings.Contains(lout.String(), "/1] ") {
		t.Errorf("logs -f did not pick up the replica started later:\n%s", lout.String())
	}

	// An app that rejects the gateway's host name (Django's ALLOWED_HOSTS) is refused
	// with that diagnosis, not sent users it answers 400.
	picky := filepath.Join(t.TempDir(), "picky")
	copyDir(t, dir, picky)
	os.WriteFile(filepath.Join(picky, "app.py"), []byte(`from flask import Flask, abort, request
app = Flask(__name__)
@app.get("/")
def index():
    if request.host.split(":")[0].endswith(".localhost"):
        abort(400)
    return "ok"
`), 0o644)
	code, _, perr := c.run("", "deploy", picky, "--app", "faulty", "--base", base, "-i", index, "--cache-dir", t.TempDir())
	if code == 0 || !strings.Contains(perr, "rejects the host name") || !strings.Contains(perr, "ALLOWED_HOSTS") {
		t.Errorf("host-rejecting app: exit %d\n%s", code, perr)
	}
	if code, body := ask(); code != 200 || !strings.Contains(body, "v2") {
		t.Errorf("after the refused deploy: %d %s", code, body)
	}

	// A gateway port another program holds is named, with the way out.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	c2 := platformCLI{t: t, flags: []string{"--state-dir", t.TempDir(), "--gateway", busy.Addr().String()}}
	if code, _, e := c2.run("", "gateway", "start"); code == 0 || !strings.Contains(e, "another program uses it") {
		t.Errorf("busy gateway port: exit %d %s", code, e)
	}

	// Bad input: unknown app and revision, bad env syntax.
	for _, args := range [][]string{{"status", "nosuch"}, {"rollback", "faulty", "faulty--00000000"}, {"env", "set", "faulty", "1BAD=x"}, {"traffic", "faulty", "faulty--00000000=100"}} {
		if code, _, errOut := c.run("", args...); code == 0 || errOut == "" {
			t.Errorf("%v: exit %d", args, code)
		}
	}

	// The refused deploy left its image as the app's desired one (as Container Apps
	// keeps a failed template); `rollback APP LIVE`, the way out its error names, makes
	// the serving revision's spec the settings again, so the next change builds on it
	// and not on the refused image.
	var live struct{ Live string }
	json.Unmarshal([]byte(c.must("", "status", "faulty", "--json")), &live)
	if !strings.Contains(perr, "pyship rollback faulty "+live.Live) {
		t.Errorf("the refused deploy does not name the way back (rollback faulty %s):\n%s", live.Live, perr)
	}
	c.must("", "rollback", "faulty", live.Live)

	// Secrets are environment variables; files under /run/secrets only on request.
	const secret = "faults-secret-8812"
	c.must("", "env", "unset", "faulty", "GREETING")
	c.must(secret+"\n", "secret", "set", "faulty", "GREETING")

	// A one-off command runs in a new container of the live revision, with its
	// settings and secrets, streams both outputs, returns its exit code, takes no
	// traffic and leaves nothing behind.
	replicasBefore, _ := eng.List(ctx, platform.LabelApp+"=faulty", platform.LabelState+"="+platformOf(c).StateID())
	code, out, errOut := c.exec("", []string{"faulty"}, "sh", "-c", `echo "out-$GREETING-$PORT"; echo to-stderr >&2; exit 7`)
	if code != 7 || !strings.Contains(out, "out-"+secret+"-5000") || !strings.Contains(errOut, "to-stderr") {
		t.Errorf("exec: exit %d, want 7 with the secret and the port in the output\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if _, out, _ := c.exec("input-for-the-command\n", []string{"faulty", "-i"}, "cat"); !strings.Contains(out, "input-for-the-command") {
		t.Errorf("exec -i: stdin did not reach the command: %q", out)
	}
	if cs, _ := eng.List(ctx, platform.LabelExec+"=faulty"); len(cs) > 0 {
		t.Errorf("exec left %d container(s)", len(cs))
	}
	if after, _ := eng.List(ctx, platform.LabelApp+"=faulty", platform.LabelState+"="+platformOf(c).StateID()); len(after) != len(replicasBefore) {
		t.Errorf("exec changed the replicas: %d before, %d after", len(replicasBefore), len(after))
	}
	if code, _, errOut := c.exec("", []string{"faulty", "--revision", "faulty--00000000"}, "true"); code == 0 || !strings.Contains(errOut, "no revision") {
		t.Errorf("exec in an unknown revision: exit %d %s", code, errOut)
	}

	liveReplica := func() string {
		t.Helper()
		var st struct{ Live string }
		json.Unmarshal([]byte(c.must("", "status", "faulty", "--json")), &st)
		cs, _ := eng.List(ctx, e.stateLabel, "pyship.revision="+st.Live)
		if len(cs) == 0 {
			t.Fatalf("no replica of %q", st.Live)
		}
		return cs[0].ID
	}
	if b, err := eng.ReadFile(ctx, liveReplica(), "/run/secrets/GREETING", 1024); err == nil {
		t.Errorf("/run/secrets/GREETING exists without secret files on: %q", b)
	}
	c.must("", "secret", "files", "faulty", "on")
	if b, err := eng.ReadFile(ctx, liveReplica(), "/run/secrets/GREETING", 1024); err != nil || string(b) != secret {
		t.Errorf("secret files on: /run/secrets/GREETING = %q, %v", b, err)
	}
	if code, body := ask(); code != 200 || !strings.Contains(body, secret) {
		t.Fatalf("the secret as env var: %d %s", code, body)
	}

	// The state directory is lost: the containers' labels and the gateway's table
	// rebuild the app, the secret's value comes back from a running replica, the app
	// never stops answering, and the next change rolls out over the old replicas.
	var before2 struct{ Live string }
	json.Unmarshal([]byte(c.must("", "status", "faulty", "--json")), &before2)
	if err := os.RemoveAll(state); err != nil {
		t.Fatal(err)
	}
	if code, body := ask(); code != 200 || !strings.Contains(body, secret) {
		t.Fatalf("after the state was lost: %d %s", code, body)
	}
	// A replica that crashes now, before any pyship command, is restarted by the
	// engine alone: its secrets are in its own filesystem, not in the lost state.
	servingCs, _ := eng.List(ctx, e.stateLabel, "pyship.revision="+before2.Live)
	if len(servingCs) == 0 {
		t.Fatalf("no replica of %s", before2.Live)
	}
	lost := servingCs[0].ID
	st, _, err := eng.Inspect(ctx, lost)
	if err != nil || st.Pid == 0 {
		t.Fatalf("inspect %s: %+v %v", lost, st, err)
	}
	if err := syscall.Kill(st.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); ; {
		now, _, _ := eng.Inspect(ctx, lost)
		code, body, _ := get("http://127.0.0.1:" + servingCs[0].Labels["pyship.hostport"] + "/env") // this replica, not the gateway's choice
		if now.Running && now.Pid != st.Pid && code == 200 {
			if !strings.Contains(body, secret) {
				t.Errorf("the replica restarted after the state was lost answers without its secret: %s", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica did not come back after a crash: %+v %d %s", now, code, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var apps []struct{ Name, Live string }
	json.Unmarshal([]byte(c.must("", "ls", "--json")), &apps)
	if len(apps) != 1 || apps[0].Name != "faulty" || apps[0].Live != before2.Live {
		t.Fatalf("ls after the state was lost: %+v, want faulty serving %s", apps, before2.Live)
	}
	if out := c.must("", "secret", "list", "faulty"); !strings.Contains(out, "GREETING=********") {
		t.Errorf("the secret's value was not recovered: %s", out)
	}
	c.must("", "env", "set", "faulty", "AFTER=1")
	if code, body := ask(); code != 200 || !strings.Contains(body, secret) {
		t.Fatalf("the revision after the recovery lost the secret: %d %s", code, body)
	}
	if b, err := eng.ReadFile(ctx, liveReplica(), "/run/secrets/GREETING", 1024); err != nil || string(b) != secret {
		t.Errorf("after the recovery: /run/secrets/GREETING = %q, %v", b, err)
	}
	var revs3 []struct{ Name, State string }
	json.Unmarshal([]byte(c.must("", "revisions", "faulty", "--json")), &revs3)
	if len(revs3) != 2 || revs3[0].Name != before2.Live || revs3[0].State != "retired" || revs3[1].State != "ready" {
		t.Errorf("revisions after the recovery and a change: %+v", revs3)
	}
	if cs, _ := eng.List(ctx, e.stateLabel, "pyship.app=faulty"); len(cs) != 2 { // scaled to 2 above
		t.Errorf("%d replicas after the change, want 2 of the new revision", len(cs))
	}

	// Another state directory sees none of this one's apps: it neither adopts them
	// (ls) nor removes them (down of an app with the same name).
	other := platformCLI{t: t, flags: []string{"--state-dir", t.TempDir(), "--gateway", freeAddr(t)}}
	if out := other.must("", "ls", "--json"); strings.Contains(out, "faulty") {
		t.Errorf("another state directory adopted this one's app: %s", out)
	}
	if code, out, errOut := other.run("", "down", "faulty", "--yes"); code != 0 || !strings.Contains(out, "not deployed") {
		t.Errorf("down of an app another state directory owns: exit %d\n%s%s", code, out, errOut)
	}
	if code, body := ask(); code != 200 || !strings.Contains(body, secret) {
		t.Errorf("after another state directory's down: %d %s", code, body)
	}

	// down asks: without a terminal it needs --yes, and removes nothing until then.
	if code, _, errOut := c.run("", "down", "faulty"); code != 2 || !strings.Contains(errOut, "--yes") {
		t.Errorf("down without --yes and without a terminal: exit %d %s", code, errOut)
	}
	if code, body := ask(); code != 200 {
		t.Errorf("down without --yes removed the app: %d %s", code, body)
	}
	// down removes the images pyship built for the app (the refused host-rejecting
	// one, whose revision record went with the deleted state directory above), not the
	// image given with --image; a second down is not an error.
	built, err := eng.ImageTags(ctx, platform.LabelBuildState+"="+platformOf(c).StateID(), platform.LabelBuildApp+"=faulty")
	if err != nil || len(built) == 0 {
		t.Fatalf("no image labelled as built for faulty: %v %v", built, err)
	}
	var res struct {
		Existed bool `json:"existed"`
		Images  struct{ Removed, Kept []string }
	}
	if err := json.Unmarshal([]byte(c.must("", "down", "faulty", "--yes", "--json")), &res); err != nil || !res.Existed || len(res.Images.Removed) != len(built) {
		t.Errorf("down --json: %+v %v, want the %d built image(s) %v removed", res, err, len(built), built)
	}
	for _, ref := range built {
		if _, found, _ := eng.Image(ctx, ref); found {
			t.Errorf("down left the image %s", ref)
		}
	}
	if _, found, _ := eng.Image(ctx, tag); !found {
		t.Errorf("down removed the image given with --image (%s); built %v, down said %+v", tag, built, res)
	}
	if out := c.must("", "down", "faulty", "--yes"); !strings.Contains(out, "not deployed") {
		t.Errorf("second down: %s", out)
	}
	// The gateway can be stopped, twice.
	var gs struct {
		WasRunning bool `json:"was_running"`
	}
	json.Unmarshal([]byte(c.must("", "gateway", "stop", "--json")), &gs)
	if !gs.WasRunning {
		t.Error("gateway stop: it was not running")
	}
	if _, found, _ := eng.Inspect(ctx, platformOf(c).GatewayName()); found {
		t.Error("gateway stop left its container")
	}
	if out := c.must("", "gateway", "stop"); !strings.Contains(out, "not running") {
		t.Errorf("second gateway stop: %s", out)
	}
}

// platformOf is a Platform on a CLI's state directory, for its names.
func platformOf(c platformCLI) *platform.Platform {
	for i, f := range c.flags {
		if f == "--state-dir" && i+1 < len(c.flags) {
			return &platform.Platform{Store: &store.Store{Dir: c.flags[i+1]}}
		}
	}
	return &platform.Platform{Store: &store.Store{}}
}
