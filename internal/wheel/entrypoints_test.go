package wheel

import (
	"strings"
	"testing"
)

// entry_points.txt becomes file names in bin/ and Python import lines in launchers:
// what would make an odd file or a launcher that cannot run is refused, naming the
// line; spaces around ':' are fine, as importlib.metadata allows them.
func TestEntryPoints(t *testing.T) {
	cases := []struct {
		body string
		want string // "" for accepted
	}{
		{"[console_scripts]\nmy tool = demo:main\n", "entry_points.txt:2: invalid entry point"},
		{"[console_scripts]\ntool\x1b[2J = demo:main\n", "entry_points.txt:2: invalid entry point"},
		{"[console_scripts]\ntool = demo:ma\xffin\n", "entry_points.txt:2: invalid entry point"},
		{"[console_scripts]\ntool = demo:main\u2028x\n", "entry_points.txt:2: invalid entry point"},
		{"[console_scripts\ntool = demo:main\n", "entry_points.txt:1: a section header without ]"},
		{"[console_scripts]\ntool = demo : main\n", ""},
		{"[console_scripts]\ntool = démo.módulo:principal\n", ""},
	}
	for _, c := range cases {
		ms := demo()
		ms[8].body = c.body
		files, _, err := install(t, build(t, ms, nil))
		if c.want == "" {
			if err != nil {
				t.Errorf("%q: %v", c.body, err)
			} else if !strings.Contains(files["opt/venv/bin/tool"], "import ") {
				t.Errorf("%q: no launcher", c.body)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), demoFile+": "+c.want) {
			t.Errorf("%q: err = %v, want %q", c.body, err, c.want)
		}
	}
}
