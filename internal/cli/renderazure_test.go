package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pyship/pyship/internal/store"
	"github.com/pyship/pyship/internal/testutil"
)

const testEnvironment = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.App/managedEnvironments/prod"

// -o never replaces a file render --target aca did not write, nor one it wrote for
// another app: exit 1, code conflict, nothing written (not even the other file).
func TestRenderACARefusesForeignFile(t *testing.T) {
	t.Setenv("PYSHIP_STATE_DIR", filepath.Join(t.TempDir(), "state"))
	ref := testutil.PushUserImage(t, testutil.Registry(t), "flask", "10001:10001")
	for _, tc := range []struct{ name, content string }{
		{"hand-written", "# my own Container App\nlocation: westeurope\n"},
		{"another app's", "# pyship render --target aca: Container App blog (Microsoft.App 2026-01-01).\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			mine := filepath.Join(out, "containerapp-flask.yaml")
			if err := os.WriteFile(mine, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			code, stdout, errOut := run("render", "--target", "aca", examplesDir(t, "flask"), "--image", ref,
				"--location", "westeurope", "--environment", testEnvironment, "-o", out, "--json")
			if code != exitFailure || stdout != "" {
				t.Fatalf("exit %d, stdout %q", code, stdout)
			}
			if e := lastJSONError(t, errOut); e == nil || e.Code != codeConflict || !strings.Contains(e.Message, "containerapp-flask.yaml") {
				t.Errorf("error %q", errOut)
			}
			if entries, _ := os.ReadDir(out); len(entries) != 1 {
				t.Errorf("render wrote files beside the refused one: %v", entries)
			}
			if b, _ := os.ReadFile(mine); string(b) != tc.content {
				t.Errorf("the user's file changed: %q", b)
			}
		})
	}
}

// A deployed app's secrets become Key Vault references by name, never values; without
// --key-vault render refuses (exit 2) and says how to give one.
func TestRenderACASecrets(t *testing.T) {
	const value = "Zq9-aca-sentinel-value"
	stateDir := filepath.Join(t.TempDir(), "state")
	st, err := store.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	ref := testutil.PushUserImage(t, testutil.Registry(t), "shop", "10001:10001")
	digest, err := st.SetSecret("shop", "API_KEY", []byte(value))
	if err != nil {
		t.Fatal(err)
	}
	img, err := inspectImage(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	spec := store.Spec{Image: img.ID, ImageRef: ref, Env: map[string]string{}, Secrets: map[string]string{"API_KEY": digest}, Port: 8000, Probe: "/", Replicas: 1}
	live := "shop--" + spec.Hash()
	app := &store.App{Name: "shop", Port: 8000, Probe: "/", Replicas: 1, Env: spec.Env, Secrets: spec.Secrets, Image: img.ID, ImageRef: ref, Live: live,
		Created: time.Now().UTC(), Revisions: []store.Revision{{Name: live, Spec: spec, State: store.Ready, Created: time.Now().UTC()}}}
	if err := st.Put(app); err != nil {
		t.Fatal(err)
	}
	args := []string{"render", "--target", "aca", "--app", "shop", "--state-dir", stateDir, "-C", t.TempDir(), "--location", "westeurope", "--environment", testEnvironment}
	code, _, errOut := run(args...)
	if code != exitUsage || !strings.Contains(errOut, "give --key-vault https://VAULT.vault.azure.net") {
		t.Errorf("without --key-vault: exit %d\n%s", code, errOut)
	}
	code, out, errOut := run(append(args, "--key-vault", "https://shop-kv.vault.azure.net")...)
	// The suffix is a hash: when it is all digits YAML quotes it (the registry's port,
	// in the image reference, changes it every run).
	suffix := strings.TrimPrefix(live, "shop--")
	hasSuffix := strings.Contains(out, "revisionSuffix: "+suffix+"\n") || strings.Contains(out, `revisionSuffix: "`+suffix+`"`)
	if code != 0 || !strings.Contains(out, "keyVaultUrl: https://shop-kv.vault.azure.net/secrets/api-key") || !strings.Contains(out, "secretRef: api-key") || !hasSuffix {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out+errOut, value) {
		t.Errorf("the secret value was printed")
	}
}
