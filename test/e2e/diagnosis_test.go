package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pyship/pyship/internal/cli"
	"github.com/pyship/pyship/internal/platform"
)

// diagProject writes a Flask app with gunicorn in its dependencies, the given Procfile
// (none when empty) and, with slow, an import that takes 7 s.
func diagProject(t *testing.T, name, procfile string, slow bool) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	os.MkdirAll(dir, 0o755)
	app := "import os\nfrom flask import Flask\napp = Flask(__name__)\nTOKEN = os.environ.get('DIAG_API_TOKEN')\n\n@app.get('/')\ndef index():\n    return 'diag ok\\n'\n"
	if slow {
		app = "import time\ntime.sleep(7)\n" + app
	}
	os.WriteFile(filepath.Join(dir, "app.py"), []byte(app), 0o644)
	os.WriteFile(filepath.Join(dir, "requirements.txt"), []byte("flask\ngunicorn\n"), 0o644)
	if procfile != "" {
		os.WriteFile(filepath.Join(dir, "Procfile"), []byte(procfile), 0o644)
	}
	return dir
}

// TestDeployDiagnosis: an app that listens on another port or on 127.0.0.1 is reported
// as soon as that is clear (not at the 90 s start timeout) with the fix, never naming
// the engine's DNS listener; a first deploy that fails says nothing serves yet, and the
// gateway answers 503 naming the app and its failed revision rather than "no app"; a
// slow start shows progress.
func TestDeployDiagnosis(t *testing.T) {
	e := newPlatformEnv(t, "diagapp")
	c, cache := e.c, t.TempDir()
	build := []string{"--base", e.base, "-i", e.index, "--cache-dir", cache}
	// The old code reported these only at its fixed 90 s timeout: a context that ends
	// well before it tells a timely diagnosis from that one.
	deploy := func(args ...string) (int, string, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		var out, errb syncBuffer
		code := cli.ExecuteWithInput(ctx, append(append(args, build...), c.flags...), strings.NewReader(""), &out, &errb)
		return code, out.String(), errb.String()
	}
	ask := func() (int, string) {
		req, _ := http.NewRequest("GET", "http://"+e.gw+"/", nil)
		req.Host = "diagapp.localhost"
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	// Another port: the app binds 8000 whatever PORT says; pyship probes 5000.
	other := diagProject(t, "other", "web: gunicorn --bind 0.0.0.0:8000 app:app\n", false)
	code, _, errOut := deploy("deploy", other, "--app", "diagapp", "--port", "5000")
	if code == 0 || !strings.Contains(errOut, "0.0.0.0:8000") || !strings.Contains(errOut, "--port 8000") {
		t.Fatalf("app on another port: exit %d, want the listener and --port 8000 named:\n%s", code, errOut)
	}
	if strings.Contains(errOut, "127.0.0.11") {
		t.Errorf("the engine's DNS listener is named as the app's:\n%s", errOut)
	}
	// Before the build: the secret the code reads, with the command that sets it.
	if !strings.Contains(errOut, "warning: app.py:4 reads the secret DIAG_API_TOKEN without a default, and nothing sets it: pyship secret set diagapp DIAG_API_TOKEN") {
		t.Errorf("no warning about the secret the code reads:\n%s", errOut)
	}
	// Nothing served before: no "previous revision" to keep serving.
	if strings.Contains(errOut, "previous revision keeps serving") || !strings.Contains(errOut, "nothing serves diagapp yet") {
		t.Errorf("a failed first deploy must say nothing serves yet:\n%s", errOut)
	}
	// The app exists (ls lists it) and the gateway says why it does not serve.
	var apps []map[string]any
	_, lsOut, _ := c.run("", "ls", "--json")
	json.Unmarshal([]byte(lsOut), &apps)
	listed := false
	for _, a := range apps {
		for _, v := range a {
			listed = listed || v == "diagapp"
		}
	}
	if !listed {
		t.Errorf("pyship ls does not list diagapp:\n%s", lsOut)
	}
	var revs []struct{ Name, State string }
	json.Unmarshal([]byte(c.must("", "revisions", "diagapp", "--json")), &revs)
	if len(revs) != 1 || revs[0].State != "failed" {
		t.Fatalf("revisions after the failed first deploy: %+v", revs)
	}
	if code, body := ask(); code != 503 || strings.Contains(body, "no app") || !strings.Contains(body, revs[0].Name) || !strings.Contains(body, "pyship revisions diagapp") {
		t.Errorf("gateway for an app whose first deploy failed: %d %s", code, body)
	}

	// 127.0.0.1 only, on the right port.
	loop := diagProject(t, "loop", "web: gunicorn --bind 127.0.0.1:5000 app:app\n", false)
	code, _, errOut = deploy("deploy", loop, "--app", "diagapp", "--port", "5000", "--env", "DIAG_API_TOKEN=t")
	if code == 0 || !strings.Contains(errOut, "127.0.0.1:5000 only") || !strings.Contains(errOut, "bind 0.0.0.0") {
		t.Fatalf("app on 127.0.0.1: exit %d, want the loopback bind and its fix named:\n%s", code, errOut)
	}

	if strings.Contains(errOut, "DIAG_API_TOKEN without a default") {
		t.Errorf("a warning about a variable --env sets:\n%s", errOut)
	}
	// A slow start: progress while waiting, then it serves.
	slow := diagProject(t, "slow", "", true)
	code, out, errOut := deploy("deploy", slow, "--app", "diagapp", "--port", "5000")
	if code != 0 {
		t.Fatalf("slow app: exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(errOut, "DIAG_API_TOKEN without a default") {
		t.Errorf("a warning about a variable the app's settings hold:\n%s", errOut)
	}
	if !strings.Contains(errOut, "waiting for its replica to answer GET / on port 5000") {
		t.Errorf("no progress while the replica started:\n%s", errOut)
	}
	if code, body := ask(); code != 200 || !strings.Contains(body, "diag ok") {
		t.Errorf("after the slow deploy: %d %s", code, body)
	}

	// The listening-socket diagnosis of a real replica on the pyship network, where the
	// engine's DNS listens on 127.0.0.11: it is not the app's port and never suggested.
	cs, _ := e.eng.List(context.Background(), e.stateLabel, platform.LabelApp+"=diagapp") // this run's only
	if len(cs) == 0 {
		t.Fatal("no replica of diagapp")
	}
	st, _, err := e.eng.Inspect(context.Background(), cs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	d := platform.ListenDiagnosis(st.Pid, 6000)
	if strings.Contains(d, "127.0.0.11") || !strings.Contains(d, "--port 5000") {
		t.Errorf("diagnosis for port 6000 of a replica on 5000: %q", d)
	}
}

// TestRunDiagnosis: pyship run stops with the fix as soon as the app is seen listening
// on another port, instead of waiting for an answer that cannot come.
func TestRunDiagnosis(t *testing.T) {
	base, indexDir := fixtures(t)
	index := serveIndex(t, indexDir)
	dir := diagProject(t, "rundiag", "web: gunicorn --bind 0.0.0.0:8000 app:app\n", false)
	port := strings.TrimPrefix(freeAddr(t), "127.0.0.1:")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb syncBuffer
	code := cli.Execute(ctx, []string{"run", dir, "--base", base, "-i", index, "--cache-dir", t.TempDir(), "--port", port}, &out, &errb)
	if code == 0 || !strings.Contains(errb.String(), "--port 8000") {
		t.Fatalf("run of an app on another port: exit %d, want --port 8000 named:\n%s", code, errb.String())
	}
}
