package azure_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pyship/pyship/internal/azure"
	"github.com/pyship/pyship/internal/azure/azuretest"
)

var rg = azure.Place{Subscription: "6f1a2b3c-0000-4000-8000-00000000c0de", ResourceGroup: "rg"}

// TestDeployThroughResourceManager: each service's deploy through the ARM client
// against the local Resource Manager, which checks every PUT against Azure's
// definition: created, then unchanged (no second PUT), with the app's address.
func TestDeployThroughResourceManager(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	plain := shop()
	plain.Environment, plain.Image = "", "registry.example/shop@sha256:"+strings.Repeat("cd", 32)
	for _, tc := range []struct {
		in  azure.DeployInput
		url string
	}{
		{azure.DeployInput{Target: azure.ContainerApps, App: shop(), Place: rg}, "https://shop.kindwater-1a2b3c4d.westeurope.azurecontainerapps.io/"},
		{azure.DeployInput{Target: azure.ContainerInstances, App: plain, Place: rg}, "http://shop.a1b2c3d4e5.westeurope.azurecontainer.io:8000/"},
		{azure.DeployInput{Target: azure.AppService, App: plain, Place: rg,
			Plan: "/subscriptions/" + rg.Subscription + "/resourceGroups/rg/providers/Microsoft.Web/serverfarms/linux"}, "https://shop.azurewebsites.net/"},
		{azure.DeployInput{Target: azure.Functions, App: plain, Place: rg, Storage: "shopstate",
			Plan: "/subscriptions/" + rg.Subscription + "/resourceGroups/rg/providers/Microsoft.Web/serverfarms/premium"}, "https://shop.azurewebsites.net/"},
	} {
		t.Run(tc.in.Target, func(t *testing.T) {
			f := azuretest.New(t)
			a := f.ARM(t, azuretest.Secret)
			o := azure.DeployOptions{Poll: 10 * time.Millisecond}
			out, err := azure.Deploy(ctx, a, tc.in, o)
			if err != nil {
				t.Fatal(err)
			}
			if !out.Created || !out.Applied || out.URL != tc.url {
				t.Errorf("first deploy: %+v", out)
			}
			if tc.in.Target == azure.ContainerApps && out.Revision != "shop--3f2a9c1d" {
				t.Errorf("revision %q", out.Revision)
			}
			puts := func() int { return strings.Count(strings.Join(f.Calls(), "\n"), "PUT ") }
			if puts() != 1 {
				t.Errorf("%d PUTs, want 1", puts())
			}
			// Azure's answer holds what it adds (ids, states, addresses): the same app
			// again changes nothing, and is not sent.
			out, err = azure.Deploy(ctx, a, tc.in, o)
			if err != nil || out.Applied || len(out.Changes) != 0 || out.URL != tc.url {
				t.Errorf("second deploy: %+v, %v", out, err)
			}
			if puts() != 1 {
				t.Errorf("the unchanged app was PUT again")
			}
			// A new setting is seen (for a site, among the app settings Azure lists
			// apart from the site) and sent.
			changed := tc.in
			changed.App.Env = map[string]string{"LOG_LEVEL": "debug"}
			out, err = azure.Deploy(ctx, a, changed, o)
			if err != nil || !out.Applied || puts() != 2 || !strings.Contains(fmt.Sprint(out.Changes), "LOG_LEVEL") {
				t.Errorf("a changed setting: %+v, %v", out, err)
			}
		})
	}
}

// TestDeployUnhealthyRevisionThroughResourceManager: a Container App revision that
// fails is an error naming it, after Azure applied it.
func TestDeployUnhealthyRevisionThroughResourceManager(t *testing.T) {
	f := azuretest.New(t)
	f.Unhealthy = true
	_, err := azure.Deploy(context.Background(), f.ARM(t, azuretest.Secret), azure.DeployInput{Target: azure.ContainerApps, App: shop(), Place: rg},
		azure.DeployOptions{Poll: 10 * time.Millisecond})
	var de *azure.DeployError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "revision shop--3f2a9c1d failed (Container 'shop' was terminated with exit code '1')") {
		t.Fatalf("err = %v", err)
	}
}
