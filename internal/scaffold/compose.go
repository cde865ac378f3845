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
func Compose(p *plan.Plan) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	w("# Written by `pyship init`. Start: docker compose up --build, then http://localhost:%d", p.Port)
	w("# Settings and secrets go in .env (read at run time, never copied into the image).")
	w("services:")
	w("  web:")
	w("    build: .")
	w("    ports:")
	w("      - \"%d:%d\"", p.Port, p.Port)
	w("    env_file:")
	w("      - path: .env")
	w("        required: false")
	reads := map[string]bool{}
	for _, e := range p.EnvVars {
		reads[e.Name] = true
	}
	var env []string
	var deps []string
	for _, s := range p.Services {
		bk, ok := backings[s.Name]
		if !ok {
			continue
		}
		deps = append(deps, bk.service)
		wired := false
		for _, e := range p.EnvVars {
			if bk.match(e.Name) {
				env = append(env, fmt.Sprintf("%s: %q", e.Name, bk.url))
				wired = true
			}
		}
		if !wired {
			env = append(env, fmt.Sprintf("%s: %q", bk.defaultVar, bk.url))
		}
		if s.Name == "mongodb" && reads["DB_NAME"] {
			env = append(env, "DB_NAME: app")
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
