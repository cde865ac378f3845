package azure

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// memoryRM is Resource Manager in memory: what was PUT reads back with the states
// the test sets; every call is logged.
type memoryRM struct {
	resources map[string][]byte
	revision  map[string]any // properties every revision reads back with
	after     map[string]any // properties merged into a PUT's answer
	calls     []string
	getErr    error
}

func newMemoryRM() *memoryRM {
	return &memoryRM{resources: map[string][]byte{},
		revision: map[string]any{"healthState": "Healthy", "provisioningState": "Provisioned", "runningState": "Running"}}
}

func (m *memoryRM) Get(_ context.Context, id, _ string) (json.RawMessage, error) {
	m.calls = append(m.calls, "GET "+id)
	if m.getErr != nil {
		return nil, m.getErr
	}
	if i := strings.Index(id, "/revisions/"); i > 0 {
		b, _ := json.Marshal(map[string]any{"properties": m.revision})
		return b, nil
	}
	return m.resources[id], nil
}

func (m *memoryRM) Post(_ context.Context, id, _ string) (json.RawMessage, error) {
	m.calls = append(m.calls, "POST "+id)
	return []byte(`{"properties":{}}`), nil
}

func (m *memoryRM) Put(_ context.Context, r Resource) (json.RawMessage, error) {
	m.calls = append(m.calls, "PUT "+r.ID)
	var doc map[string]any
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		return nil, err
	}
	props := doc["properties"].(map[string]any)
	props["provisioningState"] = "Succeeded"
	if tmpl, ok := props["template"].(map[string]any); ok {
		props["latestRevisionName"] = "shop--" + tmpl["revisionSuffix"].(string)
	}
	merge(props, m.after)
	b, _ := json.Marshal(doc)
	m.resources[r.ID] = b
	return b, nil
}

// merge writes from into into, object by object.
func merge(into, from map[string]any) {
	for k, v := range from {
		if sub, ok := v.(map[string]any); ok {
			if dst, ok := into[k].(map[string]any); ok {
				merge(dst, sub)
				continue
			}
		}
		into[k] = v
	}
}

var place = Place{Subscription: "6f1a2b3c-0000-4000-8000-00000000c0de", ResourceGroup: "rg"}

func acaInput() DeployInput {
	return DeployInput{Target: ContainerApps, App: flask(), Place: place}
}

func TestDeployCreatesThenSkipsThenUpdates(t *testing.T) {
	ctx := context.Background()
	rm := newMemoryRM()
	rm.after = map[string]any{"configuration": map[string]any{"ingress": map[string]any{"fqdn": "shop.env.westeurope.azurecontainerapps.io", "external": true, "targetPort": 8000}}}
	var said []string
	o := DeployOptions{Poll: time.Millisecond, Progress: func(f string, a ...any) { said = append(said, f) }}
	out, err := Deploy(ctx, rm, acaInput(), o)
	if err != nil {
		t.Fatal(err)
	}
	id := "/subscriptions/" + place.Subscription + "/resourceGroups/rg/providers/Microsoft.App/containerApps/shop"
	if !out.Created || !out.Applied || out.ID != id || out.Revision != "shop--3f2a9c1d" || out.URL != "https://shop.env.westeurope.azurecontainerapps.io/" {
		t.Errorf("first deploy: %+v", out)
	}
	want := []string{"GET " + id, "PUT " + id, "GET " + id + "/revisions/shop--3f2a9c1d"}
	if strings.Join(rm.calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(rm.calls, "\n"), strings.Join(want, "\n"))
	}
	if len(said) != 2 || !strings.HasPrefix(said[0], "creating") {
		t.Errorf("progress: %q", said)
	}

	// The same app again: Azure has it as pyship would PUT it (with its own additions),
	// so nothing is sent.
	rm.calls = nil
	out, err = Deploy(ctx, rm, acaInput(), o)
	if err != nil {
		t.Fatal(err)
	}
	if out.Created || out.Applied || len(out.Changes) != 0 || len(rm.calls) != 1 || out.URL == "" {
		t.Errorf("unchanged deploy: %+v, calls %q", out, rm.calls)
	}

	// A new image and setting: a PUT, its changes listed.
	in := acaInput()
	in.App.Image = image[:len(image)-4] + "beef"
	in.App.Revision = "shop--0badc0de"
	in.App.Env = map[string]string{"LOG_LEVEL": "debug"}
	rm.calls = nil
	out, err = Deploy(ctx, rm, in, o)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, c := range out.Changes {
		paths = append(paths, c.Op+" "+c.Path)
	}
	got := strings.Join(paths, "\n")
	for _, w := range []string{"change /properties/template/containers[name=shop]/image", "add /properties/template/containers[name=shop]/env", "change /properties/template/revisionSuffix"} {
		if !strings.Contains(got, w) {
			t.Errorf("changes lack %q:\n%s", w, got)
		}
	}
	if !out.Applied || out.Revision != "shop--0badc0de" || len(rm.calls) != 3 {
		t.Errorf("update: %+v, calls %q", out, rm.calls)
	}
}

func TestDeployDryRunChangesNothing(t *testing.T) {
	rm := newMemoryRM()
	out, err := Deploy(context.Background(), rm, acaInput(), DeployOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if !out.Created || out.Applied || len(rm.resources) != 0 || len(rm.calls) != 1 || out.URL != "" {
		t.Errorf("dry run of a new app: %+v, calls %q", out, rm.calls)
	}
}

func TestDeployUnhealthyRevision(t *testing.T) {
	for _, tc := range []struct {
		name  string
		state map[string]any
		want  string
	}{
		{"crashed", map[string]any{"healthState": "Unhealthy", "provisioningState": "Provisioned", "runningState": "Failed", "provisioningError": "exit code 3"},
			"revision shop--3f2a9c1d failed (exit code 3); the previous revision keeps serving: pyship logs shop"},
		{"never healthy", map[string]any{"healthState": "None", "provisioningState": "Provisioning", "runningState": "Processing"},
			"was not healthy within 20ms (health None, provisioning Provisioning, running Processing)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rm := newMemoryRM()
			rm.revision = tc.state
			out, err := Deploy(context.Background(), rm, acaInput(), DeployOptions{Wait: 20 * time.Millisecond, Poll: time.Millisecond})
			var de *DeployError
			if !errors.As(err, &de) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a DeployError with %q", err, tc.want)
			}
			if out == nil || !out.Applied || out.Revision != "shop--3f2a9c1d" {
				t.Errorf("the outcome of a PUT that was applied: %+v", out)
			}
		})
	}
}

func TestDeployOtherServices(t *testing.T) {
	ctx := context.Background()
	aci := flask()
	aci.Environment = ""
	aci.Image = "registry.example/shop@sha256:" + strings.Repeat("0", 64)
	for _, tc := range []struct {
		in    DeployInput
		after map[string]any
		url   string
		err   string
	}{
		{in: DeployInput{Target: ContainerInstances, App: aci, Place: place},
			after: map[string]any{"ipAddress": map[string]any{"fqdn": "shop.hash.westeurope.azurecontainer.io"}, "instanceView": map[string]any{"state": "Running"}},
			url:   "http://shop.hash.westeurope.azurecontainer.io:8000/"},
		{in: DeployInput{Target: ContainerInstances, App: aci, Place: place},
			after: map[string]any{"instanceView": map[string]any{"state": "Stopped"}}, err: "the container group is Stopped"},
		{in: DeployInput{Target: AppService, App: aci, Plan: plan, Place: place},
			after: map[string]any{"defaultHostName": "shop.azurewebsites.net"}, url: "https://shop.azurewebsites.net/"},
		{in: DeployInput{Target: AppService, App: aci, Plan: plan, Place: place},
			after: map[string]any{"provisioningState": "Failed"}, err: "Azure's provisioning ended Failed"},
	} {
		rm := newMemoryRM()
		rm.after = tc.after
		out, err := Deploy(ctx, rm, tc.in, DeployOptions{})
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err = %v, want %q", tc.in.Target, err, tc.err)
			}
			continue
		}
		if err != nil || out.URL != tc.url || out.Revision != "" || len(rm.calls) != 2 {
			t.Errorf("%s: %+v, %v, calls %q", tc.in.Target, out, err, rm.calls)
		}
	}
}

// TestDeployRefusesBeforeCalling: what cannot be deployed is refused before Azure is
// asked anything.
func TestDeployRefusesBeforeCalling(t *testing.T) {
	for _, tc := range []struct {
		mod  func(*DeployInput)
		want string
	}{
		{func(in *DeployInput) { in.Place.Subscription = "" }, "no Azure subscription"},
		{func(in *DeployInput) { in.Place.Subscription = "prod" }, `subscription "prod" is not a subscription ID`},
		{func(in *DeployInput) { in.Place.ResourceGroup = "" }, "no resource group"},
		{func(in *DeployInput) { in.Place.ResourceGroup = "rg." }, "not ending in '.'"},
		{func(in *DeployInput) { in.Target = "webjobs" }, `target "webjobs"`},
		{func(in *DeployInput) { in.App.Secrets = []string{"API_KEY"} }, "give --key-vault"},
		{func(in *DeployInput) { in.App.Image = "shop:latest" }, "not pinned by digest"},
	} {
		rm := newMemoryRM()
		in := acaInput()
		tc.mod(&in)
		_, err := Deploy(context.Background(), rm, in, DeployOptions{})
		var ie *InputError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), tc.want) || len(rm.calls) != 0 {
			t.Errorf("err = %v (calls %q), want an InputError with %q", err, rm.calls, tc.want)
		}
	}
	rm := newMemoryRM()
	rm.getErr = &ARMError{Status: 403, Msg: "forbidden"}
	if _, err := Deploy(context.Background(), rm, acaInput(), DeployOptions{}); err == nil || err.Error() != "forbidden" || len(rm.calls) != 1 {
		t.Errorf("a GET refused: %v, calls %q", err, rm.calls)
	}
}

func TestDiff(t *testing.T) {
	cur := `{"id":"/x","location":"westeurope","Properties":{"provisioningState":"Succeeded","template":{"containers":[{"name":"a","image":"i1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}]}]}}}`
	want := `{"location":"westeurope","properties":{"template":{"containers":[{"name":"a","image":"i2","env":[{"name":"A","value":"1"}]}],"scale":{"minReplicas":1}}}}`
	got, err := Diff([]byte(cur), []byte(want))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, c := range got {
		lines = append(lines, c.String())
	}
	// Keys only Azure writes (id, provisioningState) are not changes; an element
	// fewer in a list is; named elements are matched by name; key names compare
	// without case.
	wantLines := []string{
		`- /properties/template/containers[name=a]/env[name=B]: {"name":"B","value":"2"}`,
		`~ /properties/template/containers[name=a]/image: "i1" -> "i2"`,
		`+ /properties/template/scale: {"minReplicas":1}`,
	}
	if strings.Join(lines, "\n") != strings.Join(wantLines, "\n") {
		t.Errorf("diff:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(wantLines, "\n"))
	}
	if _, err := Diff([]byte("{"), []byte(want)); err == nil {
		t.Error("a broken answer from Azure is an error")
	}
	deep := strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100)
	deep2 := strings.Repeat(`{"a":`, 100) + "2" + strings.Repeat("}", 100)
	if d, err := Diff([]byte(deep), []byte(deep2)); err != nil || len(d) != 1 {
		t.Errorf("a deep document: %v, %v", d, err)
	}
}

// FuzzDiff: Azure's answer is untrusted: any bytes give changes or an error, never a
// panic, and a document compared with itself has none.
func FuzzDiff(f *testing.F) {
	body, _ := ContainerAppBody(flask())
	f.Add(body, body)
	f.Add([]byte(`{"properties":{"template":{"containers":[{"name":"a"},{"name":"a"}]}}}`), body)
	f.Add([]byte(`[1,2,{"name":3}]`), []byte(`[{"name":"x"}]`))
	f.Add([]byte(strings.Repeat(`{"a":`, 64)+"1"+strings.Repeat("}", 64)), []byte(`{"a":{"a":2}}`))
	f.Fuzz(func(t *testing.T, current, desired []byte) {
		changes, err := Diff(current, desired)
		if err != nil {
			return
		}
		if same, err := Diff(desired, desired); err == nil && len(same) != 0 {
			t.Errorf("a document differs from itself: %v", same)
		}
		for _, c := range changes {
			if c.Op != "add" && c.Op != "change" && c.Op != "remove" {
				t.Errorf("change %+v", c)
			}
		}
	})
}
