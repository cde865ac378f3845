package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pyship/pyship/internal/gateway"
	"github.com/pyship/pyship/internal/testutil"
)

// The shapes of the engine-backed results (status, traffic, gateway status) keep
// app, revision and address names as values: keys stay snake_case field names, and
// the text form lists a split without Go's map syntax.
func TestResultShapes(t *testing.T) {
	split := map[string]int{"shop--77aa01b2": 10, "shop--3f2a9c1d": 90}
	if got := formatTraffic(trafficRows(split)); got != "shop--3f2a9c1d 90%, shop--77aa01b2 10%" {
		t.Errorf("traffic text %q", got)
	}
	st := &gateway.Status{Version: 7, Inflight: map[string]int64{"127.0.0.1:40001": 2},
		Routes: &gateway.Routes{Version: 7, Apps: map[string]gateway.AppRoutes{"shop": {
			Revisions: map[string][]string{"shop--3f2a9c1d": {"127.0.0.1:40001"}, "shop--77aa01b2": nil},
			Weights:   map[string]int{"shop--3f2a9c1d": 90, "shop--77aa01b2": 10}}}}}
	for name, v := range map[string]any{"traffic": map[string]any{"traffic": trafficRows(split)}, "gateway status": gatewayStatusJSON(st)} {
		var buf bytes.Buffer
		if err := writeJSON(&buf, v); err != nil {
			t.Fatal(err)
		}
		checkJSONStream(t, name, buf.String())
		if strings.Contains(buf.String(), "null") {
			t.Errorf("%s: a list is null, not []:\n%s", name, buf.String())
		}
	}
}

// check --json with error-level findings: the report on stdout, exit 1, and stderr
// ends with the error object (code findings), so a script needs no stdout parsing to
// know why.
func TestCheckFindingsJSON(t *testing.T) {
	dir := testutil.WriteProject(t, map[string]string{"requirements.txt": "flask\n", "app.py": "from flask import Flask\napp = Flask(__name__)\n", "Dockerfile": "FROM python:3.13-slim\nCMD flask run\n"})
	code, out, errOut := run("check", dir, "--json")
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	checkJSONStream(t, "check --json", out)
	if e := lastJSONError(t, errOut); e == nil || e.Code != codeFindings || e.ExitCode != 1 {
		t.Errorf("stderr: %q", errOut)
	}
	if code, _, errOut := run("check", dir); code != 1 || errOut != "" {
		t.Errorf("text mode: exit %d, stderr %q (the findings say it all)", code, errOut)
	}
}

// An --env-file that is a FIFO is refused at once: opening it waited for a writer for
// ever, deaf to Ctrl-C.
func TestEnvFileFIFODoesNotHang(t *testing.T) {
	noEngine(t)
	fifo := filepath.Join(t.TempDir(), "env")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var out, errb bytes.Buffer
		code := ExecuteWithInput(context.Background(), []string{"run", flaskProject(t), "--image", "x", "--env-file", fifo}, strings.NewReader(""), &out, &errb)
		if code != exitUsage || !strings.Contains(errb.String(), "not a regular file") {
			t.Errorf("exit %d: %s", code, errb.String())
		}
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
		<-done // unblocked: it ends while DOCKER_HOST still points at no engine
		t.Fatal("run --env-file FIFO hangs")
	}
}

// Unknown commands exit 2 without quoting what was typed (it may be a value) and
// offer the nearest command.
func TestUnknownCommand(t *testing.T) {
	code, _, errOut := run("deplyo")
	if code != exitUsage || !strings.Contains(errOut, "did you mean deploy?") || strings.Contains(errOut, "deplyo") {
		t.Errorf("exit %d: %q", code, errOut)
	}
	var v map[string]any
	_, _, errOut = run("secret", "Zq9Sentinel", "--json")
	if json.Unmarshal([]byte(errOut), &v) != nil || strings.Contains(errOut, "Zq9Sentinel") {
		t.Errorf("secret VALUE --json: %q", errOut)
	}
}
