package azure

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// TestOfficialContainerGroupExample: Azure's own example request passes the strict
// schema.
func TestOfficialContainerGroupExample(t *testing.T) {
	b, err := specs.ReadFile("specs/containerinstance/resource-manager/Microsoft.ContainerInstance/ContainerInstance/stable/2026-05-01/examples/ContainerGroupsCreateOrUpdate.json")
	if err != nil {
		t.Fatal(err)
	}
	var ex struct {
		Parameters struct {
			Group json.RawMessage `json:"containerGroup"`
		} `json:"parameters"`
	}
	if err := json.Unmarshal(b, &ex); err != nil || len(ex.Parameters.Group) == 0 {
		t.Fatalf("the example: %v", err)
	}
	if err := validate(ContainerGroup, "the official example", ex.Parameters.Group); err != nil {
		t.Fatal(err)
	}
}

func TestContainerGroupGolden(t *testing.T) {
	withSecrets := flask()
	withSecrets.Env = map[string]string{"LOG_LEVEL": "info"}
	withSecrets.Secrets = []string{"SECRET_KEY"}
	withSecrets.KeyVault = "https://shop-kv.vault.azure.net"
	withSecrets.Identity = uami
	public := flask()
	public.Image = "ghcr.io/acme/shop@sha256:" + strings.Repeat("b", 64)
	for name, in := range map[string]AppInput{"acr-secrets": withSecrets, "public": public} {
		t.Run(name, func(t *testing.T) {
			got, err := ContainerGroupYAML(in)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", "containergroup-"+name+".yaml"), got)
		})
	}
}

// TestContainerGroupInputErrors: what a container group cannot be is refused, with
// the fix: replicas, a split, secrets or ACR without a user-assigned identity.
func TestContainerGroupInputErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*AppInput)
		want string
	}{
		{"replicas", func(in *AppInput) { in.Replicas = 3 }, "no replicas or autoscaling"},
		{"split", func(in *AppInput) { in.Traffic = map[string]int{"shop--1": 50, "shop--2": 50} }, "no revisions to split traffic between"},
		{"acr without identity", func(in *AppInput) {}, "give --identity, a user-assigned identity with AcrPull"},
		{"secrets without identity", func(in *AppInput) {
			in.Image = "ghcr.io/acme/shop@sha256:" + strings.Repeat("b", 64)
			in.Secrets, in.KeyVault = []string{"API_KEY"}, "https://shop-kv.vault.azure.net"
		}, "with a user-assigned identity only"},
		{"tag", func(in *AppInput) { in.Image = "ghcr.io/acme/shop:1" }, "not pinned by digest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := flask()
			tc.edit(&in)
			_, err := ContainerGroupBody(in)
			var ie *InputError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want an InputError with %q", err, tc.want)
			}
		})
	}
}
