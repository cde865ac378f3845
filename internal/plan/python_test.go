package plan

import (
	"strings"
	"testing"
)

// A Python version pyship does not build for is refused where it is declared, with the
// versions it knows; a known minor with or without a patch passes.
func TestUnknownPythonRefused(t *testing.T) {
	files := map[string]string{"requirements.txt": "flask\n", "app.py": flaskApp}
	for _, v := range []string{"3.99", "2.7", "3", "3.12.x", "banana"} {
		_, err := Detect(project(files), Options{Python: v})
		if err == nil || !strings.Contains(err.Error(), "--python") || !strings.Contains(err.Error(), "3.8, 3.9, 3.10, 3.11, 3.12, 3.13, 3.14") {
			t.Errorf("--python %s: %v, want a refusal listing the known versions", v, err)
		}
		withConfig := merge(files, map[string]string{"pyship.toml": "port = 8000\npython = '" + v + "'\n"})
		_, err = Detect(project(withConfig), Options{})
		if err == nil || !strings.Contains(err.Error(), "pyship.toml:2") || !strings.Contains(err.Error(), "3.8, 3.9, 3.10, 3.11, 3.12, 3.13, 3.14") {
			t.Errorf("pyship.toml python = %s: %v, want a refusal naming pyship.toml:2", v, err)
		}
	}
	for _, v := range []string{"3.12", "3.12.4", "3.8", "3.13.0rc1"} {
		p, err := Detect(project(files), Options{Python: v})
		if err != nil || p.PythonVersion != v {
			t.Errorf("--python %s: %v (python %q)", v, err, p.PythonVersion)
		}
	}
}
