package azure

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// readBicep reads back the subset of Bicep bicepFile writes (one resource of object,
// array, string, integer, bool and json('…') values): what a Bicep compiler would make
// of it, as JSON. No Bicep compiler runs here, so the round trip is the check that the
// file says what the body says.
func readBicep(t *testing.T, src string) (typ string, body map[string]any) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(src, "\n"), "\n")
	i := 0
	for i < len(lines) && strings.HasPrefix(lines[i], "//") {
		i++
	}
	head := strings.Fields(lines[i])
	if len(head) != 5 || head[0] != "resource" || head[3] != "=" || head[4] != "{" {
		t.Fatalf("not a resource declaration: %q", lines[i])
	}
	typ = strings.Trim(head[2], "'")
	i++
	next := func() string {
		if i >= len(lines) {
			t.Fatal("the file ends inside a value")
		}
		l := strings.TrimSpace(lines[i])
		i++
		return l
	}
	unquote := func(s string) string {
		if len(s) < 2 || s[0] != '\'' || s[len(s)-1] != '\'' {
			t.Fatalf("not a string: %q", s)
		}
		r := strings.NewReplacer(`\\`, `\`, `\'`, `'`, `\${`, "${", `\n`, "\n", `\r`, "\r", `\t`, "\t")
		return r.Replace(s[1 : len(s)-1])
	}
	var value func(s string) any
	object := func() map[string]any {
		m := map[string]any{}
		for l := next(); l != "}"; l = next() {
			var k, v string
			if strings.HasPrefix(l, "'") {
				end := strings.Index(l, "': ")
				k, v = unquote(l[:end+1]), l[end+3:]
			} else {
				var ok bool
				if k, v, ok = strings.Cut(l, ": "); !ok {
					t.Fatalf("line %d: %q is no member", i, l)
				}
			}
			m[k] = value(v)
		}
		return m
	}
	array := func() []any {
		a := []any{}
		for l := next(); l != "]"; l = next() {
			a = append(a, value(l))
		}
		return a
	}
	value = func(s string) any {
		switch {
		case s == "{":
			return object()
		case s == "[":
			return array()
		case s == "{}":
			return map[string]any{}
		case s == "[]":
			return []any{}
		case s == "true", s == "false":
			return s == "true"
		case s == "null":
			return nil
		case strings.HasPrefix(s, "json("):
			f, err := strconv.ParseFloat(unquote(strings.TrimSuffix(strings.TrimPrefix(s, "json("), ")")), 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		case strings.HasPrefix(s, "'"):
			return unquote(s)
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("line %d: %q is no value", i, s)
		}
		return float64(n)
	}
	return typ, object()
}

// TestBicepSaysWhatTheBodySays: each service's Bicep file, read back, is the body
// Azure's definition accepted, with its name; 0.5 cores is json('0.5'); keys Bicep
// cannot write bare (a user-assigned identity's resource ID) are quoted.
func TestBicepSaysWhatTheBodySays(t *testing.T) {
	app := flask()
	app.Identity = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/shop"
	app.Env = map[string]string{"GREETING": "it's ${fine}\\ok"}
	aca, err := RenderContainerApp(app)
	if err != nil {
		t.Fatal(err)
	}
	aci := flask()
	aci.Environment, aci.Image = "", "registry.example/shop@sha256:"+strings.Repeat("0", 64)
	group, err := ContainerGroupBicep(aci)
	if err != nil {
		t.Fatal(err)
	}
	groupBody, _ := ContainerGroupBody(aci)
	site, err := RenderSite(webApp())
	if err != nil {
		t.Fatal(err)
	}
	fn, err := RenderFunctionApp(functionApp())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		typ         string
		bicep, body []byte
	}{
		{"Microsoft.App/containerApps@" + ContainerAppAPIVersion, aca.Bicep, aca.Body},
		{"Microsoft.ContainerInstance/containerGroups@" + ContainerGroupAPIVersion, group, groupBody},
		{"Microsoft.Web/sites@" + SiteAPIVersion, site.Bicep, site.Body},
		{"Microsoft.Web/sites@" + SiteAPIVersion, fn.Bicep, fn.Body},
	} {
		typ, got := readBicep(t, string(tc.bicep))
		var want map[string]any
		if err := json.Unmarshal(tc.body, &want); err != nil {
			t.Fatal(err)
		}
		want["name"] = "shop"
		if typ != tc.typ || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the Bicep file says\n%v\nthe body\n%v\n%s", tc.typ, got, want, tc.bicep)
		}
		if RenderedApp(tc.bicep) != "shop" {
			t.Errorf("%s: RenderedApp does not find the mark", tc.typ)
		}
	}
	for _, want := range []string{"cpu: json('0.5')", "'" + app.Identity + "': {}", `value: 'it\'s \${fine}\\ok'`, "resource app 'Microsoft.App/containerApps@2026-01-01' = {"} {
		if !strings.Contains(string(aca.Bicep), want) {
			t.Errorf("the Container App's Bicep lacks %s:\n%s", want, aca.Bicep)
		}
	}
	golden(t, filepath.Join("testdata", "containerapp-flask.bicep"), aca.Bicep)
}
