package scaffold

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// compose.yaml is checked by the docker-compose on this machine (Debian's 1.29, the
// oldest Compose still shipped): the file must parse there, with and without a .env,
// and the variables the app reads must reach the service from .env.
func TestComposeAcceptedByDockerCompose(t *testing.T) {
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Fatal("docker-compose is not installed: run scripts/fixtures.sh (apt-get install docker-compose)")
	}
	cases := []struct {
		name   string
		files  map[string]string
		dotenv string
		want   []string // in the resolved config
	}{
		{name: "plain", files: map[string]string{"requirements.txt": "flask\n", "app.py": flaskApp}},
		{name: "reads env", files: map[string]string{"requirements.txt": "flask\n", "app.py": flaskApp + "import os\nos.environ['SECRET_KEY']\nos.getenv('DEBUG', '0')\n"},
			dotenv: "SECRET_KEY=from-dotenv-1234\n", want: []string{"SECRET_KEY: from-dotenv-1234"}},
		{name: "postgres", files: map[string]string{"requirements.txt": "flask\npsycopg2\n", "app.py": flaskApp + "import os\nos.environ['DATABASE_URL']\n"},
			dotenv: "POSTGRES_PASSWORD=pw-5678\n", want: []string{"postgresql://app:pw-5678@db:5432/app", "image: postgres:17"}},
		{name: "redis and mongo", files: map[string]string{"requirements.txt": "flask\nredis\npymongo\n", "app.py": flaskApp + "import os\nos.environ['REDIS_URL']\nos.environ['MONGODB_URI']\nos.environ['DB_NAME']\n"},
			want: []string{"redis://redis:6379/0", "mongodb://mongo:27017", "DB_NAME: app"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			content := Compose(detect(t, c.files))
			if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			if c.dotenv != "" {
				os.WriteFile(filepath.Join(dir, ".env"), []byte(c.dotenv), 0o600)
			}
			cmd := exec.Command(bin, "-f", "compose.yaml", "config")
			cmd.Dir = dir
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("docker-compose config: %v\n%s\ncompose.yaml:\n%s", err, out, content)
			}
			for _, w := range c.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("resolved config lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
