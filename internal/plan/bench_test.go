package plan

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkDetectLargeTree runs Detect on a project with 5,000 Python files plus a .venv
// of 20,000 files (which must be skipped, not read).
func BenchmarkDetectLargeTree(b *testing.B) {
	dir := b.TempDir()
	write := func(p, content string) {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	write("requirements.txt", "flask\ngunicorn\n")
	write("app.py", flaskApp)
	for i := 0; i < 5000; i++ {
		write(fmt.Sprintf("pkg/mod%02d/sub%d/m%d.py", i%50, i%7, i), fmt.Sprintf("import os\nVALUE_%d = os.environ.get('SETTING_%d', 'x')\n\ndef f():\n    return %d\n", i, i%100, i))
	}
	write(".venv/pyvenv.cfg", "home = /usr/bin\n")
	for i := 0; i < 20000; i++ {
		write(fmt.Sprintf(".venv/lib/python3.12/site-packages/p%03d/m%d.py", i%300, i), "from flask import Flask\napp = Flask(__name__)\n")
	}
	fsys := os.DirFS(dir)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, err := Detect(fsys, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if p.Entrypoint != "app:app" {
			b.Fatalf("entrypoint %s", p.Entrypoint)
		}
	}
}
