package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/pyship/pyship/internal/cli"
	"github.com/pyship/pyship/internal/engine"
)

type summary struct {
	Images []struct {
		ImageID string `json:"image_id"`
		Digest  string `json:"digest"`
		Layers  []struct {
			Digest string `json:"digest"`
			Kind   string `json:"kind"`
			Cached bool   `json:"cached"`
		} `json:"layers"`
		Packages []struct{ Name string } `json:"packages"`
	} `json:"images"`
	Outputs []struct {
		Output     string `json:"output"`
		Digest     string `json:"digest"`
		SentLayers int    `json:"sent_layers"`
		SentBytes  int64  `json:"sent_bytes"`
	} `json:"outputs"`
}

func pyshipJSON(t *testing.T, args ...string) summary {
	t.Helper()
	var out, errb bytes.Buffer
	if code := cli.Execute(context.Background(), append(args, "--json"), &out, &errb); code != 0 {
		t.Fatalf("pyship %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
	}
	var s summary
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatalf("pyship %s --json: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return s
}

// startRegistry runs Debian's docker-registry (distribution) on a free loopback port.
func startRegistry(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Fatal("docker-registry is not installed: run scripts/fixtures.sh (apt-get install docker-registry)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), addr)
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", filepath.Join(dir, "config.yml"))
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; ; i++ {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return addr
			}
		}
		if i > 100 {
			t.Fatalf("docker-registry did not start: %v\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPyshipBuild builds each example with pyship build (no Dockerfile, no docker
// build), loads it into the engine, runs it and asks it over HTTP.
func TestPyshipBuild(t *testing.T) {
	base, indexDir := fixtures(t)
	index := serveIndex(t, indexDir)
	ctx := context.Background()
	eng, err := engine.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	cache := t.TempDir()
	cases := []struct {
		example, body string
		env           []string
		extra         func(t *testing.T, url string)
	}{
		{example: "flask", body: "Hello from Flask"},
		{example: "fastapi", body: "Hello from FastAPI"},
		{example: "django", body: "Hello from Django", env: []string{"DJANGO_SECRET_KEY=e2e-django-secret-0451"},
			extra: func(t *testing.T, url string) {
				if code, body, err := get(url + "/static/site.css"); err != nil || code != 200 || !strings.Contains(body, "font-family") {
					t.Errorf("GET /static/site.css = %d %q %v, want 200 with the stylesheet", code, body, err)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.example, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), tc.example)
			copyDir(t, filepath.Join("..", "..", "examples", tc.example), dir)
			if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("LEAKED_TOKEN=e2e-dotenv-secret-7734\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			// No tag, and a name the engine has never held: NAME must mean NAME:latest
			// (the engine's load refuses an untagged name; a fresh engine failed the demo).
			tag := fmt.Sprintf("pyship-e2e-build/%s-%d", tc.example, time.Now().UnixNano())
			s := pyshipJSON(t, "build", dir, "--base", base, "-i", index, "--cache-dir", cache, "-t", tag)
			t.Cleanup(func() { eng.RemoveImage(context.Background(), tag) })
			if len(s.Images) != 1 || len(s.Images[0].Layers) < 2 || s.Images[0].Layers[len(s.Images[0].Layers)-1].Kind != "app" {
				t.Fatalf("summary: %+v", s)
			}
			info, found, err := eng.Image(ctx, tag)
			if err != nil || !found || info.ID != s.Images[0].ImageID {
				t.Fatalf("engine has %s = %+v (found %v, %v), pyship built %s", tag, info, found, err, s.Images[0].ImageID)
			}
			port := map[string]int{"flask": 5000, "fastapi": 8000, "django": 8000}[tc.example]
			c, err := eng.Run(ctx, engine.RunOptions{Image: tag, Env: append([]string{"GREETING=hi-from-e2e"}, tc.env...), Port: port})
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
				t.Errorf("GET /env = %d %q %v", code, body, err)
			}
			if tc.extra != nil {
				tc.extra(t, url)
			}
			status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.Pid))
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range strings.Split(string(status), "\n") {
				if strings.HasPrefix(l, "Uid:") && strings.Fields(l)[1] != "10001" {
					t.Errorf("server runs as %q, want uid 10001", l)
				}
			}
			if exists, err := eng.PathExists(ctx, c.ID, "/app/.env"); err != nil || exists {
				t.Errorf("/app/.env in the image: exists=%v err=%v", exists, err)
			}
			_, imgRaw, err := eng.InspectImage(ctx, tag)
			if err != nil {
				t.Fatal(err)
			}
			for _, secret := range []string{"e2e-dotenv-secret-7734", "e2e-django-secret-0451", strings.TrimSuffix(index, "/simple/")} {
				if bytes.Contains(imgRaw, []byte(secret)) {
					t.Errorf("docker image inspect shows %q", secret)
				}
			}
		})
	}
}

// TestBuildReproducibleIncrementalAndPushed: two clean builds give one digest; a
// code-only change makes a new app layer and nothing else, sent alone to the engine
// and to the registry; the pushed image pulls back with the same digest.
func TestBuildReproducibleIncrementalAndPushed(t *testing.T) {
	base, indexDir := fixtures(t)
	index := serveIndex(t, indexDir)
	reg := startRegistry(t)
	ctx := context.Background()
	eng, err := engine.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	dir := filepath.Join(t.TempDir(), "flask")
	copyDir(t, filepath.Join("..", "..", "examples", "flask"), dir)
	common := []string{"build", dir, "--base", base, "-i", index}

	out1, out2 := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	a := pyshipJSON(t, append(common, "--cache-dir", t.TempDir(), "--output", "oci:"+out1)...)
	b := pyshipJSON(t, append(common, "--cache-dir", t.TempDir(), "--output", "oci:"+out2)...)
	if a.Images[0].Digest == "" || a.Images[0].Digest != b.Images[0].Digest {
		t.Fatalf("two clean builds: %s and %s", a.Images[0].Digest, b.Images[0].Digest)
	}
	idx1, _ := os.ReadFile(filepath.Join(out1, "index.json"))
	idx2, _ := os.ReadFile(filepath.Join(out2, "index.json"))
	if !bytes.Equal(idx1, idx2) {
		t.Errorf("OCI layouts differ:\n%s\n%s", idx1, idx2)
	}

	cache := t.TempDir()
	tag := "pyship-e2e-build/incremental:1"
	t.Cleanup(func() { eng.RemoveImage(context.Background(), tag) })
	ref := reg + "/e2e/flask:1"
	first := pyshipJSON(t, append(common, "--cache-dir", cache, "-t", tag, "--output", "docker", "--push", ref)...)
	if first.Images[0].Digest != a.Images[0].Digest {
		t.Errorf("the pushed image %s is not the one the clean builds made (%s)", first.Images[0].Digest, a.Images[0].Digest)
	}
	r, _ := name.ParseReference(ref)
	desc, err := remote.Get(r)
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest.String() != first.Images[0].Digest {
		t.Errorf("registry serves %s, pushed %s", desc.Digest, first.Images[0].Digest)
	}
	// The engine pulls it back from the registry with the same digest.
	if err := eng.Pull(ctx, ref); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.RemoveImage(context.Background(), ref) })
	info, _, _ := eng.Image(ctx, ref)
	if !strings.Contains(strings.Join(info.RepoDigests, " "), first.Images[0].Digest) || info.ID != first.Images[0].ImageID {
		t.Errorf("pulled %+v, want digest %s and ID %s", info, first.Images[0].Digest, first.Images[0].ImageID)
	}

	// A code-only change.
	app := filepath.Join(dir, "app.py")
	src, _ := os.ReadFile(app)
	if err := os.WriteFile(app, append(src, []byte("\n# a code-only change\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	second := pyshipJSON(t, append(common, "--cache-dir", cache, "-t", tag, "--output", "docker", "--push", reg+"/e2e/flask:2")...)
	l1, l2 := first.Images[0].Layers, second.Images[0].Layers
	if len(l1) != len(l2) {
		t.Fatalf("layer count changed: %d → %d", len(l1), len(l2))
	}
	for i := range l1 {
		same := l1[i].Digest == l2[i].Digest
		if l1[i].Kind == "app" && same {
			t.Errorf("the app layer did not change")
		}
		if l1[i].Kind != "app" && (!same || !l2[i].Cached) {
			t.Errorf("dependency layer %d rebuilt on a code-only change: %+v → %+v", i, l1[i], l2[i])
		}
	}
	for _, o := range second.Outputs {
		switch o.Output {
		case "docker":
			if o.SentLayers != 1 {
				t.Errorf("the engine was sent %d layers for a code-only change, want 1 (the app layer)", o.SentLayers)
			}
		case "registry":
			// The app layer and the config: nothing else is uploaded.
			if o.SentLayers != 2 || o.SentBytes > 1<<20 {
				t.Errorf("the registry received %d blobs (%d bytes) for a code-only change, want 2 small ones", o.SentLayers, o.SentBytes)
			}
		}
	}
	// A rebuild without changes sends nothing at all.
	third := pyshipJSON(t, append(common, "--cache-dir", cache, "-t", tag, "--output", "docker")...)
	if third.Images[0].ImageID != second.Images[0].ImageID || third.Outputs[0].SentLayers != 0 {
		t.Errorf("no-change rebuild: %+v", third.Outputs)
	}
}
