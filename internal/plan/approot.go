package plan

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"
	yaml "go.yaml.in/yaml/v3"
)

// Where the app lives in a repository, from what the repository itself says: its
// deployment files (azure.yaml, a compose file, a Dockerfile next to the app's own
// manifest) and a uv workspace's members. These come before guessing from manifests,
// which picked a root requirements-dev.txt over the app in src/.

// sampleDirs hold code that is not the repository's app: a project found only there
// (falcon's bench/dj Django app) is listed as a candidate, never chosen.
// ("example" alone is left out: it is also a common name for a tutorial's own project.)
var sampleDirs = map[string]bool{
	"bench": true, "benchmark": true, "benchmarks": true, "tests": true, "test": true, "testing": true,
	"examples": true, "docs": true, "doc": true,
}

// inSampleDir reports whether a slash path lies below one of sampleDirs.
func inSampleDir(p string) bool {
	for _, part := range strings.Split(path.Dir(p), "/") {
		if sampleDirs[part] {
			return true
		}
	}
	return false
}

// rootSource is one statement of where the app lives.
type rootSource struct {
	dir, file string
	line      int
	rule      string
}

// deployRoot reads azure.yaml, then the compose files, then the Dockerfiles: the first
// that names exactly one folder holding a Python project decides.
func (d *detector) deployRoot() (rootSource, bool) {
	for _, find := range []func() []rootSource{d.azureRoots, d.composeRoots, d.dockerfileRoots} {
		found := find()
		if distinctDirs(found) > 1 {
			// Several Python services (an API and its worker): the one with a web
			// framework or server is the app.
			var web []rootSource
			for _, s := range found {
				if d.hasWeb(s.dir) {
					web = append(web, s)
				}
			}
			found = web
		}
		if distinctDirs(found) == 1 {
			return found[0], true
		}
	}
	return rootSource{}, false
}

func distinctDirs(srcs []rootSource) int {
	dirs := map[string]bool{}
	for _, s := range srcs {
		dirs[s.dir] = true
	}
	return len(dirs)
}

// projectDir cleans a folder named by a deployment file and keeps it only when it is
// inside the repository and holds Python.
func (d *detector) projectDir(base, p string) (string, bool) {
	p = path.Clean(path.Join(base, strings.TrimSpace(p)))
	if p != "." && (!d.t.dirs[p] || strings.HasPrefix(p, "../") || p == ".." || path.IsAbs(p)) {
		return "", false
	}
	for _, f := range d.t.under(p, "") {
		if isManifest(path.Base(f)) || strings.HasSuffix(f, ".py") {
			return p, true
		}
	}
	return "", false
}

// yamlDoc parses a small YAML file; nil when it is not YAML (the deployment file is
// then no evidence, and whatever reads it reports its own errors).
func (d *detector) yamlDoc(f string) *yaml.Node {
	var doc yaml.Node
	if err := yaml.Unmarshal(d.t.read(f), &doc); err != nil || len(doc.Content) == 0 {
		return nil
	}
	return doc.Content[0]
}

// mapValue returns the value node of key in a YAML mapping.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// azureRoots: azure.yaml's services.<name>.project for Python services (the Azure
// Developer CLI deploys that folder).
func (d *detector) azureRoots() []rootSource {
	var out []rootSource
	for _, f := range []string{"azure.yaml", "azure.yml"} {
		if !d.t.has(f) {
			continue
		}
		services := mapValue(d.yamlDoc(f), "services")
		if services == nil || services.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(services.Content); i += 2 {
			svc := services.Content[i+1]
			proj, lang := mapValue(svc, "project"), mapValue(svc, "language")
			if proj == nil || (lang != nil && lang.Value != "python" && lang.Value != "py") {
				continue
			}
			if dir, ok := d.projectDir(".", proj.Value); ok {
				out = append(out, rootSource{dir, f, proj.Line, fmt.Sprintf("azure.yaml deploys service %q from this folder", services.Content[i].Value)})
			}
		}
	}
	return out
}

// composeRoots: a compose file's services.<name>.build (or build.context).
func (d *detector) composeRoots() []rootSource {
	var out []rootSource
	for _, f := range []string{"compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"} {
		if !d.t.has(f) {
			continue
		}
		services := mapValue(d.yamlDoc(f), "services")
		if services == nil || services.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(services.Content); i += 2 {
			build := mapValue(services.Content[i+1], "build")
			if build != nil && build.Kind == yaml.MappingNode {
				build = mapValue(build, "context")
			}
			if build == nil || build.Kind != yaml.ScalarNode {
				continue
			}
			if dir, ok := d.projectDir(".", build.Value); ok {
				out = append(out, rootSource{dir, f, build.Line, fmt.Sprintf("%s builds service %q from this folder", f, services.Content[i].Value)})
			}
		}
	}
	return out
}

// dockerfileRoots: a Dockerfile in a folder whose own manifest declares a web framework,
// when the top directory has no Dockerfile (a top Dockerfile may build anything below).
func (d *detector) dockerfileRoots() []rootSource {
	if d.t.has("Dockerfile") {
		return nil
	}
	var out []rootSource
	for _, f := range d.t.files {
		dir := path.Dir(f)
		if path.Base(f) != "Dockerfile" || dir == "." || strings.Count(dir, "/") > 1 || inSampleDir(f) {
			continue
		}
		// A Dockerfile of a worker or a tool is not the web app's: its folder must
		// declare a web framework or server.
		if d.hasWeb(dir) {
			out = append(out, rootSource{dir, f, 0, "the Dockerfile builds the app from this folder, whose manifest declares a web framework or server"})
		}
	}
	return out
}

// workspace is a uv workspace declared by the top pyproject.toml.
type workspace struct {
	file    string
	line    int
	members []string // member folders that exist, sorted
}

// uvWorkspace reads [tool.uv.workspace] members (globs) and exclude from pyproject.toml.
func (d *detector) uvWorkspace() *workspace {
	const f = "pyproject.toml"
	if !d.t.has(f) {
		return nil
	}
	var doc struct {
		Tool struct {
			UV struct {
				Workspace struct {
					Members []string `toml:"members"`
					Exclude []string `toml:"exclude"`
				} `toml:"workspace"`
			} `toml:"uv"`
		} `toml:"tool"`
	}
	if err := toml.Unmarshal(d.t.read(f), &doc); err != nil {
		return nil // readManifests reports a broken pyproject.toml
	}
	ws := doc.Tool.UV.Workspace
	if len(ws.Members) == 0 {
		return nil
	}
	w := &workspace{file: f, line: lineOfText(d.t.read(f), "members")}
	for dir := range d.t.dirs {
		if !d.t.has(join(dir, "pyproject.toml")) || dir == "." {
			continue
		}
		in := false
		for _, g := range ws.Members {
			ok, _ := path.Match(path.Clean(g), dir)
			in = in || ok
		}
		for _, g := range ws.Exclude {
			ok, _ := path.Match(path.Clean(g), dir)
			in = in && !ok
		}
		if in {
			w.members = append(w.members, dir)
		}
	}
	sort.Strings(w.members)
	return w
}

// hasWeb reports whether a folder's own manifests declare a web framework or server,
// or it holds manage.py.
func (d *detector) hasWeb(dir string) bool {
	if d.t.has(join(dir, "manage.py")) {
		return true
	}
	m, err := readManifests(d.t, dir)
	if err != nil {
		return false
	}
	for _, p := range m.names() {
		if webPackages[p] {
			return true
		}
	}
	return false
}

// importRoot is the folder the app's code imports itself from: backend/ when
// backend/app/main.py says `from app.core import config`. It returns "" when the code
// imports itself from the build context (or not at all).
func (d *detector) importRoot(ctx, file string) (root string, ev Evidence) {
	dirs := strings.Split(path.Dir(rel(ctx, file)), "/")
	if dirs[0] == "." {
		return "", ev
	}
	for k := 1; k < len(dirs); k++ {
		pkg := dirs[k]
		pkgDir := join(ctx, strings.Join(dirs[:k+1], "/"))
		files := append([]string{file}, d.t.under(pkgDir, ".py")...)
		for i, f := range files {
			if i > 200 {
				break // enough evidence either way; a package's own imports show early
			}
			if !strings.Contains(string(d.t.read(f)), pkg) {
				continue
			}
			py := d.t.py(f)
			if py == nil {
				continue
			}
			for _, im := range py.imports() {
				if im.module == pkg || strings.HasPrefix(im.module, pkg+".") {
					root = join(ctx, strings.Join(dirs[:k], "/"))
					return root, Evidence{Field: "app_root", Value: root, File: f, Line: im.line,
						Rule: fmt.Sprintf("the code imports its own package as %s (import %s), so %s is its import root", pkg, im.module, root)}
				}
			}
		}
	}
	return "", ev
}
