package e2e

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pyship/pyship/internal/engine"
)

// TestEngineRestart restarts the Docker engine under two deployed apps, as a reboot
// would: the gateway comes back by itself with its routes, every replica with its
// fixed address (the engine hands out fresh ones at every start, and two replicas of
// different apps could swap theirs), and a replica's secrets with it. It stops every
// container on the machine, so it runs only when asked (scripts/test.sh does, last).
func TestEngineRestart(t *testing.T) {
	if os.Getenv("PYSHIP_TEST_ENGINE_RESTART") == "" {
		t.Skip("restarts the Docker engine: set PYSHIP_TEST_ENGINE_RESTART=1 (scripts/test.sh runs it last)")
	}
	tag := "pyship-e2e/engine-restart:1"
	t.Cleanup(func() { // registered first, so it runs after the apps are down
		if eng, err := engine.New(context.Background()); err == nil {
			eng.RemoveImage(context.Background(), tag)
			eng.Close()
		}
	})
	e := newPlatformEnv(t, "alpha", "beta")
	c, gw, base, index := e.c, e.gw, e.base, e.index
	dir := filepath.Join(t.TempDir(), "flask")
	copyDir(t, filepath.Join("..", "..", "examples", "flask"), dir)
	pyship(t, "build", dir, "--base", base, "-i", index, "--cache-dir", t.TempDir(), "-t", tag)
	c.must("", "deploy", "--image", tag, "--app", "alpha", "--port", "5000", "--replicas", "2")
	c.must("alpha-secret-value\n", "secret", "set", "alpha", "GREETING")
	c.must("", "deploy", "--image", tag, "--app", "beta", "--port", "5000", "--replicas", "2", "--env", "GREETING=beta-setting")

	ask := func(app string) (int, string) {
		req, _ := http.NewRequest("GET", "http://"+gw+"/env", nil)
		req.Host = app + ".localhost"
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	want := map[string]string{"alpha": "alpha-secret-value", "beta": "beta-setting"}
	for app, w := range want {
		if code, body := ask(app); code != 200 || !strings.Contains(body, w) {
			t.Fatalf("%s before the restart: %d %s", app, code, body)
		}
	}

	start := time.Now()
	out, err := exec.Command("bash", filepath.Join("..", "..", "scripts", "restart-engine.sh")).CombinedOutput()
	if err != nil {
		t.Fatalf("restarting the engine: %v\n%s", err, out)
	}
	engineBack := time.Since(start)
	deadline := time.Now().Add(90 * time.Second)
	for app, w := range want {
		for {
			code, body := ask(app)
			if code == 200 && strings.Contains(body, w) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s after the engine restart: %d %s", app, code, body)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	t.Logf("engine back %.1fs after the restart began; both apps answering %.1fs after", engineBack.Seconds(), time.Since(start).Seconds())
	// Every answer from the right app: no replica answers under another's address.
	for i := 0; i < 40; i++ {
		for app, w := range want {
			if code, body := ask(app); code != 200 || !strings.Contains(body, w) {
				t.Fatalf("%s after the engine restart, request %d: %d %s", app, i, code, body)
			}
		}
	}
	// And the platform still deploys.
	c.must("", "env", "set", "beta", "GREETING=beta-after")
	if code, body := ask("beta"); code != 200 || !strings.Contains(body, "beta-after") {
		t.Fatalf("a change after the engine restart: %d %s", code, body)
	}
}
