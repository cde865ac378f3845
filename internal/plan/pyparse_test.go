package plan

import (
	"strings"
	"testing"
	"time"
)

// The parser's bounds: a file over the size cap is refused, one with more syntax nodes
// than the cap is refused, deep nesting is cut, and none of it takes long or panics.
func TestParsePythonBounds(t *testing.T) {
	if _, err := parsePython(make([]byte, maxPySource+1)); err != errPyTooLarge {
		t.Errorf("a file over %d bytes: err %v, want errPyTooLarge", maxPySource, err)
	}
	many := []byte("x = [" + strings.Repeat("1,", (maxPySource-10)/2) + "]\n")
	start := time.Now()
	// The node cap or the time bound, whichever comes first on this machine.
	if _, err := parsePython(many); err == nil || (!strings.Contains(err.Error(), "syntax nodes") && !strings.Contains(err.Error(), "longer than")) {
		t.Errorf("a file of %d list items: err %v, want the node cap", (maxPySource-10)/2, err)
	}
	deep := []byte("app = " + strings.Repeat("(", 50000) + "1" + strings.Repeat(")", 50000) + "\nok = 1\n")
	f, err := parsePython(deep)
	if err != nil {
		t.Fatalf("deep nesting: %v", err)
	}
	depth := 0
	pyWalk(f.root, func(n *pyNode, anc []*pyNode) bool {
		depth = max(depth, len(anc))
		return true
	})
	if depth > maxPyDepth {
		t.Errorf("copied depth %d, want at most %d", depth, maxPyDepth)
	}
	if l, _ := assignment(statements(f.root)[1]); l == nil || f.text(l) != "ok" {
		t.Errorf("the statement after a deep one is lost")
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("bounded parses took %s", d)
	}
}

// The parser tolerates errors: a syntax error in one function leaves the rest readable.
func TestParsePythonTolerant(t *testing.T) {
	f, err := parsePython([]byte("from fastapi import FastAPI\ndef broken(:\n    return\napi = FastAPI()\nprint('unterminated\n"))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range statements(f.root) {
		if l, r := assignment(s); l != nil && f.text(l) == "api" && r != nil && f.dotted(r.child("function")) == "FastAPI" {
			found = true
		}
	}
	if !found {
		t.Errorf("api = FastAPI() not found after a syntax error: %s", f.src)
	}
}

// FuzzPythonReaders drives every rule that reads Python with arbitrary source: nothing
// panics, every node lies inside the source, and detection of a project made of the
// file ends in a Plan or an error.
func FuzzPythonReaders(f *testing.F) {
	for _, seed := range []string{
		flaskApp, djangoManage,
		"settings_module = 'a.production' if 'WEBSITE_HOSTNAME' in os.environ else 'a.settings'\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', settings_module)\n",
		"import os\nif os.getenv('ENV') == 'prod':\n    m = 'a.prod'\nelif x:\n    m = 'a.x'\nelse:\n    m = 'a.dev'\nos.environ['DJANGO_SETTINGS_MODULE'] = m\n",
		"from x import (a,\n b)\nimport os, flask\napp = \\\n  flask.Flask(__name__)\nK = os.environ.get(\n 'K')\n",
		"async def app(scope, receive, send):\n    pass\ndef application(environ, start_response): pass\n",
		"from .base import *\nSTATIC_ROOT = BASE_DIR / 'static'\nDEBUG = True\nALLOWED_HOSTS = []\n",
		"import uvicorn\ndef main():\n    uvicorn.run('m:app', host='127.0.0.1', port=8123)\n",
		"bind = ['127.0.0.1:9000']\n", "def f(:\n", "x = f'{a'\n", "\x00\xff(((", "m = n\nn = m\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', m)\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		pf, err := parsePython(src)
		if err != nil {
			return
		}
		pyWalk(pf.root, func(n *pyNode, _ []*pyNode) bool {
			if n.start < 0 || n.end > len(src) || n.start > n.end || n.line < 1 {
				t.Fatalf("node %s [%d,%d) line %d outside a source of %d bytes", n.kind, n.start, n.end, n.line, len(src))
			}
			return true
		})
		pf.imports()
		envReads(pf)
		runCalls(pf)
		for _, s := range statements(pf.root) {
			assignment(s)
		}
		for _, name := range []string{"app.py", "manage.py"} {
			files := map[string]string{"requirements.txt": "flask\ndjango\n", name: string(src)}
			if name == "manage.py" {
				files = merge(files, map[string]string{"mysite/__init__.py": "", "mysite/settings.py": string(src), "mysite/wsgi.py": string(src)})
			}
			_, _ = Detect(project(files), Options{Now: goldenNow})
		}
	})
}

// FuzzDeploymentFiles drives the app-root rules that read a repository's deployment
// files (azure.yaml, compose.yaml) with arbitrary content: nothing panics, and a chosen
// app root is a folder of the project.
func FuzzDeploymentFiles(f *testing.F) {
	f.Add([]byte("services:\n  web:\n    project: ./src\n    language: py\n"), []byte("services:\n  web:\n    build:\n      context: ./src\n"))
	f.Add([]byte("services:\n  a: {project: ../../etc}\n  b: {project: /src}\n"), []byte("services: {web: {build: ../outside}}\n"))
	f.Add([]byte("a: &a [*a, *a]\nservices: *a\n"), []byte("services:\n  web:\n    build: [1, 2]\n"))
	f.Add([]byte("\x00\xff: ["), []byte("services: null\n"))
	f.Fuzz(func(t *testing.T, azure, compose []byte) {
		files := map[string]string{"azure.yaml": string(azure), "compose.yaml": string(compose),
			"src/requirements.txt": "flask\n", "src/app.py": flaskApp, "other/requirements.txt": "click\n"}
		p, err := Detect(project(files), Options{Now: goldenNow})
		if err == nil && p.AppRoot != "." && p.AppRoot != "src" && p.AppRoot != "other" {
			t.Fatalf("app root %q is not a folder of the project", p.AppRoot)
		}
	})
}
