package azure_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pyship/pyship/internal/azure"
	"github.com/pyship/pyship/internal/azure/azuretest"
)

const appID = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.App/containerApps/shop"

// shop is the Container App the ARM tests send.
func shop() azure.AppInput {
	return azure.AppInput{Name: "shop", Revision: "shop--3f2a9c1d", Location: "westeurope", Port: 8000, Probe: "/healthz", Replicas: 1,
		Environment: "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.App/managedEnvironments/prod",
		Image:       "shop.azurecr.io/shop@sha256:" + strings.Repeat("ab", 32)}
}

func appResource(t *testing.T, id string) azure.Resource {
	t.Helper()
	body, err := azure.ContainerAppBody(shop())
	if err != nil {
		t.Fatal(err)
	}
	return azure.Resource{ID: id, APIVersion: azure.ContainerAppAPIVersion, Body: body, What: "Container App shop"}
}

// TestARMPut: a token from the credential, the PUT with its api-version and a body
// Azure's definition accepts, the long-running operation followed to Succeeded, and
// the resource as Azure has it returned; a 429 is retried after its Retry-After.
func TestARMPut(t *testing.T) {
	f := azuretest.New(t)
	f.Throttle = 1
	a := f.ARM(t, azuretest.Secret)
	start := time.Now()
	out, err := a.Put(context.Background(), appResource(t, appID))
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("the 429's Retry-After (1 s) was not waited for: %s", d)
	}
	var got struct {
		ID         string `json:"id"`
		Properties struct {
			ProvisioningState string `json:"provisioningState"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(out, &got); err != nil || got.ID != appID || got.Properties.ProvisioningState != "Succeeded" {
		t.Errorf("Put returned %s (%v)", out, err)
	}
	calls := strings.Join(f.Calls(), "\n")
	for _, want := range []string{"POST /tenant-1/oauth2/v2.0/token", "PUT " + appID, "GET /operations/1"} {
		if !strings.Contains(calls, want) {
			t.Errorf("no %q among the calls:\n%s", want, calls)
		}
	}
	if strings.Count(calls, "PUT "+appID) != 2 {
		t.Errorf("want the throttled PUT and its retry:\n%s", calls)
	}
	if b, err := a.Get(context.Background(), appID, azure.ContainerAppAPIVersion); err != nil || !strings.Contains(string(b), `"provisioningState":"Succeeded"`) {
		t.Errorf("Get = %s, %v", b, err)
	}
	if b, err := a.Get(context.Background(), appID+"x", azure.ContainerAppAPIVersion); err != nil || b != nil {
		t.Errorf("Get of a missing resource = %s, %v; want nil, nil", b, err)
	}
}

// TestARMErrors: each refusal is one line naming the resource, what Azure said and
// the fix, with its status and code.
func TestARMErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		setup  func(*azuretest.Azure)
		id     string
		secret string
		status int
		want   []string
	}{
		{name: "bad secret", secret: "wrong", want: []string{"cannot get a token for Azure Resource Manager", "az login"}},
		{name: "resource group", id: strings.Replace(appID, "/rg/", "/missing/", 1), status: 404,
			want: []string{"Container App shop: Azure refused it: Resource group 'missing' could not be found. (404 ResourceGroupNotFound)", "az group create --name missing"}},
		{name: "conflict", setup: func(f *azuretest.Azure) { f.Conflict = true }, status: 409, want: []string{"(409 ContainerAppOperationInProgress)", "wait for it to finish"}},
		{name: "validation", setup: func(f *azuretest.Azure) { f.Reject = true }, status: 400,
			want: []string{"properties.template.containers[0].resources.cpu: The total requested CPU and memory resources are not a supported combination.", "fix the setting it names"}},
		{name: "throttled for good", setup: func(f *azuretest.Azure) { f.Throttle = 10 }, status: 429, want: []string{"(429 TooManyRequests)", "deploy again in a minute"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := azuretest.New(t)
			if tc.setup != nil {
				tc.setup(f)
			}
			secret := tc.secret
			if secret == "" {
				secret = "s3cret"
			}
			id := tc.id
			if id == "" {
				id = appID
			}
			a := f.ARM(t, secret)
			_, err := a.Put(context.Background(), appResource(t, id))
			var ae *azure.ARMError
			if !errors.As(err, &ae) {
				t.Fatalf("Put = %v, want an ARMError", err)
			}
			if ae.Status != tc.status || strings.Contains(err.Error(), "\n") {
				t.Errorf("status %d (want %d), message %q", ae.Status, tc.status, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error lacks %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), f.Token) {
				t.Errorf("the error shows a secret or token: %v", err)
			}
		})
	}
}

// TestFakeChecksTheSpec: the fake refuses what Azure would: a wrong api-version, and
// a body its definition does not allow (so a pyship bug there fails the tests).
func TestFakeChecksTheSpec(t *testing.T) {
	f := azuretest.New(t)
	a := f.ARM(t, azuretest.Secret)
	r := appResource(t, appID)
	r.APIVersion = "2022-03-01"
	if _, err := a.Put(context.Background(), r); err == nil || !strings.Contains(err.Error(), "InvalidApiVersionParameter") {
		t.Errorf("wrong api-version: %v", err)
	}
	r = appResource(t, appID)
	r.Body = []byte(`{"location": "westeurope", "properties": {"configuration": {"ingres": {}}}}`)
	if _, err := a.Put(context.Background(), r); err == nil || !strings.Contains(err.Error(), "ingres") {
		t.Errorf("a misspelt key: %v", err)
	}
}
