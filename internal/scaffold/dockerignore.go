package scaffold

import (
	"strings"
)

// ignoreRules are what every Python image leaves out: secrets first, then virtualenvs,
// VCS, caches and build output. README, LICENSE, lock files and .python-version stay in
// (pyproject's readme/license fields and uv need them).
var ignoreRules = []struct{ comment, pattern string }{
	{"secrets: never in an image", ".env"},
	{"", ".env.*"},
	{"", "!.env.example"},
	{"", "**/.env"},
	{"", "*.pem"},
	{"", "*.key"},
	{"", "id_rsa*"},
	{"", "id_ed25519*"},
	{"", ".aws"},
	{"", ".ssh"},
	{"", ".netrc"},
	{"", ".pypirc"},
	{"", "**/credentials.json"},
	{"", "**/*service-account*.json"},
	{"", "local.settings.json"},
	{"virtual environments", ".venv"},
	{"", "venv"},
	{"", "**/.venv"},
	{"version control and editors", ".git"},
	{"", ".gitignore"},
	{"", ".hg"},
	{"", ".idea"},
	{"", ".vscode"},
	{"", ".DS_Store"},
	{"Python caches and build output", "**/__pycache__"},
	{"", "**/*.py[cod]"},
	{"", ".pytest_cache"},
	{"", ".mypy_cache"},
	{"", ".ruff_cache"},
	{"", ".tox"},
	{"", ".nox"},
	{"", ".coverage"},
	{"", "htmlcov"},
	{"", "build"},
	{"", "dist"},
	{"", "*.egg-info"},
	{"", "node_modules"},
	{"local data", "*.sqlite3"},
	{"", "__blobstorage__"},
	{"", "__queuestorage__"},
	{"", "__azurite_db*__.json"},
	{"container files themselves", "Dockerfile*"},
	{"", ".dockerignore"},
	{"", "compose*.y*ml"},
	{"", "docker-compose*.y*ml"},
}

// Dockerignore returns the .dockerignore content: the full file when existing is empty,
// otherwise existing with the missing rules appended (the user's lines are kept as they are).
func Dockerignore(existing string) string {
	have := map[string]bool{}
	for _, l := range strings.Split(existing, "\n") {
		have[strings.TrimSpace(l)] = true
	}
	var b strings.Builder
	if strings.TrimSpace(existing) == "" {
		b.WriteString("# Written by `pyship init`: what the build context must not send to the image.\n")
	} else {
		b.WriteString(existing)
		if !strings.HasSuffix(existing, "\n") {
			b.WriteString("\n")
		}
	}
	added := false
	for _, r := range ignoreRules {
		if have[r.pattern] {
			continue
		}
		if !added && strings.TrimSpace(existing) != "" {
			b.WriteString("\n# Added by `pyship init`\n")
		}
		added = true
		if r.comment != "" && strings.TrimSpace(existing) == "" {
			b.WriteString("\n# " + r.comment + "\n")
		}
		b.WriteString(r.pattern + "\n")
	}
	return b.String()
}

// IgnorePatterns are the default .dockerignore patterns, for builds of projects that
// have no .dockerignore.
func IgnorePatterns() []string {
	out := make([]string, 0, len(ignoreRules))
	for _, r := range ignoreRules {
		out = append(out, r.pattern)
	}
	return out
}
