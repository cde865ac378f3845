package azure

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

const plan = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Web/serverfarms/linux-plan"

func webApp() SiteInput { return SiteInput{AppInput: flask(), Plan: plan} }

// TestOfficialSiteExample: Azure's own example request passes the strict schema.
func TestOfficialSiteExample(t *testing.T) {
	b, err := specs.ReadFile("specs/web/resource-manager/Microsoft.Web/AppService/stable/2025-03-01/examples/CreateOrUpdateWebApp.json")
	if err != nil {
		t.Fatal(err)
	}
	var ex struct {
		Parameters struct {
			Site json.RawMessage `json:"siteEnvelope"`
		} `json:"parameters"`
	}
	if err := json.Unmarshal(b, &ex); err != nil || len(ex.Parameters.Site) == 0 {
		t.Fatalf("the example: %v", err)
	}
	if err := validate(Site, "the official example", ex.Parameters.Site); err != nil {
		t.Fatal(err)
	}
}

// TestSiteGolden: the port (WEBSITES_PORT), no shared storage, the health check on the
// probe path, settings and Key Vault references as app settings, ACR by the site's
// identity; the template and the az commands.
func TestSiteGolden(t *testing.T) {
	in := webApp()
	in.Env = map[string]string{"LOG_LEVEL": "info"}
	in.Secrets, in.KeyVault = []string{"SECRET_KEY"}, "https://shop-kv.vault.azure.net"
	docs, err := RenderSite(in)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("testdata", "site-flask.arm.json"), docs.ARM)
	golden(t, filepath.Join("testdata", "site-flask.sh"), docs.Commands)
	for _, want := range []string{`"linuxFxVersion": "DOCKER|` + image + `"`, `"name": "WEBSITES_PORT",` + "\n" + `          "value": "8000"`,
		`"healthCheckPath": "/healthz"`, `"value": "@Microsoft.KeyVault(SecretUri=https://shop-kv.vault.azure.net/secrets/secret-key/)"`, `"acrUseManagedIdentityCreds": true`} {
		if !strings.Contains(string(docs.Body), want) {
			t.Errorf("the site lacks %s:\n%s", want, docs.Body)
		}
	}
	if got := RenderedApp(docs.Commands); got != "shop" {
		t.Errorf("RenderedApp(commands) = %q", got)
	}
	if got := RenderedApp(docs.ARM); got != "shop" {
		t.Errorf("RenderedApp(template) = %q", got)
	}
}

func TestSiteInputErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*SiteInput)
		want string
	}{
		{"plan", func(in *SiteInput) { in.Plan = "linux-plan" }, "not an App Service plan's resource ID"},
		{"split", func(in *SiteInput) { in.Traffic = map[string]int{"shop--1": 50, "shop--2": 50} }, "deployment slots, not revisions"},
		{"autoscale", func(in *SiteInput) { in.MaxReplicas = 5 }, "plan's autoscale settings"},
		{"secret without a vault", func(in *SiteInput) { in.Secrets = []string{"API_KEY"} }, "give --key-vault"},
		{"acr by a user identity", func(in *SiteInput) { in.Identity = uami }, "client ID, which render cannot know"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := webApp()
			tc.edit(&in)
			_, err := SiteBody(in)
			var ie *InputError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want an InputError with %q", err, tc.want)
			}
		})
	}
}

// TestRenderedApp: the marks of every Azure render, and nothing else.
func TestRenderedApp(t *testing.T) {
	for in, want := range map[string]string{
		"# pyship render --target aca: Container App shop (Microsoft.App 2026-01-01).\n":                "shop",
		"# pyship render --target aci: container group api (Microsoft.ContainerInstance 2026-05-01).\n": "api",
		"#!/bin/sh\n# pyship render --target appservice: web app blog (Microsoft.Web 2025-03-01), x\n":  "blog",
		`{"metadata": {"generator": "pyship render --target aca", "app": "web"}}`:                       "web",
		"# my own file\nlocation: westeurope\n":                                                         "",
		`{"metadata": {"generator": "someone else", "app": "web"}}`:                                     "",
		"#!/bin/sh\necho hi\n# pyship render --target aca: Container App shop (Microsoft.App x).\n":     "",
	} {
		if got := RenderedApp([]byte(in)); got != want {
			t.Errorf("RenderedApp(%q) = %q, want %q", in, got, want)
		}
	}
}
