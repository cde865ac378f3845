package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pyship/pyship/internal/cli"
	"github.com/pyship/pyship/internal/engine"
)

// syncBuffer is written by the command and read by the test at once.
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

// TestRun: pyship run serves the app with run-time settings, prints its URL, and
// removes everything on Ctrl-C; a broken app and an app bound to 127.0.0.1 get a
// one-line diagnosis.
func TestRun(t *testing.T) {
	base, indexDir := fixtures(t)
	index := serveIndex(t, indexDir)
	eng, err := engine.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	cache := t.TempDir()
	dir := filepath.Join(t.TempDir(), "runapp")
	copyDir(t, filepath.Join("..", "..", "examples", "flask"), dir)
	envFile := filepath.Join(t.TempDir(), "run.env")
	os.WriteFile(envFile, []byte("# settings\nGREETING=from-env-file\n"), 0o600)
	port := strings.TrimPrefix(freeAddr(t), "127.0.0.1:")

	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int)
	go func() {
		done <- cli.Execute(ctx, []string{"run", dir, "--base", base, "-i", index, "--cache-dir", cache, "--env-file", envFile, "--port", port}, &out, &errb)
	}()
	deadline := time.Now().Add(90 * time.Second)
	for !strings.Contains(errb.String(), "→ http://127.0.0.1:"+port+"/") {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no URL printed:\n%s", errb.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, body, err := get("http://127.0.0.1:" + port + "/env"); err != nil || code != 200 || !strings.Contains(body, "from-env-file") {
		t.Errorf("GET /env = %d %q %v", code, body, err)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d after Ctrl-C\n%s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop on Ctrl-C")
	}
	if left, _ := eng.List(context.Background(), "pyship.run=runapp"); len(left) != 0 {
		t.Errorf("containers left after Ctrl-C: %+v", left)
	}
	if !strings.Contains(out.String(), "Listening at: http://0.0.0.0:"+port) {
		t.Errorf("the app's logs were not streamed:\n%s", out.String())
	}

	// --watch: a source change rebuilds (the app layer) and restarts.
	wctx, wcancel := context.WithCancel(context.Background())
	var wout, werr syncBuffer
	wdone := make(chan int)
	wport := strings.TrimPrefix(freeAddr(t), "127.0.0.1:")
	go func() {
		wdone <- cli.Execute(wctx, []string{"run", dir, "--base", base, "-i", index, "--cache-dir", cache, "--port", wport, "--watch"}, &wout, &werr)
	}()
	waitBody := func(want string) {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for {
			if code, body, err := get("http://127.0.0.1:" + wport + "/"); err == nil && code == 200 && strings.Contains(body, want) {
				return
			}
			if time.Now().After(deadline) {
				wcancel()
				t.Fatalf("--watch never served %q:\n%s", want, werr.String())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitBody("Hello from Flask")
	src, _ := os.ReadFile(filepath.Join(dir, "app.py"))
	os.WriteFile(filepath.Join(dir, "app.py"), []byte(strings.Replace(string(src), "Hello from Flask", "Hello from watched Flask", 1)), 0o644)
	waitBody("Hello from watched Flask")
	wcancel()
	<-wdone
	if !strings.Contains(werr.String(), "source changed: rebuilding") {
		t.Errorf("no rebuild reported:\n%s", werr.String())
	}

	// A crash on start is diagnosed.
	os.WriteFile(filepath.Join(dir, "app.py"), []byte("import flask_missing_module\n"), 0o644)
	var o2, e2 bytes.Buffer
	code := cli.Execute(context.Background(), []string{"run", dir, "--base", base, "-i", index, "--cache-dir", cache, "--entrypoint", "app:app"}, &o2, &e2)
	if code == 0 || !strings.Contains(e2.String(), "no module flask_missing_module") {
		t.Errorf("crash: exit %d\n%s", code, e2.String())
	}
}
