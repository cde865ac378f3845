package cli

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pyship/pyship/internal/azure"
	"github.com/pyship/pyship/internal/azure/azuretest"
	"github.com/pyship/pyship/internal/store"
	"github.com/pyship/pyship/internal/testutil"
)

const testSubscription = "6f1a2b3c-0000-4000-8000-00000000c0de"

// localAzure points the Azure commands at a local Resource Manager for the test.
func localAzure(t *testing.T) *azuretest.Azure {
	f := azuretest.New(t)
	old := newResourceManager
	newResourceManager = func() (*azure.ARM, error) { return f.ARM(t, azuretest.Secret), nil }
	t.Cleanup(func() { newResourceManager = old })
	return f
}

func puts(f *azuretest.Azure) int { return strings.Count(strings.Join(f.Calls(), "\n"), "PUT ") }

// TestDeployAzureContainerApp: a new user's path on Container Apps, as the README
// gives it: deploy (created, the URL Azure gave), the same deploy (nothing sent), a
// dry run of a change (its diff, nothing sent), the change (a new revision), status,
// logs, a command Azure apps do not have (refused with what to do), down (deleted,
// forgotten). Every PUT the local Resource Manager took passed Azure's schema.
func TestDeployAzureContainerApp(t *testing.T) {
	f := localAzure(t)
	f.Logs["shop"] = []string{"[INFO] Booting worker", "GET / 200"}
	state := filepath.Join(t.TempDir(), "state")
	t.Setenv("PYSHIP_STATE_DIR", state)
	reg := testutil.Registry(t)
	ref := testutil.PushUserImage(t, reg, "shop", "10001:10001")
	deploy := []string{"deploy", "--app", "shop", "--image", ref, "--port", "8000", "--target", "aca", "--registry", reg,
		"--subscription", testSubscription, "-g", "rg", "--location", "westeurope", "--environment", testEnvironment, "--json"}

	code, out, errOut := run(deploy...)
	if code != 0 {
		t.Fatalf("deploy: exit %d\n%s", code, errOut)
	}
	var res azureDeployResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	id := "/subscriptions/" + testSubscription + "/resourceGroups/rg/providers/Microsoft.App/containerApps/shop"
	if !res.Created || !res.Applied || res.ID != id || res.URL != "https://shop.kindwater-1a2b3c4d.westeurope.azurecontainerapps.io/" || !strings.HasPrefix(res.Revision, "shop--") {
		t.Errorf("first deploy: %+v", res)
	}
	st, err := store.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	app, err := st.Get("shop")
	if err != nil || app.Target.Kind != "aca" || app.Target.ResourceGroup != "rg" || app.Live != res.Revision || app.Target.URL != res.URL {
		t.Fatalf("recorded: %+v, %v", app, err)
	}

	// The same again: Azure has it, nothing is sent. The target is the recorded one.
	code, out, errOut = run("deploy", "--app", "shop", "--image", ref, "--json")
	if code != 0 || puts(f) != 1 || !strings.Contains(out, `"changed": false`) {
		t.Errorf("unchanged deploy: exit %d, %d PUTs\n%s%s", code, puts(f), out, errOut)
	}

	// A dry run of a new setting: its change, nothing sent or recorded.
	code, out, errOut = run("deploy", "--app", "shop", "--image", ref, "-e", "LOG_LEVEL=debug", "--dry-run")
	if code != 0 || puts(f) != 1 || !strings.Contains(out, "would change") || !strings.Contains(out, `+ /properties/template/containers[name=shop]/env[name=LOG_LEVEL]: {"name":"LOG_LEVEL","value":"debug"}`) {
		t.Errorf("dry run: exit %d, %d PUTs\n%s%s", code, puts(f), out, errOut)
	}
	if a, _ := st.Get("shop"); a.Env["LOG_LEVEL"] != "" {
		t.Error("the dry run recorded the setting")
	}

	code, out, errOut = run("deploy", "--app", "shop", "--image", ref, "-e", "LOG_LEVEL=debug")
	if code != 0 || puts(f) != 2 || !strings.Contains(out, "serving at https://shop.") {
		t.Errorf("change: exit %d, %d PUTs\n%s%s", code, puts(f), out, errOut)
	}
	app, _ = st.Get("shop")
	if len(app.Revisions) != 2 || app.Revisions[0].State != store.Retired || app.Live == res.Revision {
		t.Errorf("revisions after the change: %+v (live %s)", app.Revisions, app.Live)
	}

	code, out, errOut = run("status", "shop")
	if code != 0 || !strings.Contains(out, "Azure: provisioning Succeeded, latest revision "+app.Live) {
		t.Errorf("status: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = run("logs", "shop", "--tail", "1")
	if code != 0 || !strings.Contains(out, "GET / 200") || strings.Contains(out, "Booting") || !strings.Contains(out, "["+app.Live[len("shop--"):]+"/") {
		t.Errorf("logs: exit %d\n%s%s", code, out, errOut)
	}
	// A setting changed from the command line is a deploy of the recorded app.
	code, out, errOut = run("env", "set", "shop", "A=1", "--json")
	if code != 0 || puts(f) != 3 || !strings.Contains(string(f.Resource(id)), `{"name":"A","value":"1"}`) {
		t.Errorf("env set on an Azure app: exit %d, %d PUTs\n%s%s", code, puts(f), out, errOut)
	}
	code, out, errOut = run("scale", "shop", "--replicas", "2", "--max-replicas", "5")
	if code != 0 || puts(f) != 4 || !strings.Contains(string(f.Resource(id)), `"minReplicas":2`) || !strings.Contains(string(f.Resource(id)), `"maxReplicas":5`) {
		t.Errorf("scale on an Azure app: exit %d, %d PUTs\n%s%s", code, puts(f), out, errOut)
	}
	if code, out, _ := run("env", "list", "shop"); code != 0 || !strings.Contains(out, "A=1") {
		t.Errorf("env list: exit %d\n%s", code, out)
	}
	if code, out, _ := run("revisions", "shop", "--json"); code != 0 || strings.Count(out, `"name"`) != 4 {
		t.Errorf("revisions: exit %d\n%s", code, out)
	}
	code, _, errOut = run("rollback", "shop")
	if code != exitUsage || !strings.Contains(errOut, "pyship env set|unset, pyship scale or pyship deploy") {
		t.Errorf("rollback on an Azure app: exit %d\n%s", code, errOut)
	}

	code, out, errOut = run("down", "shop", "--yes")
	if code != 0 || !strings.Contains(out, "deleted from Azure") || f.Resource(id) != nil {
		t.Errorf("down: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := st.Get("shop"); !errors.Is(err, store.ErrNoApp) {
		t.Errorf("down left the record: %v", err)
	}
}

// TestDeployAzureRefusals: what cannot be deployed is refused before Azure is asked,
// and nothing is recorded; a revision Azure reports failed exits 1, recorded as
// failed with Azure's reason.
func TestDeployAzureRefusals(t *testing.T) {
	f := localAzure(t)
	state := filepath.Join(t.TempDir(), "state")
	t.Setenv("PYSHIP_STATE_DIR", state)
	t.Setenv("AZURE_SUBSCRIPTION_ID", "")
	reg := testutil.Registry(t)
	ref := testutil.PushUserImage(t, reg, "shop", "10001:10001")
	base := []string{"deploy", "--app", "shop", "--image", ref, "--port", "8000", "--registry", reg, "-g", "rg", "--location", "westeurope"}
	aca := append(append([]string{}, base...), "--target", "aca", "--subscription", testSubscription, "--environment", testEnvironment)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{append(append([]string{}, base...), "--target", "aca", "--environment", testEnvironment), "no Azure subscription"},
		{append(append([]string{}, base...), "--target", "aca", "--subscription", testSubscription), "--target aca needs --environment"},
		{append(append([]string{}, base...), "--target", "appservice", "--subscription", testSubscription), "--target appservice needs --plan"},
		{append(append([]string{}, aca...), "--secret", "API_KEY"), "give --key-vault https://VAULT.vault.azure.net"},
		{append(append([]string{}, base...), "--target", "aci", "--subscription", testSubscription, "--replicas", "2"), "Container Instances run one container group"},
		{[]string{"deploy", "--app", "shop", "--image", ref, "--secret", "API_KEY"}, "--secret names a Key Vault secret of an Azure app"},
		{append(append([]string{}, aca...), "--cpu-percent", "50"), "--cpu-percent is for Kubernetes"},
	} {
		code, _, errOut := run(tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%q: exit %d, want 2 with %q\n%s", tc.args, code, tc.want, errOut)
		}
	}
	if len(f.Calls()) != 0 {
		t.Errorf("Azure was asked: %q", f.Calls())
	}
	if st, err := store.Open(state); err == nil {
		if _, err := st.Get("shop"); !errors.Is(err, store.ErrNoApp) {
			t.Errorf("a refused deploy recorded the app: %v", err)
		}
	}

	f.Unhealthy = true
	code, _, errOut := run(append(aca, "--json")...)
	if code != exitFailure || !strings.Contains(errOut, "failed (Container 'shop' was terminated with exit code '1'); the previous revision keeps serving") {
		t.Errorf("an unhealthy revision: exit %d\n%s", code, errOut)
	}
	st, _ := store.Open(state)
	app, err := st.Get("shop")
	if err != nil || len(app.Revisions) != 1 || app.Revisions[0].State != store.Failed || !strings.Contains(app.Revisions[0].Reason, "exit code '1'") || app.Live != "" {
		t.Errorf("the failed revision's record: %+v, %v", app, err)
	}
}

// TestDeployAzureServices: one deploy command per other service, as docs/azure.md
// gives them (the image from --image), its URL, its logs and its removal; and an
// image the registry never had is refused before Azure is asked.
func TestDeployAzureServices(t *testing.T) {
	const plan = "/subscriptions/" + testSubscription + "/resourceGroups/rg/providers/Microsoft.Web/serverfarms/linux"
	reg := testutil.Registry(t)
	ref := testutil.PushUserImage(t, reg, "shop", "10001:10001")
	for _, tc := range []struct {
		target string
		flags  []string
		url    string
	}{
		{"aci", nil, "http://shop.a1b2c3d4e5.westeurope.azurecontainer.io:8000/"},
		{"appservice", []string{"--plan", plan}, "https://shop.azurewebsites.net/"},
		{"functions", []string{"--plan", plan, "--storage-account", "shopstate"}, "https://shop.azurewebsites.net/"},
	} {
		t.Run(tc.target, func(t *testing.T) {
			f := localAzure(t)
			f.Logs["shop"] = []string{"started", "GET / 200"}
			t.Setenv("PYSHIP_STATE_DIR", filepath.Join(t.TempDir(), "state"))
			args := append([]string{"deploy", "--app", "shop", "--image", ref, "--port", "8000", "--target", tc.target, "--registry", reg,
				"--subscription", testSubscription, "-g", "rg", "--location", "westeurope", "--json"}, tc.flags...)
			code, out, errOut := run(args...)
			if code != 0 || !strings.Contains(out, `"url": "`+tc.url+`"`) {
				t.Fatalf("deploy: exit %d\n%s%s", code, out, errOut)
			}
			code, out, errOut = run("logs", "shop", "--json")
			if code != 0 || !strings.Contains(out, `"message":"GET / 200"`) {
				t.Errorf("logs: exit %d\n%s%s", code, out, errOut)
			}
			code, out, errOut = run("down", "shop", "--yes", "--json")
			if code != 0 || !strings.Contains(out, `"deleted": true`) {
				t.Errorf("down: exit %d\n%s%s", code, out, errOut)
			}
		})
	}
	t.Run("never pushed", func(t *testing.T) {
		f := localAzure(t)
		t.Setenv("PYSHIP_STATE_DIR", filepath.Join(t.TempDir(), "state"))
		code, _, errOut := run("deploy", "--app", "shop", "--image", reg+"/shop:never", "--port", "8000", "--target", "aca", "--registry", reg,
			"--subscription", testSubscription, "-g", "rg", "--location", "westeurope", "--environment", testEnvironment)
		if code == 0 || !strings.Contains(errOut, "the registry does not give it") || len(f.Calls()) != 0 {
			t.Errorf("an image never pushed: exit %d, calls %q\n%s", code, f.Calls(), errOut)
		}
	})
}

// TestDeployAzureBuilds: deploy --target aca from source, as a new user runs it: the
// project built by pyship (the fixtures' base image and wheel index), pushed to the
// registry by digest, and the Container App made to run that digest; a code change
// pushes a new image and makes a new revision.
func TestDeployAzureBuilds(t *testing.T) {
	cache := firstNonEmpty(os.Getenv("PYSHIP_FIXTURES"), "/var/cache/pyship-fixtures")
	base := firstNonEmpty(os.Getenv("PYSHIP_BASE_IMAGE"), "pyship-fixtures/python:3.11-slim")
	indexDir := filepath.Join(cache, "index")
	if _, err := os.Stat(filepath.Join(indexDir, "simple", "index.html")); err != nil {
		t.Fatalf("the wheel index fixture is missing (%v): run scripts/fixtures.sh", err)
	}
	index := httptest.NewServer(http.FileServer(http.Dir(indexDir)))
	t.Cleanup(index.Close)
	f := localAzure(t)
	t.Setenv("PYSHIP_STATE_DIR", filepath.Join(t.TempDir(), "state"))
	reg := testutil.Registry(t)
	dir := filepath.Join(t.TempDir(), "shop")
	if err := os.CopyFS(dir, os.DirFS(examplesDir(t, "flask"))); err != nil {
		t.Fatal(err)
	}
	args := []string{"deploy", dir, "--app", "shop", "--base", base, "-i", index.URL + "/simple/", "--cache-dir", t.TempDir(),
		"--target", "aca", "--registry", reg, "--subscription", testSubscription, "-g", "rg", "--location", "westeurope",
		"--environment", testEnvironment, "--json"}
	image := func(out string) string {
		var res azureDeployResult
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return res.Image
	}
	code, out, errOut := run(args...)
	if code != 0 {
		t.Fatalf("deploy: exit %d\n%s", code, errOut)
	}
	first := image(out)
	if !strings.HasPrefix(first, reg+"/shop@sha256:") {
		t.Fatalf("deployed image %q, want the registry's digest", first)
	}
	// The registry has that digest, and it is what the Container App runs.
	if _, err := inspectImage(t.Context(), first); err != nil {
		t.Errorf("the registry does not give %s: %v", first, err)
	}
	id := "/subscriptions/" + testSubscription + "/resourceGroups/rg/providers/Microsoft.App/containerApps/shop"
	if !strings.Contains(string(f.Resource(id)), `"image":"`+first+`"`) {
		t.Errorf("the Container App does not run %s:\n%s", first, f.Resource(id))
	}
	app := filepath.Join(dir, "app.py")
	src, _ := os.ReadFile(app)
	if err := os.WriteFile(app, append(src, []byte("\n# a code change\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = run(args...)
	if code != 0 {
		t.Fatalf("second deploy: exit %d\n%s", code, errOut)
	}
	if second := image(out); second == first || !strings.Contains(string(f.Resource(id)), second) {
		t.Errorf("the code change deployed %s (first %s)", second, first)
	}
}

// TestDeployAzureFromPyshipToml: where the app goes can live in the project's
// pyship.toml [deploy] table; a flag overrides it; a bad key there is exit 2 naming
// the file and line, before anything is built.
func TestDeployAzureFromPyshipToml(t *testing.T) {
	f := localAzure(t)
	t.Setenv("PYSHIP_STATE_DIR", filepath.Join(t.TempDir(), "state"))
	reg := testutil.Registry(t)
	ref := testutil.PushUserImage(t, reg, "shop", "10001:10001")
	dir := t.TempDir()
	toml := "[deploy]\ntarget = \"aca\"\nregistry = \"" + reg + "\"\nsubscription = \"" + testSubscription + "\"\nresource_group = \"rg\"\nlocation = \"westeurope\"\nenvironment = \"" + testEnvironment + "\"\n"
	if err := os.WriteFile(filepath.Join(dir, "pyship.toml"), []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run("deploy", dir, "--app", "shop", "--image", ref, "--port", "8000", "-g", "other-rg", "--json")
	if code != 0 || !strings.Contains(out, `"id": "/subscriptions/`+testSubscription+`/resourceGroups/other-rg/providers/Microsoft.App/containerApps/shop"`) {
		t.Fatalf("deploy from pyship.toml (-g over it): exit %d\n%s%s", code, out, errOut)
	}
	if len(f.Calls()) == 0 {
		t.Error("Azure was not asked")
	}
	if err := os.WriteFile(filepath.Join(dir, "pyship.toml"), []byte("[deploy]\ntarget = \"aca\"\nregion = \"westeurope\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = run("deploy", dir, "--app", "blog", "--image", ref)
	if code != exitUsage || !strings.Contains(errOut, `pyship.toml:3: unknown deploy setting "region"`) {
		t.Errorf("a bad key: exit %d\n%s", code, errOut)
	}
}

// TestLogsOfAnAppPyshipDidNotDeploy: logs --target with the resource group reads an
// Azure app pyship has no record of (made from render's files with the Azure CLI).
func TestLogsOfAnAppPyshipDidNotDeploy(t *testing.T) {
	f := localAzure(t)
	f.Logs["shop"] = []string{"booted", "GET /orders 200"}
	t.Setenv("PYSHIP_STATE_DIR", filepath.Join(t.TempDir(), "state"))
	t.Setenv("AZURE_SUBSCRIPTION_ID", testSubscription)
	in := azure.DeployInput{Target: azure.ContainerInstances, Place: azure.Place{Subscription: testSubscription, ResourceGroup: "rg"},
		App: azure.AppInput{Name: "shop", Location: "westeurope", Port: 8000, Probe: "/", Image: "registry.example/shop@sha256:" + strings.Repeat("e", 64)}}
	rm, _ := newResourceManager()
	if _, err := azure.Deploy(t.Context(), rm, in, azure.DeployOptions{}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run("logs", "shop", "--target", "aci", "-g", "rg", "--tail", "1")
	if code != 0 || !strings.Contains(out, "GET /orders 200") || strings.Contains(out, "booted") {
		t.Errorf("logs --target aci: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := run("logs", "shop", "--target", "kubernetes"); code != exitUsage || !strings.Contains(errOut, "an app pyship deployed is found by its NAME") {
		t.Errorf("logs --target kubernetes: exit %d\n%s", code, errOut)
	}
}
