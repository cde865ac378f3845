package azure

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func functionApp() FunctionAppInput {
	in := FunctionAppInput{SiteInput: webApp(), Storage: "shopfuncstate"}
	in.Port = 80
	in.Env = map[string]string{"PORT": "80", "LOG_LEVEL": "info"}
	return in
}

// TestFunctionAppGolden: a function app on a custom container: kind functionapp, the
// Functions runtime's settings, host storage by the site's identity (no connection
// string), the image by digest from ACR with that identity, settings and Key Vault
// references; the template and the az commands; valid against Azure's Site.
func TestFunctionAppGolden(t *testing.T) {
	in := functionApp()
	in.Secrets, in.KeyVault = []string{"API_KEY"}, "https://shop-kv.vault.azure.net"
	docs, err := RenderFunctionApp(in)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("testdata", "functionapp-shop.arm.json"), docs.ARM)
	golden(t, filepath.Join("testdata", "functionapp-shop.sh"), docs.Commands)
	body := string(docs.Body)
	for _, want := range []string{`"kind": "functionapp,linux,container"`, `"linuxFxVersion": "DOCKER|` + image + `"`,
		`"name": "FUNCTIONS_WORKER_RUNTIME",` + "\n" + `          "value": "python"`, `"name": "AzureWebJobsStorage__accountName",` + "\n" + `          "value": "shopfuncstate"`,
		`"@Microsoft.KeyVault(SecretUri=https://shop-kv.vault.azure.net/secrets/api-key/)"`, `"acrUseManagedIdentityCreds": true`} {
		if !strings.Contains(body, want) {
			t.Errorf("the function app lacks %s:\n%s", want, body)
		}
	}
	for _, never := range []string{"WEBSITES_PORT", `"PORT"`, "AccountKey="} {
		if strings.Contains(body, never) {
			t.Errorf("the function app holds %s:\n%s", never, body)
		}
	}
	if err := validate(Site, "the function app", docs.Body); err != nil {
		t.Error(err)
	}
	if got := RenderedApp(docs.ARM); got != "shop" {
		t.Errorf("RenderedApp(template) = %q", got)
	}
}

func TestFunctionAppRefuses(t *testing.T) {
	for _, tc := range []struct {
		mod  func(*FunctionAppInput)
		want string
	}{
		{func(in *FunctionAppInput) { in.Storage = "" }, `storage account ""`},
		{func(in *FunctionAppInput) { in.Storage = "Shop-State" }, "3-24 lowercase letters and digits"},
		{func(in *FunctionAppInput) {
			in.Identity = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/shop"
		}, "system-assigned identity"},
		{func(in *FunctionAppInput) { in.MaxReplicas = 5 }, "autoscale settings"},
		{func(in *FunctionAppInput) { in.Secrets = []string{"API_KEY"} }, "give --key-vault"},
	} {
		in := functionApp()
		tc.mod(&in)
		_, err := FunctionAppBody(in)
		var ie *InputError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want %q", err, tc.want)
		}
	}
}
