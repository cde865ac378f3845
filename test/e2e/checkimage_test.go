package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/pyship/pyship/internal/cli"
	"github.com/pyship/pyship/internal/engine"
	"github.com/pyship/pyship/internal/testutil"
)

// leakyImage is what careless Dockerfiles produce: a secret in ENV, a build argument in
// the history, a .env copied in and "removed" by a later layer, root, a dev server.
func leakyImage(t *testing.T) v1.Image {
	img, err := mutate.AppendLayers(empty.Image,
		testutil.Layer(t, map[string]string{"app/app.py": "print()", "app/.env": "TOKEN=x", "usr/lib/ssl/cert.pem": "public"}),
		testutil.Layer(t, map[string]string{"app/.wh..env": ""}),
	)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := img.ConfigFile()
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	cfg.Config.Env = []string{"PATH=/usr/bin", "API_TOKEN=tok-2231-live", "PYTHON_VERSION=3.8.18"}
	cfg.Config.Cmd = []string{"flask", "run", "--host", "127.0.0.1", "--port", "5000"}
	cfg.Config.ExposedPorts = map[string]struct{}{"8000/tcp": {}}
	cfg.History = []v1.History{{CreatedBy: "|1 DB_PASSWORD=hunter2-prod /bin/sh -c pip install -r requirements.txt"}, {CreatedBy: "RUN rm .env"}}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func checkImage(t *testing.T, ref string) (int, []string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Execute(context.Background(), []string{"check", "--image", ref, "--json"}, &out, &errb)
	var res struct {
		Findings []struct {
			ID      string `json:"id"`
			Message string `json:"message"`
		} `json:"findings"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("check --image %s: exit %d %v\n%s%s", ref, code, err, out.String(), errb.String())
	}
	var ids []string
	for _, f := range res.Findings {
		ids = append(ids, f.ID+" "+f.Message)
	}
	return code, ids
}

func wantFindings(t *testing.T, ids []string) {
	t.Helper()
	all := strings.Join(ids, "\n")
	for _, want := range []string{"PI001 ENV API_TOKEN", "PI002", "DB_PASSWORD", "PI003 /app/.env", "stays extractable", "PI004", "PI005", "PI006", "PI007", "PI008", "PI009 Python 3.8.18"} {
		if !strings.Contains(all, want) {
			t.Errorf("findings lack %q:\n%s", want, all)
		}
	}
	for _, leak := range []string{"tok-2231-live", "hunter2-prod"} {
		if strings.Contains(all, leak) {
			t.Errorf("a finding prints the secret %q", leak)
		}
	}
	if strings.Contains(all, "cert.pem") {
		t.Errorf("system certificates reported as secrets:\n%s", all)
	}
}

// TestCheckImage runs the image rules on an image in the real engine and in a registry.
func TestCheckImage(t *testing.T) {
	ctx := context.Background()
	eng, err := engine.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	img := leakyImage(t)
	tag, _ := name.NewTag("pyship-e2e/leaky:1")
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarball.Write(tag, img, pw)) }()
	if err := eng.Load(ctx, pr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.RemoveImage(context.Background(), tag.String()) })
	code, ids := checkImage(t, tag.String())
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	wantFindings(t, ids)

	reg := httptest.NewServer(registry.New())
	defer reg.Close()
	ref := strings.TrimPrefix(reg.URL, "http://") + "/leaky:1"
	r, _ := name.ParseReference(ref)
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	code, ids = checkImage(t, "registry:"+ref)
	if code != 1 {
		t.Errorf("registry: exit %d, want 1", code)
	}
	wantFindings(t, ids)
}
