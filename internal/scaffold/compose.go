package scaffold

import (
	"fmt"
	"strings"

	"github.com/pyship/pyship/internal/plan"
)

type backing struct {
	service, image, port, volume string
	env                          []string // the service's own environment
	url                          string   // how the app reaches it
	match                        func(name string) bool
	defaultVar                   string
}

var backings = map[string]backing{
	"postgresql": {service: "db", image: "postgres:17", port: "5432", volume: "/var/lib/postgresql/data",
		env: []string{"POSTGRES_USER: app", "POSTGRES_DB: app", "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env}"},
		url: "postgresql://app:${POSTGRES_PASSWORD}@db:5432/app", defaultVar: "DATABASE_URL",
		match: func(n string) bool {
			return n == "DATABASE_URL" || strings.Contains(n, "POSTGRES_URL") || strings.Contains(n, "PG_URL") || n == "DB_URL"
		}},
	"mysql": {service: "mysql", image: "mysql:8.4", port: "3306", volume: "/var/lib/mysql",
		env: []string{"MYSQL_USER: app", "MYSQL_DATABASE: app", "MYSQL_PASSWORD: ${MYSQL_PASSWORD:?set MYSQL_PASSWORD in .env}", "MYSQL_RANDOM_ROOT_PASSWORD: \"yes\""},
		url: "mysql://app:${MYSQL_PASSWORD}@mysql:3306/app", defaultVar: "DATABASE_URL",
		match: func(n string) bool { return n == "DATABASE_URL" || strings.Contains(n, "MYSQL_URL") }},
	"mongodb": {service: "mongo", image: "mongo:8", port: "27017", volume: "/data/db",
		url: "mongodb://mongo:27017", defaultVar: "MONGODB_URI",
		match: func(n string) bool {
			return n == "CONNECTION_STRING" || (strings.Contains(n, "MONGO") && (strings.Contains(n, "URI") || strings.Contains(n, "URL")))
		}},
	"redis": {service: "redis", image: "redis:7", port: "6379",
		url: "redis://redis:6379/0", defaultVar: "REDIS_URL",
		match: func(n string) bool {
			return strings.Contains(n, "REDIS") && (strings.Contains(n, "URL") || strings.Contains(n, "URI"))
		}},
}

// Compose renders compose.yaml: the app built from the Dockerfile, plus the backing
// services the Plan implies, wired through the environment variables the app reads.
//
// The file must work with Compose v1 (Debian's docker-compose 1.29) and v2 alike, and
// without a .env: env_file's `required: false` needs v2.24, and a plain env_file fails
// when the file is missing. So each variable the app reads is listed without a value,
// which both versions fill from the shell or the project's .env when set there, and
// leave unset otherwise (the app's own default then applies).
func Compose(p *plan.Plan) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	host := p.Port
	if p.Framework == plan.AzureFunctions {
		// The Functions host listens on 80 in the container; 7071 is where func start
		// serves the app on a developer's machine.
		host = 7071
	}
	w("# Written by `pyship init`. Start: docker compose up --build (or docker-compose), then http://localhost:%d", host)
	w("# The variables listed under environment without a value come from your shell or from")
	w("# .env beside this file (optional; read at run time, never copied into the image).")
	w("# Add a line there for any other variable the app should see.")
	w("services:")
	w("  web:")
	w("    build: .")
	w("    ports:")
	w("      - \"%d:%d\"", host, p.Port)
	var env []string
	var deps []string
	wiredVars := map[string]bool{}
	for _, s := range p.Services {
		bk, ok := backings[s.Name]
		if !ok {
			continue
		}
		deps = append(deps, bk.service)
		wired := false
		for _, e := range p.EnvVars {
			if bk.match(e.Name) && !wiredVars[e.Name] {
				env = append(env, fmt.Sprintf("%s: %q", e.Name, bk.url))
				wired, wiredVars[e.Name] = true, true
			}
		}
		if !wired && !wiredVars[bk.defaultVar] {
			env = append(env, fmt.Sprintf("%s: %q", bk.defaultVar, bk.url))
			wiredVars[bk.defaultVar] = true
		}
		if s.Name == "mongodb" && !wiredVars["DB_NAME"] {
			for _, e := range p.EnvVars {
				if e.Name == "DB_NAME" {
					env = append(env, "DB_NAME: app")
					wiredVars["DB_NAME"] = true
				}
			}
		}
	}
	seen := map[string]bool{}
	for _, e := range p.EnvVars {
		if !wiredVars[e.Name] && !seen[e.Name] && validEnvName(e.Name) {
			env = append(env, e.Name+":") // null: from the shell or .env, else unset
			seen[e.Name] = true
		}
	}
	if len(env) > 0 {
		w("    environment:")
		for _, e := range env {
			w("      %s", e)
		}
	}
	if len(deps) > 0 {
		w("    depends_on:")
		for _, d := range deps {
			w("      - %s", d)
		}
	}
	var volumes []string
	for _, s := range p.Services {
		bk, ok := backings[s.Name]
		if !ok {
			continue
		}
		w("  %s:", bk.service)
		w("    image: %s", bk.image)
		if len(bk.env) > 0 {
			w("    environment:")
			for _, e := range bk.env {
				w("      %s", e)
			}
		}
		if bk.volume != "" {
			w("    volumes:")
			w("      - %s-data:%s", bk.service, bk.volume)
			volumes = append(volumes, bk.service+"-data")
		}
	}
	if len(volumes) > 0 {
		w("volumes:")
		for _, v := range volumes {
			w("  %s:", v)
		}
	}
	return b.String()
}

// validEnvName keeps a name that is safe as a YAML key unquoted.
func validEnvName(n string) bool {
	if n == "" {
		return false
	}
	for i, c := range n {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
