package plan

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// A Procfile chain: the last command serves, the steps before are release steps, and a
// server that says nothing about where to listen is bound to 0.0.0.0:$PORT.
func TestProcfileChain(t *testing.T) {
	cases := []struct {
		procfile string
		server   []string
		release  []string
	}{
		{"web: flask db upgrade; flask translate compile; gunicorn microblog:app\n",
			[]string{"gunicorn", "--bind", "0.0.0.0:${PORT}", "microblog:app"},
			[]string{"flask db upgrade", "flask translate compile"}},
		{"web: python manage.py migrate && gunicorn -w 2 microblog:app --bind=0.0.0.0:$PORT\n",
			[]string{"gunicorn", "-w", "2", "microblog:app", "--bind=0.0.0.0:${PORT}"},
			[]string{"python manage.py migrate"}},
		{"web: uvicorn microblog:app --port \"$PORT\"\n",
			[]string{"uvicorn", "--host", "0.0.0.0", "microblog:app", "--port", "${PORT}"}, nil},
		{"web: FLASK_ENV=production gunicorn 'microblog:app' -b 0.0.0.0:5000\n",
			[]string{"env", "FLASK_ENV=production", "gunicorn", "microblog:app", "-b", "0.0.0.0:5000"}, nil},
	}
	for _, c := range cases {
		p, err := Detect(project(map[string]string{
			"Procfile":         c.procfile,
			"requirements.txt": "flask\ngunicorn\nuvicorn\n",
			"microblog.py":     "from flask import Flask\napp = Flask(__name__)\n",
		}), Options{Now: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatalf("%q: %v", c.procfile, err)
		}
		if !reflect.DeepEqual(p.Server, c.server) {
			t.Errorf("%q: server %q, want %q", c.procfile, p.Server, c.server)
		}
		if !reflect.DeepEqual(p.ReleaseCommands, c.release) {
			t.Errorf("%q: release %q, want %q", c.procfile, p.ReleaseCommands, c.release)
		}
		for _, r := range c.release {
			found := false
			for _, w := range p.Warnings {
				found = found || (strings.Contains(w, "Procfile:1") && strings.Contains(w, r) && strings.Contains(w, "one-off"))
			}
			if !found {
				t.Errorf("%q: no warning naming the release step %q: %v", c.procfile, r, p.Warnings)
			}
		}
	}
}

func TestShellStepsRefusesWhatIsNotACommand(t *testing.T) {
	for _, bad := range []string{"gunicorn app:app | tee log", "gunicorn app:app > log", "gunicorn app:app &", "if true; then gunicorn a:b; fi", "gunicorn 'unterminated"} {
		if steps, err := shellSteps(bad); err == nil {
			t.Errorf("shellSteps(%q) = %q, want an error", bad, steps)
		}
	}
}

// A syntax error that hides the app is named, with its line, among the ways out.
func TestSyntaxErrorHidingTheApp(t *testing.T) {
	_, err := Detect(project(map[string]string{
		"requirements.txt": "flask\n",
		"app.py":           "from flask import Flask\napp = Flask(__name__\n",
	}), Options{Now: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)})
	var amb *AmbiguousError
	if !errors.As(err, &amb) || len(amb.Fix) == 0 || !strings.Contains(amb.Fix[0], "app.py:2") {
		t.Fatalf("Detect = %v, want the syntax error at app.py:2 first among the fixes", err)
	}
}
