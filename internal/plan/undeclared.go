package plan

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/pyship/pyship/internal/pyproject"
)

// importDists are the distributions that provide an import whose name is not the
// distribution's own (normalised) name, the first being the usual one. An import not
// listed here is looked for under its own name (flask_cors: flask-cors).
var importDists = map[string][]string{
	"yaml": {"PyYAML"}, "PIL": {"Pillow"}, "sklearn": {"scikit-learn"}, "skimage": {"scikit-image"},
	"dotenv": {"python-dotenv"}, "bs4": {"beautifulsoup4"}, "dateutil": {"python-dateutil"},
	"cv2": {"opencv-python", "opencv-python-headless", "opencv-contrib-python", "opencv-contrib-python-headless"},
	"jwt": {"PyJWT"}, "jose": {"python-jose"}, "magic": {"python-magic"}, "MySQLdb": {"mysqlclient"},
	"psycopg2": {"psycopg2", "psycopg2-binary"}, "psycopg": {"psycopg", "psycopg-binary"},
	"attr": {"attrs"}, "OpenSSL": {"pyOpenSSL"}, "Crypto": {"pycryptodome", "pycrypto"}, "Cryptodome": {"pycryptodomex"},
	"serial": {"pyserial"}, "usb": {"pyusb"}, "git": {"GitPython"}, "github": {"PyGithub"}, "slugify": {"python-slugify"},
	"multipart": {"python-multipart"}, "socketio": {"python-socketio"}, "engineio": {"python-engineio"},
	"telegram": {"python-telegram-bot"}, "docx": {"python-docx"}, "pptx": {"python-pptx"}, "ldap": {"python-ldap"},
	"dns": {"dnspython"}, "zmq": {"pyzmq"}, "nacl": {"PyNaCl"}, "gi": {"PyGObject"}, "pkg_resources": {"setuptools"},
	"kafka": {"kafka-python"}, "websocket": {"websocket-client"}, "decouple": {"python-decouple"},
	"environ": {"django-environ"}, "rest_framework": {"djangorestframework"}, "corsheaders": {"django-cors-headers"},
	"debug_toolbar": {"django-debug-toolbar"}, "crispy_forms": {"django-crispy-forms"}, "storages": {"django-storages"},
	"django_filters": {"django-filter"}, "grpc": {"grpcio"}, "fitz": {"PyMuPDF"}, "win32api": {"pywin32"},
	"pythonjsonlogger": {"python-json-logger"}, "bson": {"pymongo"}, "gridfs": {"pymongo"}, "memcache": {"python-memcached"},
	"faiss": {"faiss-cpu", "faiss-gpu"}, "Levenshtein": {"Levenshtein", "python-Levenshtein"}, "markdown": {"Markdown"},
}

// namespaceRoots are import roots shared by many distributions (azure.identity comes
// from azure-identity): any dependency named with the prefix counts.
var namespaceRoots = map[string]string{"azure": "azure-", "google": "google-", "opentelemetry": "opentelemetry-", "zope": "zope-", "backports": "backports-", "jaraco": "jaraco-"}

// brings are the imports a declared distribution makes available through its own
// dependencies (Flask installs Werkzeug and Jinja2): importing them works, and warning
// about them would teach users to ignore the warnings. Followed transitively.
var brings = map[string][]string{
	"flask":               {"werkzeug", "jinja2", "markupsafe", "itsdangerous", "click", "blinker"},
	"quart":               {"werkzeug", "jinja2", "markupsafe", "itsdangerous", "click", "blinker", "hypercorn", "aiofiles"},
	"django":              {"asgiref", "sqlparse"},
	"djangorestframework": {"django"},
	"channels":            {"django", "asgiref"},
	"fastapi":             {"starlette", "pydantic", "typing_extensions"},
	"starlette":           {"anyio"},
	"anyio":               {"sniffio", "idna"},
	"litestar":            {"msgspec", "anyio", "httpx", "typing_extensions", "click", "rich", "multidict", "yaml"},
	"pydantic":            {"pydantic_core", "typing_extensions", "annotated_types"},
	"pydantic-settings":   {"pydantic", "dotenv"},
	"sqlmodel":            {"sqlalchemy", "pydantic"},
	"flask-sqlalchemy":    {"sqlalchemy", "flask"},
	"flask-migrate":       {"alembic", "flask_sqlalchemy", "flask"},
	"alembic":             {"sqlalchemy", "mako"},
	"flask-login":         {"flask"},
	"flask-wtf":           {"wtforms", "flask"},
	"flask-socketio":      {"socketio", "flask"},
	"python-socketio":     {"engineio"},
	"requests":            {"urllib3", "idna", "certifi", "charset_normalizer"},
	"httpx":               {"httpcore", "anyio", "idna", "certifi", "sniffio"},
	"httpcore":            {"h11", "certifi"},
	"uvicorn":             {"click", "h11"},
	"gunicorn":            {"packaging"},
	"celery":              {"kombu", "billiard", "vine", "click"},
	"boto3":               {"botocore", "s3transfer", "jmespath"},
	"botocore":            {"jmespath", "dateutil", "urllib3"},
	"pandas":              {"numpy", "dateutil", "pytz"},
	"scikit-learn":        {"numpy", "scipy", "joblib"},
	"matplotlib":          {"numpy"},
	"aiohttp":             {"multidict", "yarl", "aiosignal", "frozenlist", "attr"},
	"openai":              {"httpx", "pydantic", "anyio", "typing_extensions", "distro"},
	"jinja2":              {"markupsafe"},
	"python-jose":         {"ecdsa", "rsa", "pyasn1"},
	"sentry-sdk":          {"urllib3", "certifi"},
	"uvicorn[standard]":   {"dotenv", "yaml", "watchfiles", "websockets", "httptools", "uvloop"},
	"fastapi[standard]":   {"uvicorn", "multipart", "email_validator", "jinja2", "httpx", "fastapi_cli"},
}

// maxImportWarnings bounds the warnings about imports: past a few, the project's
// dependencies are elsewhere (a file pyship did not read) and a list helps nobody.
const maxImportWarnings = 8

// undeclaredImports warns about the top-level imports of the app's modules that neither
// the standard library, the project's own modules nor a declared dependency provides:
// the image would start and fail with ModuleNotFoundError.
func (d *detector) undeclaredImports(m *manifests) {
	p := d.plan
	if p.Dependencies.Manager == "setuptools" {
		return // setup.py's install_requires is code pyship does not run
	}
	installed := d.installedImports(m)
	minor := minorOf(p.PythonVersion)
	type use struct {
		file, module string
		line         int
	}
	first := map[string]use{}
	checked := map[string]bool{} // every top-level name is judged once
	var missing []string
	subs := d.subProjects()
	own := d.ownModules()
	for _, f := range d.t.under(p.Context, ".py") {
		if isTestFile(rel(p.Context, f)) || inAny(f, subs) {
			continue
		}
		py := d.t.py(f)
		if py == nil {
			continue
		}
		for _, im := range runtimeImports(py) {
			top, _, _ := strings.Cut(im.module, ".")
			if checked[top] {
				continue
			}
			checked[top] = true
			if top == "" || strings.HasPrefix(top, "_") || own[top] {
				continue
			}
			if stdlibModules[top] && stdlibHas(top, minor) {
				continue
			}
			if installed(top, im.module) {
				continue
			}
			first[top] = use{f, im.module, im.line}
			missing = append(missing, top)
		}
	}
	to := firstNonEmpty(strings.Join(p.Dependencies.Files, ", "), "requirements.txt")
	for i, top := range missing {
		if i == maxImportWarnings {
			d.warn(fmt.Sprintf("and %d more imports that no declared dependency provides: %s", len(missing)-i, strings.Join(missing[i:], ", ")))
			break
		}
		u := first[top]
		at := fmt.Sprintf("%s:%d", u.file, u.line)
		switch {
		case stdlibModules[top] && stdlibSince[top] != "":
			d.warn(fmt.Sprintf("%s imports %s, which Python %s does not have (it is in the standard library from %s): choose Python %s or later (--python, or pin it in .python-version)", at, top, minor, stdlibSince[top], stdlibSince[top]))
		case stdlibModules[top]:
			d.warn(fmt.Sprintf("%s imports %s, which Python %s no longer has (removed from the standard library in %s): choose an older Python (--python) or replace it", at, top, minor, stdlibUntil[top]))
		case p.Dependencies.Manager == "":
			d.warn(fmt.Sprintf("%s imports %s, and the project declares no dependencies: list %s in requirements.txt, or the app stops with ModuleNotFoundError", at, top, distFor(top, u.module)))
		default:
			d.warn(fmt.Sprintf("%s imports %s, which no declared dependency provides: add %s to %s, or the app stops with ModuleNotFoundError: No module named '%s'", at, top, distFor(top, u.module), to, top))
		}
	}
}

// subProjects are the folders below the build context with dependency files of their
// own that the image does not install (a worker beside the web app): their imports are
// theirs to declare.
func (d *detector) subProjects() []string {
	var out []string
	for _, f := range d.t.under(d.plan.Context, "") {
		dir, base := path.Dir(f), path.Base(f)
		if dir == d.plan.Context || contains(d.plan.Dependencies.Files, f) || path.Base(dir) == "requirements" {
			continue
		}
		if base == "pyproject.toml" || base == "setup.py" || base == "Pipfile" || strings.HasPrefix(base, "requirements") && strings.HasSuffix(base, ".txt") {
			out = append(out, dir+"/")
		}
	}
	return out
}

func inAny(f string, dirs []string) bool {
	for _, d := range dirs {
		if strings.HasPrefix(f, d) {
			return true
		}
	}
	return false
}

// distFor names the distribution to add for an import of module (top is its first part).
func distFor(top, module string) string {
	if ds, ok := importDists[top]; ok {
		return ds[0]
	}
	if _, ok := namespaceRoots[top]; ok {
		// azure.storage.blob comes from azure-storage-blob; google.cloud is itself
		// shared, so only its family can be named.
		if strings.Contains(module, ".") && module != "google.cloud" {
			return pyproject.Normalize(module)
		}
		return "the " + strings.TrimSuffix(pyproject.Normalize(module), "-") + "-… distribution it needs"
	}
	return pyproject.Normalize(top)
}

// installedImports returns whether an import is provided by what the image installs:
// the declared dependencies (with a lock, everything it pins), what they bring, their
// extras, and the server pyship adds.
func (d *detector) installedImports(m *manifests) func(top, module string) bool {
	dists := map[string]bool{}
	var add func(name string)
	add = func(name string) {
		name = pyproject.Normalize(name)
		if dists[name] {
			return
		}
		dists[name] = true
		for _, imp := range brings[name] {
			add(imp)
			for _, dist := range importDists[imp] {
				add(dist)
			}
		}
	}
	for _, n := range d.plan.Dependencies.Packages {
		add(n)
	}
	for _, l := range m.locks {
		for _, n := range l.Names() {
			add(n)
		}
	}
	for pkg, extras := range d.extras {
		for _, e := range extras {
			for _, imp := range brings[pkg+"["+e+"]"] {
				add(imp)
			}
			for _, via := range extraProvides[pkg+"["+e+"]"] {
				add(via)
			}
		}
	}
	if d.plan.AddServer && d.plan.ServerPackage != "" {
		add(d.plan.ServerPackage)
	}
	return func(top, module string) bool {
		if dists[pyproject.Normalize(top)] {
			return true
		}
		for _, dist := range importDists[top] {
			if dists[pyproject.Normalize(dist)] {
				return true
			}
		}
		if prefix, ok := namespaceRoots[top]; ok {
			// google.cloud.storage: google-cloud-storage, or any of the family.
			if dists[pyproject.Normalize(module)] {
				return true
			}
			for dist := range dists {
				if strings.HasPrefix(dist, prefix) || (top == "google" && dist == "protobuf") {
					return true
				}
			}
		}
		return false
	}
}

// ownModules are the names of the project's own modules and packages, at any depth (an
// import root pyship does not know of is still the project's).
func (d *detector) ownModules() map[string]bool {
	own := map[string]bool{}
	for dir := range d.t.dirs {
		own[path.Base(dir)] = true
	}
	for _, f := range d.t.files {
		base := path.Base(f)
		switch {
		case strings.HasSuffix(base, ".py"):
			own[strings.TrimSuffix(base, ".py")] = true
		case strings.HasSuffix(base, ".so") || strings.HasSuffix(base, ".pyd"):
			name, _, _ := strings.Cut(base, ".")
			own[name] = true
		}
	}
	return own
}

// stdlibHas reports whether Python minor (3.12) has the standard module name.
func stdlibHas(name, minor string) bool {
	if since, ok := stdlibSince[name]; ok && minorLess(minor, since) {
		return false
	}
	if until, ok := stdlibUntil[name]; ok && !minorLess(minor, until) {
		return false
	}
	return true
}

// minorLess compares "3.9" and "3.12" as versions.
func minorLess(a, b string) bool {
	am, an, _ := strings.Cut(a, ".")
	bm, bn, _ := strings.Cut(b, ".")
	ai, _ := strconv.Atoi(am)
	bi, _ := strconv.Atoi(bm)
	if ai != bi {
		return ai < bi
	}
	aj, _ := strconv.Atoi(an)
	bj, _ := strconv.Atoi(bn)
	return aj < bj
}

// runtimeImports are a file's absolute imports that run when the app does: not those
// an `except ImportError` makes optional, nor those under `if TYPE_CHECKING:` or
// `if __name__ == "__main__":` (a development entry point).
func runtimeImports(f *pyFile) []pyImport {
	var out []pyImport
	pyWalk(f.root, func(n *pyNode, anc []*pyNode) bool {
		if n.kind != "import_statement" && n.kind != "import_from_statement" {
			return true
		}
		if optionalImport(f, n, anc) {
			return false
		}
		if n.kind == "import_statement" {
			for _, c := range n.children {
				if c.field != "name" {
					continue
				}
				if c.kind == "aliased_import" {
					c = c.child("name")
				}
				out = append(out, pyImport{module: f.dotted(c), line: n.line})
			}
			return false
		}
		if m := n.child("module_name"); m != nil && m.kind != "relative_import" {
			mod := f.dotted(m)
			if mod == "__future__" {
				return false
			}
			out = append(out, pyImport{module: mod, line: n.line})
		}
		return false
	})
	return out
}

func optionalImport(f *pyFile, n *pyNode, anc []*pyNode) bool {
	inside := func(outer, inner *pyNode) bool {
		return outer != nil && inner.start >= outer.start && inner.end <= outer.end
	}
	for i := len(anc) - 1; i >= 0; i-- {
		a := anc[i]
		switch a.kind {
		case "try_statement":
			if !inside(a.child("body"), n) {
				continue
			}
			for _, c := range a.children {
				if c.kind != "except_clause" && c.kind != "except_group_clause" {
					continue
				}
				head, _, _ := strings.Cut(f.text(c), ":")
				head = strings.TrimSpace(head)
				if head == "except" || strings.Contains(head, "ImportError") || strings.Contains(head, "ModuleNotFoundError") || strings.Contains(head, "Exception") {
					return true
				}
			}
		case "if_statement":
			cond := f.text(a.child("condition"))
			if inside(a.child("consequence"), n) && (strings.Contains(cond, "TYPE_CHECKING") || strings.Contains(cond, "__name__") && strings.Contains(cond, "__main__")) {
				return true
			}
		}
	}
	return false
}

// serverUndeclared warns when the server command the project names (--server, pyship
// toml, Procfile) runs a program whose distribution the dependencies lack: the
// container would stop at once with "executable file not found".
func (d *detector) serverUndeclared(m *manifests) {
	p := d.plan
	if p.ServerPackage == "" || p.AddServer || len(p.Server) == 0 || p.Dependencies.Manager == "setuptools" {
		return
	}
	if d.installedImports(m)(strings.ReplaceAll(p.ServerPackage, "-", "_"), p.ServerPackage) {
		return
	}
	where := "the server command"
	for _, e := range p.Evidence {
		if e.Field == "server" {
			where = e.Rule
			if e.File != "" && e.Line > 0 {
				where = fmt.Sprintf("%s (%s:%d)", e.Rule, e.File, e.Line)
			}
		}
	}
	d.warn(fmt.Sprintf("%s runs %s, but %s is not in the dependencies (%s): add it, or the container stops at once with \"executable file not found\"",
		where, p.Server[0], p.ServerPackage, firstNonEmpty(strings.Join(p.Dependencies.Files, ", "), "none declared")))
}
