package plan

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestReadDeployConfig(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  DeployConfig
		err   string
	}{
		{name: "none", files: map[string]string{"app.py": ""}},
		{name: "pyship.toml", files: map[string]string{"pyship.toml": "port = 8000\n\n[deploy]\ntarget = \"aca\"\nresource_group = \"shop-rg\"\nlocation = \"westeurope\"\n"},
			want: DeployConfig{Target: "aca", ResourceGroup: "shop-rg", Location: "westeurope", File: "pyship.toml"}},
		{name: "pyproject", files: map[string]string{"pyproject.toml": "[project]\nname = \"x\"\n\n[tool.pyship.deploy]\ntarget = \"appservice\"\nplan = \"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/serverfarms/p\"\n"},
			want: DeployConfig{Target: "appservice", Plan: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/serverfarms/p", File: "pyproject.toml"}},
		{name: "pyship.toml wins", files: map[string]string{"pyship.toml": "port = 8000\n", "pyproject.toml": "[tool.pyship.deploy]\ntarget = \"aci\"\n"}},
		{name: "unknown key", files: map[string]string{"pyship.toml": "[deploy]\ntarget = \"aca\"\nresourcegroup = \"rg\"\n"}, err: `pyship.toml:3: unknown deploy setting "resourcegroup"`},
		{name: "not a string", files: map[string]string{"pyship.toml": "[deploy]\nlocation = 3\n"}, err: "pyship.toml:2: location must be a string"},
		{name: "broken", files: map[string]string{"pyship.toml": "[deploy\n"}, err: "pyship.toml:1:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for n, c := range tc.files {
				fsys[n] = &fstest.MapFile{Data: []byte(c)}
			}
			got, err := ReadDeployConfig(fsys)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// The [deploy] table does not disturb detection, and detection still refuses an
// unknown top-level setting.
func TestDeployTableIsAKnownSetting(t *testing.T) {
	fsys := fstest.MapFS{"requirements.txt": {Data: []byte("flask\n")}, "app.py": {Data: []byte("from flask import Flask\napp = Flask(__name__)\n")},
		"pyship.toml": {Data: []byte("port = 9000\n[deploy]\ntarget = \"aca\"\n")}}
	p, err := Detect(fsys, Options{})
	if err != nil || p.Port != 9000 {
		t.Fatalf("detect with a [deploy] table: %v, %+v", err, p)
	}
	fsys["pyship.toml"] = &fstest.MapFile{Data: []byte("deploy = \"aca\"\n")}
	if _, err := Detect(fsys, Options{}); err == nil || !strings.Contains(err.Error(), "deploy must be a table") {
		t.Errorf("deploy as a string: %v", err)
	}
}
