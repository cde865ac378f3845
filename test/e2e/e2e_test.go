// Package e2e runs pyship against the real Docker engine: pyship init on each example,
// a build of the generated Dockerfile through the Engine API (pyship build --dockerfile;
// base image and package index from the local fixtures), a container, and HTTP requests
// to it; pyship build without a Dockerfile into the engine, a registry and OCI layouts;
// pyship check --image on images in the engine and a registry.
//
// The fixtures come from test/fixtures/base-image.sh and test/fixtures/wheel-index.sh
// (.ci/run and the README's commands run them first).
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
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pyship/pyship/internal/cli"
	"github.com/pyship/pyship/internal/engine"
)

func fixtures(t *testing.T) (baseImage, indexDir string) {
	t.Helper()
	cache := os.Getenv("PYSHIP_FIXTURES")
	if cache == "" {
		cache = "/var/cache/pyship-fixtures"
	}
	baseImage = os.Getenv("PYSHIP_BASE_IMAGE")
	if baseImage == "" {
		baseImage = "pyship-fixtures/python:3.11-slim"
	}
	indexDir = filepath.Join(cache, "index")
	if _, err := os.Stat(filepath.Join(indexDir, "simple", "index.html")); err != nil {
		t.Fatalf("the wheel index fixture is missing (%v): run test/fixtures/wheel-index.sh", err)
	}
	return baseImage, indexDir
}

// serveIndex serves the PEP 503 index on 127.0.0.1; builds reach it with host networking.
func serveIndex(t *testing.T, dir string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(dir))}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return fmt.Sprintf("http://%s/simple/", ln.Addr())
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func pyship(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := cli.Execute(context.Background(), args, &out, &errb); code != 0 {
		t.Fatalf("pyship %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
	}
	return out.String()
}

func get(url string) (int, string, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

func waitHTTP(t *testing.T, url string, logs func() string) (int, string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		code, body, err := get(url)
		if err == nil {
			return code, body
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v\ncontainer logs:\n%s", url, err, logs())
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func TestExamplesBuildRunAndServe(t *testing.T) {
	base, indexDir := fixtures(t)
	index := serveIndex(t, indexDir)
	ctx := context.Background()
	eng, err := engine.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()

	cases := []struct {
		example, body string
		env           []string
		extra         func(t *testing.T, url string)
	}{
		{example: "flask", body: "Hello from Flask"},
		{example: "fastapi", body: "Hello from FastAPI"},
		{example: "django", body: "Hello from Django", env: []string{"DJANGO_SECRET_KEY=e2e-django-secret-0451"},
			extra: func(t *testing.T, url string) {
				// collectstatic ran at build time and WhiteNoise serves the result.
				if code, body, err := get(url + "/static/site.css"); err != nil || code != 200 || !strings.Contains(body, "font-family") {
					t.Errorf("GET /static/site.css = %d %q %v, want 200 with the stylesheet", code, body, err)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.example, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), tc.example)
			copyDir(t, filepath.Join("..", "..", "examples", tc.example), dir)
			// A .env with a secret sits in the project, as it does on developers' machines.
			if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("LEAKED_TOKEN=e2e-dotenv-secret-7734\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			pyship(t, "init", dir)
			if out := pyship(t, "check", dir); !strings.Contains(out, "0 errors") {
				t.Errorf("pyship check on the generated files:\n%s", out)
			}
			tag := "pyship-e2e/" + tc.example + ":test"
			// pyship build --dockerfile: the engine's builder, the context filtered by
			// .dockerignore, build arguments for the base image and the index.
			var out, errb bytes.Buffer
			code := cli.Execute(ctx, []string{"build", dir, "--dockerfile", "--network", "host", "-t", tag, "--json",
				"--build-arg", "BASE_IMAGE=" + base, "--build-arg", "PIP_INDEX_URL=" + index}, &out, &errb)
			if code != 0 {
				t.Fatalf("pyship build --dockerfile: exit %d\n%s%s", code, out.String(), errb.String())
			}
			var res struct {
				Outputs []struct {
					ImageID string `json:"image_id"`
				} `json:"outputs"`
			}
			if err := json.Unmarshal(out.Bytes(), &res); err != nil || len(res.Outputs) != 1 {
				t.Fatalf("pyship build --dockerfile --json: %v\n%s", err, out.String())
			}
			id := res.Outputs[0].ImageID
			t.Cleanup(func() { eng.RemoveImage(context.Background(), tag) })

			env := append([]string{"GREETING=hi-from-e2e"}, tc.env...)
			port := map[string]int{"flask": 5000, "fastapi": 8000, "django": 8000}[tc.example]
			c, err := eng.Run(ctx, engine.RunOptions{Image: id, Env: env, Port: port})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { eng.Remove(context.Background(), c.ID) })
			logs := func() string { l, _ := eng.Logs(context.Background(), c.ID); return l }
			url := "http://127.0.0.1:" + c.HostPort

			code, body := waitHTTP(t, url+"/", logs)
			if code != 200 || !strings.Contains(body, tc.body) {
				t.Fatalf("GET / = %d %q, want 200 containing %q\nlogs:\n%s", code, body, tc.body, logs())
			}
			if code, body, err := get(url + "/env"); err != nil || code != 200 || !strings.Contains(body, "hi-from-e2e") {
				t.Errorf("GET /env = %d %q %v: the run-time env var did not reach the app", code, body, err)
			}
			if tc.extra != nil {
				tc.extra(t, url)
			}

			// The server process runs as the numeric non-root user.
			status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.Pid))
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range strings.Split(string(status), "\n") {
				if strings.HasPrefix(l, "Uid:") && strings.Fields(l)[1] != "10001" {
					t.Errorf("server runs as %q, want uid 10001", l)
				}
			}
			// .env never reaches the image, and no secret shows in docker inspect.
			if exists, err := eng.PathExists(ctx, c.ID, "/app/.env"); err != nil || exists {
				t.Errorf("/app/.env in the image: exists=%v err=%v", exists, err)
			}
			if exists, err := eng.PathExists(ctx, c.ID, "/app/requirements.txt"); err != nil || !exists {
				t.Errorf("/app/requirements.txt missing from the image: exists=%v err=%v", exists, err)
			}
			_, imgRaw, err := eng.InspectImage(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			for _, secret := range []string{"e2e-dotenv-secret-7734", "e2e-django-secret-0451", "collectstatic-placeholder", index} {
				if bytes.Contains(imgRaw, []byte(secret)) {
					t.Errorf("docker image inspect shows %q", secret)
				}
			}
			if !bytes.Contains(imgRaw, []byte(`"User":"10001:10001"`)) {
				t.Errorf("image config has no numeric non-root user: %s", imgRaw)
			}
		})
	}
}
