package plan

import (
	"fmt"
	"path"
	"strings"
)

// FunctionsError is a project that is an Azure Functions app: host.json beside
// function_app.py (the v2 programming model) or folders of function.json (v1). Its
// container runs the Functions host on Microsoft's Functions base image, not a
// WSGI/ASGI server, so there is no entry point to find; saying so beats asking for one.
type FunctionsError struct {
	HostJSON string   // path of host.json
	Evidence []string // function_app.py, or the function.json files
}

func (e *FunctionsError) Error() string {
	return fmt.Sprintf("%s: an Azure Functions project (%s): its container runs the Functions host (base image mcr.microsoft.com/azure-functions/python:4-python3.X, code in /home/site/wwwroot), not a web server pyship starts; pyship does not containerize Functions apps yet (func init --docker-only writes their Dockerfile)",
		e.HostJSON, strings.Join(e.Evidence, ", "))
}

// functionsProject says whether the project at ctx is an Azure Functions app.
func (d *detector) functionsProject(ctx string) *FunctionsError {
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
	return &FunctionsError{HostJSON: host, Evidence: ev}
}
