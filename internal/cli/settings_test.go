package cli

import (
	"strings"
	"testing"
)

// Bad settings are usage errors before any build or engine call, and never stored.
func TestDeploySettingsValidatedFirst(t *testing.T) {
	state := t.TempDir()
	flags := []string{"--state-dir", state, "--gateway", "127.0.0.1:1"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"deploy", "--app", "a", "--image", "x", "--probe", "healthz"}, "--probe"},
		{[]string{"deploy", "--app", "a", "--image", "x", "--replicas", "100"}, "--replicas"},
		{[]string{"deploy", "--app", "a", "--image", "x", "--replicas", "0"}, "--replicas"},
		{[]string{"deploy", "--app", "a", "--image", "x", "--port", "70000"}, "--port"},
		{[]string{"deploy", "--app", "Bad_Name", "--image", "x"}, "app name"},
		{[]string{"scale", "a"}, "replicas"},
		{[]string{"scale", "a", "--replicas", "21"}, "--replicas"},
	} {
		code, out, errOut := run(append(c.args, flags...)...)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, want an error naming %s\n%s%s", c.args, code, c.want, out, errOut)
		}
		if strings.Contains(errOut, "panic") || strings.Contains(errOut, "engine") {
			t.Errorf("%v reached the engine or panicked:\n%s", c.args, errOut)
		}
	}
	if code, out, _ := run(append([]string{"ls", "--json"}, flags...)...); code != 0 || strings.Contains(out, `"a"`) {
		t.Errorf("an app was stored by a refused deploy: exit %d\n%s", code, out)
	}
}
