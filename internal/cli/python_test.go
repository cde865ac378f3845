package cli

import (
	"strings"
	"testing"

	"github.com/pyship/pyship/internal/testutil"
)

// --python with a version pyship does not know is refused before detection, a build,
// an engine call or a stored setting, with the known versions.
func TestUnknownPythonRefusedFirst(t *testing.T) {
	dir := testutil.WriteProject(t, map[string]string{"requirements.txt": "flask\n", "app.py": "from flask import Flask\napp = Flask(__name__)\n"})
	state := t.TempDir()
	flags := []string{"--state-dir", state, "--gateway", "127.0.0.1:1"}
	for _, args := range [][]string{
		{"detect", dir, "--python", "3.99"},
		{"build", dir, "--python", "2.7", "--output", "oci:" + t.TempDir() + "/out"},
		{"deploy", dir, "--app", "a", "--python", "3.99"},
		{"deploy", "--app", "a", "--image", "x", "--python", "3.99"},
	} {
		if args[0] == "deploy" {
			args = append(args, flags...)
		}
		code, out, errOut := run(args...)
		if code == 0 || !strings.Contains(errOut, "--python") || !strings.Contains(errOut, "3.14") {
			t.Errorf("%v: exit %d, want a refusal naming --python and the known versions\n%s%s", args, code, out, errOut)
		}
		if strings.Contains(errOut, "engine") || strings.Contains(errOut, "panic") {
			t.Errorf("%v reached the engine or panicked:\n%s", args, errOut)
		}
	}
	if code, out, _ := run(append([]string{"ls", "--json"}, flags...)...); code != 0 || strings.Contains(out, `"a"`) {
		t.Errorf("an app was stored by a refused deploy: exit %d\n%s", code, out)
	}
}
