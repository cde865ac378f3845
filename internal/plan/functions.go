package plan

import (
	"fmt"
	"path"
	"strconv"
	"strings"
)

// FunctionsRoot is where the Functions host loads the app from.
const FunctionsRoot = "/home/site/wwwroot"

// FunctionsPort is where the Functions host listens in Microsoft's Python base images
// (ASPNETCORE_URLS=http://+:80), and so the port Azure sends requests to.
const FunctionsPort = 80

// FunctionsError is half an Azure Functions app: function_app.py with no host.json
// beside it. The Functions host will not start without one, and the file is no web
// app a server could run either.
type FunctionsError struct{ File string }

func (e *FunctionsError) Error() string {
	return fmt.Sprintf("%s: an Azure Functions app (it imports azure.functions) with no host.json beside it: the Functions host needs one (func init writes it; {\"version\": \"2.0\"} is the least it takes)", e.File)
}

// functionsPythons are the Python minors Azure Functions 4 runs (Microsoft's
// Functions base images and worker), oldest first.
var functionsPythons = []string{"3.10", "3.11", "3.12", "3.13"}

// FunctionsBase is Microsoft's Functions base image for a Python minor version: the
// Functions host (runtime 4) with that Python and its worker.
func FunctionsBase(python string) string {
	return "mcr.microsoft.com/azure-functions/python:4-python" + minorOf(python)
}

// functionsProject finds an Azure Functions app at ctx: host.json beside
// function_app.py (the v2 programming model) or folders of function.json (v1). It
// returns the files that say so (nil: not one).
func (d *detector) functionsProject(ctx string) []string {
	host := path.Join(ctx, "host.json")
	if !d.t.has(host) {
		return nil
	}
	var ev []string
	if f := path.Join(ctx, "function_app.py"); d.t.has(f) {
		ev = append(ev, f)
	}
	for _, f := range d.t.under(ctx, "function.json") {
		if path.Base(f) == "function.json" && strings.Count(rel(ctx, f), "/") == 1 {
			ev = append(ev, f)
		}
	}
	if len(ev) == 0 {
		return nil
	}
	return append([]string{host}, ev...)
}

// functionsApp makes the Plan of an Azure Functions app: its container runs the
// Functions host, which loads the functions from /home/site/wwwroot, so there is no
// entry point or server to choose, and the port is the host's.
func (d *detector) functionsApp(files []string) {
	p := d.plan
	p.Framework, p.Interface = AzureFunctions, "functions"
	// The v2 model's function_app.py, else the v1 folders' function.json files.
	p.Entrypoint = rel(p.Context, files[1])
	model := "the v2 programming model: host.json beside function_app.py"
	if path.Base(files[1]) == "function.json" {
		model = "the v1 programming model: host.json and a function.json per function folder"
	}
	d.evidence("framework", string(AzureFunctions), files[0], 0, "an Azure Functions app ("+model+")")
	for _, f := range files[1:] {
		d.evidence("entrypoint", rel(p.Context, f), f, 0, "the Functions host loads it from /home/site/wwwroot")
	}
	if d.opts.Port != 0 || d.cfg.Port != 0 {
		d.warn("a declared port is ignored: the Functions host listens on 80 in Microsoft's base image")
	}
	p.Port = FunctionsPort
	d.evidence("port", itoa(FunctionsPort), "", 0, "the Functions host listens on 80 (ASPNETCORE_URLS in Microsoft's Functions base image)")
	d.functionsPython()
	if !d.hasDep("azure-functions") {
		d.warn("azure-functions is not in the dependencies: function_app.py imports azure.functions, which the Functions host does not provide; add it to requirements.txt")
	}
}

// functionsPython moves the Python version onto one Azure Functions runs: the newest
// when the project states none, the nearest (with a warning) when it states another.
func (d *detector) functionsPython() {
	p := d.plan
	v := minorOf(p.PythonVersion)
	for _, f := range functionsPythons {
		if f == v {
			return
		}
	}
	oldest, newest := functionsPythons[0], functionsPythons[len(functionsPythons)-1]
	to := newest
	if cmpMinor(v, oldest) < 0 {
		to = oldest
	}
	declared := true
	for _, e := range p.Evidence {
		if e.Field == "python_version" && strings.HasPrefix(e.Rule, "no version declared") {
			declared = false
		}
	}
	if declared {
		d.warn(fmt.Sprintf("Azure Functions runs Python %s to %s, not %s: the Functions image uses %s", oldest, newest, v, to))
	}
	p.PythonVersion = to
	d.evidence("python_version", to, "", 0, fmt.Sprintf("the Python of Microsoft's Functions base images nearest to %s (they run %s to %s)", v, oldest, newest))
}

// cmpMinor compares two "3.N" versions.
func cmpMinor(a, b string) int {
	ma, _ := strconv.Atoi(strings.TrimPrefix(a, "3."))
	mb, _ := strconv.Atoi(strings.TrimPrefix(b, "3."))
	return ma - mb
}
