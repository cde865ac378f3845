package azure_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pyship/pyship/internal/azure"
	"github.com/pyship/pyship/internal/azure/azuretest"
)

// deployed is each service's app, deployed to a fresh local Resource Manager that
// holds lines of output for it.
func deployed(t *testing.T, target string) (*azuretest.Azure, *azure.ARM, azure.Resource) {
	t.Helper()
	in := azure.DeployInput{Target: target, App: shop(), Place: rg}
	if target != azure.ContainerApps {
		in.App.Environment, in.App.Image = "", "registry.example/shop@sha256:"+strings.Repeat("cd", 32)
	}
	if target == azure.AppService || target == azure.Functions {
		in.Plan = "/subscriptions/" + rg.Subscription + "/resourceGroups/rg/providers/Microsoft.Web/serverfarms/linux"
		in.Storage = "shopstate"
	}
	f := azuretest.New(t)
	f.Logs["shop"] = []string{"[INFO] Starting gunicorn", "[INFO] Listening at: http://0.0.0.0:8000", "GET / 200"}
	a := f.ARM(t, azuretest.Secret)
	if _, err := azure.Deploy(context.Background(), a, in, azure.DeployOptions{Poll: 10 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	r, err := azure.Desired(in)
	if err != nil {
		t.Fatal(err)
	}
	return f, a, r
}

// TestLogsFromEachService: each service's log API, as Azure serves it: a Container
// App's log stream with its own token, a container's logs, App Service's Kudu log
// stream with the Entra token; --tail's last lines.
func TestLogsFromEachService(t *testing.T) {
	for _, target := range []string{azure.ContainerApps, azure.ContainerInstances, azure.AppService, azure.Functions} {
		t.Run(target, func(t *testing.T) {
			_, a, r := deployed(t, target)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var got []azure.LogLine
			err := a.Logs(ctx, target, r, azure.LogOptions{Tail: 2}, func(l azure.LogLine) error {
				got = append(got, l)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			var msgs []string
			for _, l := range got {
				msgs = append(msgs, l.Message)
			}
			if strings.Join(msgs, "|") != "[INFO] Listening at: http://0.0.0.0:8000|GET / 200" {
				t.Errorf("lines %q", msgs)
			}
			if target == azure.ContainerApps && (got[0].Revision != "shop--3f2a9c1d" || got[0].Replica == "" || got[0].Time == "") {
				t.Errorf("a Container App's line names its revision, replica and time: %+v", got[0])
			}
		})
	}
}

// TestFollowContainerGroupLogs: Container Instances have no stream; followed, the
// logs are read again and only new lines are printed.
func TestFollowContainerGroupLogs(t *testing.T) {
	f, a, r := deployed(t, azure.ContainerInstances)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var mu sync.Mutex
	var got []string
	done := make(chan error, 1)
	go func() {
		done <- a.Logs(ctx, azure.ContainerInstances, r, azure.LogOptions{Follow: true, Tail: 1, Poll: 20 * time.Millisecond}, func(l azure.LogLine) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, l.Message)
			if len(got) == 2 {
				cancel()
			}
			return nil
		})
	}()
	time.Sleep(100 * time.Millisecond)
	f.Lock()
	f.Logs["shop"] = append(f.Logs["shop"], "GET /healthz 200")
	f.Unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "|") != "GET / 200|GET /healthz 200" {
		t.Errorf("followed lines %q", got)
	}
}

// TestDeleteThroughResourceManager: down's delete waits for Azure's operation; a
// resource already gone is not an error.
func TestDeleteThroughResourceManager(t *testing.T) {
	f, a, r := deployed(t, azure.ContainerApps)
	ctx := context.Background()
	if gone, err := a.Delete(ctx, r); err != nil || !gone {
		t.Fatalf("Delete = %v, %v", gone, err)
	}
	if f.Resource(r.ID) != nil {
		t.Error("the resource is still there")
	}
	if gone, err := a.Delete(ctx, r); err != nil || gone {
		t.Errorf("a second Delete = %v, %v; want false, nil", gone, err)
	}
}
