package kube

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/pyship/pyship/internal/platform"
	"github.com/pyship/pyship/internal/store"
)

const renderSentinel = "s3cr3t-value-that-must-not-leak"

func testRelease() platform.Release {
	spec := store.Spec{Image: "sha256:" + strings.Repeat("a", 64), ImageRef: "registry.test/shop@sha256:" + strings.Repeat("b", 64),
		Env:     map[string]string{"LOG_LEVEL": "info", "A": "1", "Z": "2", "M": "3", "FEATURE_X": "on"},
		Secrets: map[string]string{"API_KEY": "digest1", "DB_URL": "digest2"}, SecretFiles: true,
		Port: 8000, Probe: "/healthz", Replicas: 2, MaxReplicas: 6, CPUPercent: 60}
	return platform.Release{App: "shop", Revision: "shop--" + spec.Hash(), Spec: spec, Env: platform.ReleaseEnv(spec),
		Secrets: map[string][]byte{"DB_URL": []byte(renderSentinel), "API_KEY": []byte(renderSentinel)}}
}

// The render is the objects deploy applies (without the state directory's label) in
// the order it applies them, byte for byte the same on every call, with no Secret and
// no secret value.
func TestRenderRevision(t *testing.T) {
	rel := testRelease()
	o := Options{Namespace: "web", StateID: "0123abcd", UID: 10001, GID: 10001}
	const host = "shop.example.com"
	r, err := RenderRevision(rel, host, o)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 { // maps iterate in a new order each time
		again, err := RenderRevision(rel, host, o)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again.Stream(), r.Stream()) {
			t.Fatalf("a second render differs:\n%s\n---\n%s", again.Stream(), r.Stream())
		}
	}
	var kinds, files []string
	for _, d := range r.Documents {
		kinds, files = append(kinds, d.Kind), append(files, d.File)
	}
	if strings.Join(kinds, ",") != "Deployment,HorizontalPodAutoscaler,Service,Ingress" {
		t.Fatalf("documents %v", kinds)
	}
	if want := "deployment-" + rel.Revision + ".yaml,horizontalpodautoscaler-" + rel.Revision + ".yaml,service-shop.yaml,ingress-shop.yaml"; strings.Join(files, ",") != want {
		t.Errorf("files %v, want %s", files, want)
	}
	stream := string(r.Stream())
	if strings.Contains(stream, renderSentinel) || strings.Contains(stream, "kind: Secret") || strings.Contains(stream, "0123abcd") {
		t.Errorf("a secret value, a Secret or the state label in the render:\n%s", stream)
	}
	if strings.Count(stream, "\n---\n") != 3 {
		t.Errorf("want four documents separated by ---:\n%s", stream)
	}

	// The same objects deploy applies: RevisionObjects' Deployment, ServiceObject's
	// Service, read back from the YAML.
	o.StateID = ""
	objs := RevisionObjects(rel, o)
	for i, want := range []any{objs.Deployment, HPAObject(rel, o), ServiceObject(rel.App, rel.Revision, o), IngressObject(rel.App, host, o)} {
		got, err := yaml.YAMLToJSON(r.Documents[i].YAML)
		if err != nil {
			t.Fatal(err)
		}
		wantJSON, _ := json.Marshal(want)
		var g, w any
		json.Unmarshal(got, &g)
		json.Unmarshal(wantJSON, &w)
		gb, _ := json.Marshal(g)
		wb, _ := json.Marshal(w)
		if !bytes.Equal(gb, wb) {
			t.Errorf("%s differs from what deploy applies:\n%s\n%s", r.Documents[i].Kind, gb, wb)
		}
	}
	if !strings.Contains(stream, "secretKeyRef:\n") || !strings.Contains(stream, "name: "+rel.Revision+"\n") {
		t.Errorf("the Deployment does not read the revision's Secret:\n%s", stream)
	}

	if r.Secret == nil || r.Secret.Name != rel.Revision || strings.Join(r.Secret.Keys, ",") != "API_KEY,DB_URL" || !r.Secret.AsFiles {
		t.Fatalf("secret needed %+v", r.Secret)
	}
	want := "kubectl create secret generic " + rel.Revision + " --namespace web --from-file=API_KEY=PATH_TO_API_KEY --from-file=DB_URL=PATH_TO_DB_URL"
	if got := r.Secret.Command(); got != want {
		t.Errorf("command %q, want %q", got, want)
	}
	for _, d := range r.Documents {
		if app, ok := RenderedApp(d.YAML); !ok || app != "shop" {
			t.Errorf("%s: header names %q, %v", d.File, app, ok)
		}
	}
}

// Without a namespace the objects name none (the applier's is used), not ""; a fixed
// count and no host: no autoscaler, no Ingress.
func TestRenderNoNamespace(t *testing.T) {
	rel := testRelease()
	rel.Secrets, rel.Spec.Secrets, rel.Spec.MaxReplicas = nil, nil, 0
	r, err := RenderRevision(rel, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Documents) != 2 || r.Documents[0].Kind != "Deployment" || r.Documents[1].Kind != "Service" {
		t.Errorf("documents %+v", r.Documents)
	}
	if s := string(r.Stream()); strings.Contains(s, "namespace") {
		t.Errorf("a namespace in the render:\n%s", s)
	}
	if r.Secret != nil {
		t.Errorf("a Secret needed without secrets: %+v", r.Secret)
	}
}

func TestRenderedApp(t *testing.T) {
	for in, want := range map[string]string{
		RenderHeader("shop") + "\napiVersion: v1\n": "shop",
		RenderHeader("a-b") + "\n":                  "a-b",
		"apiVersion: v1\n":                          "",
		"# Rendered by pyship render for app \n":    "",
		"\n" + RenderHeader("shop") + "\n":          "",
	} {
		if got, ok := RenderedApp([]byte(in)); got != want || ok != (want != "") {
			t.Errorf("RenderedApp(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func render(t *testing.T, app string, replicas int) *Render {
	t.Helper()
	rel := testRelease()
	rel.App, rel.Spec.Replicas, rel.Spec.MaxReplicas = app, replicas, 0
	rel.Revision = app + "--" + rel.Spec.Hash()
	r, err := RenderRevision(rel, "", Options{Namespace: "web"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func readDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}

// WriteDir creates the directory, writes one file per object, leaves unchanged files
// alone, replaces and prunes only the same app's rendered files, and never touches a
// file it did not write.
func TestWriteDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "deploy", "shop")
	v1 := render(t, "shop", 1)
	res, err := v1.WriteDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 2 || res.Files[0].Action != FileCreated || res.Files[1].Action != FileCreated || len(res.Removed) != 0 {
		t.Fatalf("first write: %+v", res)
	}
	files := readDir(t, dir)
	for _, d := range v1.Documents {
		if files[d.File] != string(d.YAML) {
			t.Errorf("%s: %q", d.File, files[d.File])
		}
	}
	// Files of another app and the user's own stay whatever happens.
	other := render(t, "api", 1)
	if _, err := other.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	userFile := filepath.Join(dir, "kustomization.yaml")
	os.WriteFile(userFile, []byte("resources: []\n"), 0o644)

	svc := filepath.Join(dir, "service-shop.yaml")
	old := time.Now().Add(-time.Hour)
	os.Chtimes(svc, old, old)
	again, err := v1.WriteDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if again.Files[0].Action != FileUnchanged || again.Files[1].Action != FileUnchanged {
		t.Errorf("second write of the same render: %+v", again.Files)
	}
	if st, _ := os.Stat(svc); !st.ModTime().Equal(old) {
		t.Errorf("an unchanged file was rewritten (mtime %v)", st.ModTime())
	}

	// A new revision: its Deployment file replaces the previous one's.
	v2 := render(t, "shop", 3)
	res, err = v2.WriteDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if res.Files[0].Action != FileCreated || res.Files[1].Action != FileUpdated {
		t.Errorf("v2 actions: %+v", res.Files)
	}
	if len(res.Removed) != 1 || filepath.Base(res.Removed[0]) != v1.Documents[0].File {
		t.Errorf("removed %v, want the previous revision's Deployment", res.Removed)
	}
	files = readDir(t, dir)
	want := []string{v2.Documents[0].File, "service-shop.yaml", other.Documents[0].File, "service-api.yaml", "kustomization.yaml"}
	if len(files) != len(want) {
		t.Errorf("files %v, want %v", keys(files), want)
	}
	for _, f := range want {
		if _, ok := files[f]; !ok {
			t.Errorf("%s is gone", f)
		}
	}
	if files["kustomization.yaml"] != "resources: []\n" {
		t.Errorf("the user's file changed: %q", files["kustomization.yaml"])
	}
}

// A file render did not write (no header, another app's, a symlink) is never
// replaced, and a refusal writes nothing at all.
func TestWriteDirRefusesForeignFiles(t *testing.T) {
	r := render(t, "shop", 1)
	for name, setup := range map[string]func(t *testing.T, path string){
		"user file": func(t *testing.T, path string) {
			os.WriteFile(path, []byte("apiVersion: v1\nkind: Service\n# mine\n"), 0o644)
		},
		"another app's": func(t *testing.T, path string) {
			os.WriteFile(path, []byte(RenderHeader("api")+"\nkind: Service\n"), 0o644)
		},
		"symlink": func(t *testing.T, path string) {
			target := filepath.Join(t.TempDir(), "elsewhere.yaml")
			os.WriteFile(target, []byte(RenderHeader("shop")+"\n"), 0o644)
			if err := os.Symlink(target, path); err != nil {
				t.Fatal(err)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "service-shop.yaml")
			setup(t, path)
			before := readDir(t, dir)
			_, err := r.WriteDir(dir)
			var fe *ForeignFileError
			if !errors.As(err, &fe) || fe.Path != path {
				t.Fatalf("err %v, want a ForeignFileError for %s", err, path)
			}
			if !strings.Contains(err.Error(), "nothing was written") {
				t.Errorf("message %q", err)
			}
			after := readDir(t, dir)
			if len(after) != len(before) || after["service-shop.yaml"] != before["service-shop.yaml"] {
				t.Errorf("the directory changed: %v → %v", before, after)
			}
		})
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
