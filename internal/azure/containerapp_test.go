package azure

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const (
	env   = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.App/managedEnvironments/prod"
	image = "myregistry.azurecr.io/shop@sha256:" + "4f1c0000000000000000000000000000000000000000000000000000000000aa"
	uami  = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/shop"
)

func flask() AppInput {
	return AppInput{Name: "shop", Revision: "shop--3f2a9c1d", Location: "westeurope", Environment: env, Image: image, Port: 8000, Probe: "/healthz", Replicas: 1}
}

// TestOfficialExample: Azure's own example request validates against the strict
// schema: strictness refuses what Azure refuses, not what it takes.
func TestOfficialExample(t *testing.T) {
	b, err := specs.ReadFile("specs/app/resource-manager/Microsoft.App/ContainerApps/stable/2026-01-01/examples/ContainerApps_CreateOrUpdate.json")
	if err != nil {
		t.Fatal(err)
	}
	var ex struct {
		Parameters struct {
			Envelope json.RawMessage `json:"containerAppEnvelope"`
		} `json:"parameters"`
	}
	if err := json.Unmarshal(b, &ex); err != nil || len(ex.Parameters.Envelope) == 0 {
		t.Fatalf("the example: %v", err)
	}
	if err := validate(ContainerApp, "the official example", ex.Parameters.Envelope); err != nil {
		t.Fatal(err)
	}
}

// TestContainerAppGolden: the documents for the examples' shapes, byte for byte (and
// each one valid, or ContainerAppBody would have failed).
func TestContainerAppGolden(t *testing.T) {
	withSecrets := flask()
	withSecrets.Env = map[string]string{"LOG_LEVEL": "info", "DJANGO_SETTINGS_MODULE": "site.settings"}
	withSecrets.Secrets = []string{"SECRET_KEY", "DATABASE_URL"}
	withSecrets.KeyVault = "https://shop-kv.vault.azure.net"
	split := flask()
	split.Replicas, split.MaxReplicas, split.Traffic = 2, 10, map[string]int{"shop--3f2a9c1d": 90, "shop--77aa01b2": 10}
	split.Identity = uami
	split.Image = "ghcr.io/acme/shop@sha256:" + strings.Repeat("b", 64)
	for name, in := range map[string]AppInput{"flask": flask(), "secrets": withSecrets, "split-autoscale": split} {
		t.Run(name, func(t *testing.T) {
			got, err := ContainerAppBody(in)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := ContainerAppBody(in)
			if !bytes.Equal(got, again) {
				t.Error("two renders differ")
			}
			golden(t, filepath.Join("testdata", "containerapp-"+name+".json"), got)
		})
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update rewrites it):\n%s", path, got)
	}
}

// TestSchemaRefuses: what Azure's definition does not allow is an error naming the
// place: an unknown (misspelt) key, a read-only property, a wrong type, a missing
// required property.
func TestSchemaRefuses(t *testing.T) {
	body, err := ContainerAppBody(flask())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(m map[string]any)
		want string
	}{
		{"misspelt key", func(m map[string]any) { cfg(m)["ingres"] = map[string]any{} }, "/properties/configuration/ingres: is not a property Azure's definition has here"},
		{"read-only", func(m map[string]any) { props(m)["provisioningState"] = "Succeeded" }, "/properties/provisioningState: is read-only"},
		{"wrong type", func(m map[string]any) { cfg(m)["ingress"].(map[string]any)["targetPort"] = "8000" }, "/properties/configuration/ingress/targetPort: "},
		{"a limit stated in prose", func(m map[string]any) {
			c := props(m)["template"].(map[string]any)["containers"].([]any)[0].(map[string]any)
			c["probes"].([]any)[0].(map[string]any)["failureThreshold"] = 60
		}, "/properties/template/containers/0/probes/0/failureThreshold: maximum: got 60, want 10"},
		{"missing location", func(m map[string]any) { delete(m, "location") }, "/: "},
		{"wrong type, deeper", func(m map[string]any) {
			props(m)["template"].(map[string]any)["scale"].(map[string]any)["maxReplicas"] = "ten"
		}, "/properties/template/scale/maxReplicas: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatal(err)
			}
			tc.edit(m)
			b, _ := json.Marshal(m)
			err := validate(ContainerApp, "the test's app", b)
			var se *SchemaError
			if !errors.As(err, &se) {
				t.Fatalf("validate = %v, want a SchemaError", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("the error lacks %q:\n%v", tc.want, err)
			}
			t.Log(err)
		})
	}
}

// TestOpenEnum: an enum Azure marks modelAsString is open (the service adds values):
// only its type is checked.
func TestOpenEnum(t *testing.T) {
	body, err := ContainerAppBody(flask())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(body, &m)
	cfg(m)["ingress"].(map[string]any)["transport"] = "http3"
	b, _ := json.Marshal(m)
	if err := validate(ContainerApp, "the test's app", b); err != nil {
		t.Errorf("an open enum's new value: %v", err)
	}
}

func props(m map[string]any) map[string]any { return m["properties"].(map[string]any) }
func cfg(m map[string]any) map[string]any   { return props(m)["configuration"].(map[string]any) }

// TestContainerAppInputErrors: inputs a Container App cannot be made from are refused
// with the fix, before any document exists.
func TestContainerAppInputErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*AppInput)
		want string
	}{
		{"tag", func(in *AppInput) { in.Image = "myregistry.azurecr.io/shop:latest" }, "not pinned by digest"},
		{"environment", func(in *AppInput) { in.Environment = "prod" }, "not a Container Apps environment's resource ID"},
		{"location", func(in *AppInput) { in.Location = "" }, "needs a location"},
		{"secret without a vault", func(in *AppInput) { in.Secrets = []string{"API_KEY"} }, "never holds their values: give --key-vault"},
		{"weights", func(in *AppInput) { in.Traffic = map[string]int{"shop--1": 50, "shop--2": 40} }, "add up to 90"},
		{"port", func(in *AppInput) { in.Port = 0 }, "not a TCP port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := flask()
			tc.edit(&in)
			_, err := ContainerAppBody(in)
			var ie *InputError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want an InputError with %q", err, tc.want)
			}
		})
	}
}

// TestRenderContainerApp: the YAML and the template hold the body, byte-stable.
func TestRenderContainerApp(t *testing.T) {
	docs, err := RenderContainerApp(flask())
	if err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("testdata", "containerapp-flask.yaml"), docs.YAML)
	golden(t, filepath.Join("testdata", "containerapp-flask.arm.json"), docs.ARM)
	var tmpl struct {
		Resources []map[string]any `json:"resources"`
	}
	if err := json.Unmarshal(docs.ARM, &tmpl); err != nil || len(tmpl.Resources) != 1 {
		t.Fatalf("template: %v", err)
	}
	res := tmpl.Resources[0]
	if res["type"] != "Microsoft.App/containerApps" || res["apiVersion"] != ContainerAppAPIVersion || res["name"] != "shop" {
		t.Errorf("resource head %v %v %v", res["type"], res["apiVersion"], res["name"])
	}
	delete(res, "type")
	delete(res, "apiVersion")
	delete(res, "name")
	b, _ := json.Marshal(res)
	if err := validate(ContainerApp, "the template's resource", b); err != nil {
		t.Error(err)
	}
}
