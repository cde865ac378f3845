package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pyship/pyship/internal/store"
	"github.com/pyship/pyship/internal/testutil"
)

func examplesDir(t *testing.T, name string) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// Two renders of the same inputs give the same bytes, on stdout and in files.
func TestRenderByteStable(t *testing.T) {
	t.Setenv("PYSHIP_STATE_DIR", filepath.Join(t.TempDir(), "state"))
	ref := testutil.PushUserImage(t, testutil.Registry(t), "flask", "10001:10001")
	args := []string{"render", "--target", "kubernetes", examplesDir(t, "flask"), "--image", ref,
		"-e", "B=2", "-e", "A=1", "-e", "C=3", "--replicas", "2", "-n", "web"}
	code, first, errOut := run(args...)
	if code != 0 || first == "" {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for range 3 {
		if _, again, _ := run(args...); again != first {
			t.Fatalf("a second render differs:\n%s\n---\n%s", again, first)
		}
	}
	out := filepath.Join(t.TempDir(), "k8s")
	read := func() map[string]string {
		files := map[string]string{}
		entries, _ := os.ReadDir(out)
		for _, e := range entries {
			b, _ := os.ReadFile(filepath.Join(out, e.Name()))
			files[e.Name()] = string(b)
		}
		return files
	}
	if code, _, errOut := run(append(args, "-o", out)...); code != 0 {
		t.Fatalf("-o: exit %d: %s", code, errOut)
	}
	files := read()
	if len(files) != 2 {
		t.Fatalf("files %v", files)
	}
	// The files hold the stream's documents.
	var joined []string
	for _, name := range []string{"deployment-", "service-"} {
		for f, body := range files {
			if strings.HasPrefix(f, name) {
				joined = append(joined, body)
			}
		}
	}
	if strings.Join(joined, "---\n") != first {
		t.Errorf("the files are not the stream's documents:\n%v\n---\n%s", joined, first)
	}
	code, text, _ := run(append(args, "-o", out)...)
	if code != 0 || strings.Count(text, "unchanged") != 2 {
		t.Errorf("second -o: exit %d\n%s", code, text)
	}
	for name, body := range read() {
		if files[name] != body {
			t.Errorf("%s changed on a second render", name)
		}
	}
}

// -o never replaces a file render did not write: exit 1, code conflict, and nothing
// is written, not even the other object's file.
func TestRenderRefusesForeignFile(t *testing.T) {
	t.Setenv("PYSHIP_STATE_DIR", filepath.Join(t.TempDir(), "state"))
	ref := testutil.PushUserImage(t, testutil.Registry(t), "flask", "10001:10001")
	out := t.TempDir()
	mine := "# my own Service, hand-written\napiVersion: v1\nkind: Service\n"
	if err := os.WriteFile(filepath.Join(out, "service-flask.yaml"), []byte(mine), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, errOut := run("render", "--target", "kubernetes", examplesDir(t, "flask"), "--image", ref, "-o", out, "--json")
	if code != exitFailure || stdout != "" {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
	if e := lastJSONError(t, errOut); e == nil || e.Code != codeConflict || !strings.Contains(e.Message, "service-flask.yaml") {
		t.Errorf("error %q", errOut)
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 1 {
		t.Errorf("render wrote files beside the refused one: %v", entries)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "service-flask.yaml")); string(b) != mine {
		t.Errorf("the user's file changed: %q", b)
	}
}

// A deployed app's settings and secret names come from the state directory; secret
// values appear nowhere (stdout, stderr, JSON, files); the revision is the one deploy
// names from the same settings, secret digests included.
func TestRenderRecordedAppSecrets(t *testing.T) {
	const value = "Zq9-render-sentinel-value"
	stateDir := filepath.Join(t.TempDir(), "state")
	st, err := store.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	host := testutil.Registry(t)
	ref := testutil.PushUserImage(t, host, "shop", "10001:10001")
	digest, err := st.SetSecret("shop", "API_KEY", []byte(value))
	if err != nil {
		t.Fatal(err)
	}
	// The image ID is the config digest the registry gives; the recorded one is what
	// deploy recorded from it.
	img, err := inspectImage(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	spec := store.Spec{Image: img.ID, ImageRef: ref, Env: map[string]string{"LOG_LEVEL": "info"},
		Secrets: map[string]string{"API_KEY": digest}, Port: 8000, Probe: "/healthz", Replicas: 2, MaxReplicas: 4}
	live := "shop--" + spec.Hash()
	app := &store.App{Name: "shop", Port: 8000, Probe: "/healthz", Replicas: 2, MaxReplicas: 4, Host: "shop.example.com", Env: spec.Env, Secrets: spec.Secrets,
		Image: img.ID, ImageRef: ref, Live: live, Created: time.Now().UTC(),
		Revisions: []store.Revision{{Name: live, Spec: spec, State: store.Ready, Created: time.Now().UTC()}},
		Target:    store.Target{Kind: store.Kubernetes, Context: "ctx", Namespace: "shop-ns", Registry: host}}
	if err := st.Put(app); err != nil {
		t.Fatal(err)
	}
	base := []string{"render", "--target", "kubernetes", "--app", "shop", "--state-dir", stateDir, "-C", t.TempDir()}

	// No --image: the serving revision's; no flag changes a setting: its very name.
	code, stdout, stderr := run(base...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"name: " + live + "\n", "namespace: shop-ns\n", "image: " + ref + "\n", "key: API_KEY\n", "path: /healthz\n", "value: info\n",
		"kind: HorizontalPodAutoscaler\n", "maxReplicas: 4\n", "kind: Ingress\n", "host: shop.example.com\n"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the render lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "kubectl create secret generic "+live+" --namespace shop-ns --from-file=API_KEY=") {
		t.Errorf("stderr does not say which Secret to create: %q", stderr)
	}

	// A flag changes the spec, hence the revision, as deploy would.
	changed := spec
	changed.Replicas = 3
	out := t.TempDir()
	code, jsonOut, jsonErr := run(append(base, "--replicas", "3", "-o", out, "--json")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, jsonErr)
	}
	var res renderResult
	if err := json.Unmarshal([]byte(jsonOut), &res); err != nil {
		t.Fatal(err)
	}
	if res.Revision != "shop--"+changed.Hash() || len(res.Secrets) != 1 || res.Secrets[0].Name != res.Revision ||
		strings.Join(res.Secrets[0].Keys, ",") != "API_KEY" || res.Secrets[0].Namespace != "shop-ns" {
		t.Errorf("result %+v", res)
	}
	all := stdout + stderr + jsonOut + jsonErr
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(out, e.Name()))
		all += string(b)
	}
	if len(entries) != 4 {
		t.Errorf("files %v", entries)
	}
	if strings.Contains(all, value) || strings.Contains(all, digest) {
		t.Errorf("a secret value or its digest in render's output:\n%s", all)
	}

	// An app recorded on the local engine has no registry image: --image is needed.
	app.MaxReplicas, app.Host = 0, ""
	app.Target, app.Live, app.Revisions, app.ImageRef = store.Target{}, "", nil, "pyship/shop:0123456789ab"
	if err := st.Put(app); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = run(base...)
	if code != exitUsage || !strings.Contains(stderr, "--image") || !strings.Contains(stderr, "pyship/shop:0123456789ab") {
		t.Errorf("local app without --image: exit %d: %s", code, stderr)
	}
}
