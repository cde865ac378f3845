package plan

import (
	"regexp"
	"sort"
	"strings"
)

var envPatterns = []struct {
	re       *regexp.Regexp
	optional func(rest string) bool
}{
	{regexp.MustCompile(`os\.environ\[\s*["']([A-Za-z_][A-Za-z0-9_]*)["']\s*\]`), func(string) bool { return false }},
	{regexp.MustCompile(`(?:os\.environ|environ)\.get\(\s*["']([A-Za-z_][A-Za-z0-9_]*)["']\s*(,)?`), nil},
	{regexp.MustCompile(`(?:os\.)?getenv\(\s*["']([A-Za-z_][A-Za-z0-9_]*)["']\s*(,)?`), nil},
	// django-environ (env("X"), env.str("X", default=…), env.bool…), python-decouple config("X").
	{regexp.MustCompile(`\b(?:env|config)(?:\.\w+)?\(\s*["']([A-Za-z_][A-Za-z0-9_]*)["']\s*(,)?`), nil},
}

var envDbRe = regexp.MustCompile(`\benv\.db(?:_url)?\(\s*\)`)

// secretWords in a variable name mark it as a secret.
var secretWords = []string{"SECRET", "PASSWORD", "PASSWD", "TOKEN", "API_KEY", "APIKEY", "PRIVATE_KEY", "CREDENTIAL", "ACCESS_KEY", "CONNECTION_STRING", "DATABASE_URL", "AUTH"}

// IsSecretName reports whether an environment variable's name says it holds a secret.
func IsSecretName(name string) bool {
	u := strings.ToUpper(name)
	for _, w := range secretWords {
		if strings.Contains(u, w) {
			return true
		}
	}
	return strings.HasSuffix(u, "_KEY") || u == "KEY"
}

func (d *detector) scanEnv() {
	p := d.plan
	seen := map[string]int{}
	for _, f := range d.t.under(p.Context, ".py") {
		if isTestFile(rel(p.Context, f)) {
			continue
		}
		src := d.t.read(f)
		if !strings.Contains(string(src), "env") && !strings.Contains(string(src), "config(") {
			continue
		}
		for _, l := range pyLines(src) {
			for _, pat := range envPatterns {
				for _, m := range pat.re.FindAllStringSubmatch(l.code, -1) {
					name := m[1]
					if name == "DJANGO_SETTINGS_MODULE" || name == "PORT" {
						continue
					}
					required := true
					if pat.optional == nil && len(m) > 2 && m[2] == "," {
						required = false
					}
					if i, ok := seen[name]; ok {
						p.EnvVars[i].Required = p.EnvVars[i].Required || required
						continue
					}
					seen[name] = len(p.EnvVars)
					p.EnvVars = append(p.EnvVars, EnvVar{Name: name, File: f, Line: l.n, Required: required, Secret: IsSecretName(name)})
				}
			}
			if envDbRe.MatchString(l.code) {
				if _, ok := seen["DATABASE_URL"]; !ok {
					seen["DATABASE_URL"] = len(p.EnvVars)
					p.EnvVars = append(p.EnvVars, EnvVar{Name: "DATABASE_URL", File: f, Line: l.n, Required: true, Secret: true})
				}
			}
		}
	}
	sort.SliceStable(p.EnvVars, func(i, j int) bool { return p.EnvVars[i].Name < p.EnvVars[j].Name })
}

// servicePackages maps a backing service to the client libraries that imply it.
var servicePackages = []struct {
	name string
	pkgs []string
}{
	{"postgresql", []string{"psycopg", "psycopg2", "psycopg2-binary", "psycopg-binary", "asyncpg", "pg8000", "aiopg"}},
	{"mysql", []string{"mysqlclient", "pymysql", "mysql-connector-python", "aiomysql", "asyncmy"}},
	{"mongodb", []string{"pymongo", "motor", "mongoengine", "beanie", "djongo"}},
	{"redis", []string{"redis", "django-redis", "aioredis", "hiredis", "rq", "celery-redis"}},
}

func (d *detector) services() {
	for _, s := range servicePackages {
		var found []string
		for _, pkg := range s.pkgs {
			if d.hasDep(pkg) {
				found = append(found, pkg)
			}
		}
		if len(found) > 0 {
			d.plan.Services = append(d.plan.Services, Service{Name: s.name, Packages: found})
			d.evidence("services", s.name, "", 0, "client library in the dependencies: "+strings.Join(found, ", "))
		}
	}
}
