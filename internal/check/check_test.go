package check

import (
	"strings"
	"testing"
	"time"

	"github.com/pyship/pyship/internal/buildctx"
	"github.com/pyship/pyship/internal/testutil"
)

func runOn(t *testing.T, dockerfile string, files map[string]string) []Finding {
	t.Helper()
	dir := testutil.WriteProject(t, files)
	df, err := ParseDockerfile("Dockerfile", []byte(dockerfile))
	if err != nil {
		t.Fatal(err)
	}
	bc, err := buildctx.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return Run(&Input{Dir: dir, Dockerfile: df, Context: bc, Now: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)})
}

func ids(fs []Finding) string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID)
	}
	return strings.Join(out, ",")
}

func TestBadDockerfile(t *testing.T) {
	fs := runOn(t, `FROM python:3.8
ENV SECRET_KEY=hunter2 DATABASE_URL=postgres://u:pw@db/x
ARG API_TOKEN=abc
COPY . .
RUN pip install -r requirements.txt
EXPOSE 8000
CMD flask run --host 127.0.0.1 --port 5000
`, map[string]string{".env": "X=1", "deploy.pem": "k", ".dockerignore": "*.pem\n"})
	got := ids(fs)
	for _, id := range []string{"PS001", "PS002", "PS003", "PS004", "PS005", "PS006", "PS007", "PS008", "PS009", "PS011", "PS012", "PS013"} {
		if !strings.Contains(got, id) {
			t.Errorf("missing %s in %s", id, got)
		}
	}
	for _, f := range fs {
		if f.ID == "PS003" && f.File == "deploy.pem" {
			t.Errorf("deploy.pem is excluded by .dockerignore but was reported")
		}
		if f.Fix == "" || f.Severity == "" {
			t.Errorf("finding without fix or severity: %+v", f)
		}
	}
	if !HasErrors(fs) {
		t.Error("HasErrors = false")
	}
}

func TestGoodDockerfile(t *testing.T) {
	fs := runOn(t, `ARG BASE_IMAGE=python:3.13-slim
FROM ${BASE_IMAGE} AS deps
ARG PIP_INDEX_URL
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir -r requirements.txt
FROM ${BASE_IMAGE}
ENV PYTHONUNBUFFERED=1 PORT=8000
COPY --from=deps /opt/venv /opt/venv
COPY . .
USER 10001:10001
EXPOSE 8000
CMD ["/bin/sh", "-c", "exec gunicorn --bind \"0.0.0.0:${PORT}\" app:app"]
`, map[string]string{".dockerignore": ".env\n", ".env": "SECRET=1", "app.py": "x"})
	if len(fs) != 0 {
		t.Errorf("findings on a good Dockerfile: %+v", fs)
	}
}

func TestShellWithoutExec(t *testing.T) {
	fs := runOn(t, "FROM python:3.13-slim\nENV PYTHONUNBUFFERED=1\nUSER 1000\nCMD [\"sh\", \"-c\", \"gunicorn app:app\"]\n", map[string]string{".dockerignore": ""})
	if ids(fs) != "PS009" {
		t.Errorf("findings = %s, want PS009", ids(fs))
	}
}

func TestParseDockerfileErrors(t *testing.T) {
	for _, bad := range []string{"RUN echo hi\n", "", "FROM\n"} {
		if _, err := ParseDockerfile("Dockerfile", []byte(bad)); err == nil || !strings.Contains(err.Error(), "Dockerfile") {
			t.Errorf("ParseDockerfile(%q) = %v, want an error naming the file", bad, err)
		}
	}
}

func FuzzParseDockerfile(f *testing.F) {
	for _, s := range []string{"FROM a\nCMD [\"x\"]\n", "ARG B=1\nFROM $B AS x\nENV A=1 B=2\nUSER 1\n", "FROM a\nRUN <<EOF\nx\nEOF\n", "FROM a\nENV A\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		df, err := ParseDockerfile("Dockerfile", data)
		if err != nil {
			return
		}
		// Every rule must cope with whatever the parser accepts.
		Run(&Input{Dockerfile: df, Now: time.Now()})
	})
}
