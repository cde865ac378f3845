package plan

import (
	"fmt"
	"regexp"
	"strings"
)

// defaultPorts are the frameworks' customary ports (the seed's table: Django 8000,
// Flask 5000, FastAPI/uvicorn 8000).
var defaultPorts = map[Framework]int{Django: 8000, Flask: 5000, FastAPI: 8000, Starlette: 8000, Quart: 5000, Litestar: 8000, Falcon: 8000, OtherWSGI: 8000, OtherASGI: 8000}

func (d *detector) chooseServer() {
	p := d.plan
	if len(p.Server) > 0 {
		return
	}
	entry := p.Entrypoint
	has := d.hasDep
	var argv []string
	rule := ""
	factoryAttr := strings.TrimSuffix(entry, "()") // uvicorn/granian: --factory module:fn
	if p.Interface == "asgi" {
		switch {
		case has("gunicorn") && (has("uvicorn") || has("uvicorn-worker")):
			worker := "uvicorn.workers.UvicornWorker"
			if has("uvicorn-worker") {
				worker = "uvicorn_worker.UvicornWorker"
			}
			p.ServerPackage = "gunicorn"
			argv = []string{"gunicorn", "--bind", "0.0.0.0:${PORT}", "--worker-class", worker, "--access-logfile", "-", entry}
			rule = "ASGI app with gunicorn and uvicorn in the dependencies: gunicorn manages uvicorn workers"
		case has("hypercorn"):
			p.ServerPackage = "hypercorn"
			argv = []string{"hypercorn", "--bind", "0.0.0.0:${PORT}", entry}
			rule = "ASGI app; hypercorn is in the dependencies"
		case has("daphne"):
			p.ServerPackage = "daphne"
			argv = []string{"daphne", "--bind", "0.0.0.0", "--port", "${PORT}", entry}
			rule = "ASGI app; daphne is in the dependencies"
		case has("granian"):
			p.ServerPackage = "granian"
			argv = granian("asgi", entry, p.Factory)
			rule = "ASGI app; granian is in the dependencies"
		default:
			p.ServerPackage = "uvicorn"
			argv = []string{"uvicorn", entry, "--host", "0.0.0.0", "--port", "${PORT}", "--proxy-headers"}
			if p.Factory {
				argv = []string{"uvicorn", "--factory", factoryAttr, "--host", "0.0.0.0", "--port", "${PORT}", "--proxy-headers"}
			}
			rule = "ASGI app: uvicorn"
			if has("uvicorn") {
				rule += " (in the dependencies)"
			} else {
				p.AddServer = true
			}
		}
	} else {
		switch {
		case has("gunicorn") || !(has("waitress") || has("granian")):
			p.ServerPackage = "gunicorn"
			// gthread, not the default sync worker: sync closes every connection, so
			// each request behind a proxy (pyship's gateway, Container Apps' ingress, a
			// load balancer) costs a new TCP connection, and a slow client ties up a
			// worker. Keep-alive outlasts the proxies' idle timeouts (60 s is common),
			// so the proxy closes idle connections first and never reuses a dead one.
			argv = []string{"gunicorn", "--bind", "0.0.0.0:${PORT}", "--worker-class", "gthread", "--threads", "4", "--keep-alive", "75", "--access-logfile", "-", entry}
			rule = "WSGI app: gunicorn with threaded workers (keep-alive for the proxy in front)"
			if has("gunicorn") {
				rule += " (in the dependencies)"
			} else {
				p.AddServer = true
			}
		case has("waitress"):
			p.ServerPackage = "waitress"
			argv = []string{"waitress-serve", "--listen=0.0.0.0:${PORT}", entry}
			if p.Factory {
				argv = []string{"waitress-serve", "--listen=0.0.0.0:${PORT}", "--call", factoryAttr}
			}
			rule = "WSGI app; waitress is in the dependencies"
		default:
			p.ServerPackage = "granian"
			argv = granian("wsgi", entry, p.Factory)
			rule = "WSGI app; granian is in the dependencies"
		}
	}
	p.Server = argv
	d.evidence("server", strings.Join(argv, " "), "", 0, rule)
}

func granian(iface, entry string, factory bool) []string {
	argv := []string{"granian", "--interface", iface, "--host", "0.0.0.0", "--port", "${PORT}"}
	if factory {
		argv = append(argv, "--factory")
	}
	return append(argv, strings.TrimSuffix(entry, "()"))
}

var (
	bindArgRe   = regexp.MustCompile(`^(?:--bind=|-b|--listen=)?([\w.\[\]:]*):(\d+|\$\{PORT\})$`)
	exposeRe    = regexp.MustCompile(`(?i)^\s*EXPOSE\s+(\d+)`)
	composePort = regexp.MustCompile(`["']?(?:[\d.]+:)?(\d+):(\d+)["']?`)
)

func (d *detector) choosePort() {
	p := d.plan
	set := func(port int, file string, line int, rule string) {
		if p.Port == 0 && port > 0 && port < 65536 {
			p.Port = port
			d.evidence("port", itoa(port), file, line, rule)
		}
	}
	set(d.opts.Port, "", 0, "--port flag")
	file, line := d.cfg.at("port")
	set(d.cfg.Port, file, line, "declared in pyship configuration")
	// A literal port in an explicit server command.
	for i, a := range p.Server {
		if m := bindArgRe.FindStringSubmatch(a); m != nil && m[2] != "${PORT}" {
			set(atoi(m[2]), "", 0, "the server command binds it")
			if m[1] == "127.0.0.1" || m[1] == "localhost" {
				d.warn(fmt.Sprintf("the server command binds %s: nothing outside the container can reach it; bind 0.0.0.0", m[1]))
			}
		}
		if (a == "--port" || a == "-p") && i+1 < len(p.Server) {
			set(atoi(p.Server[i+1]), "", 0, "the server command's --port")
		}
		if (a == "--host" || a == "-H") && i+1 < len(p.Server) && (p.Server[i+1] == "127.0.0.1" || p.Server[i+1] == "localhost") {
			d.warn("the server command binds 127.0.0.1: nothing outside the container can reach it; use --host 0.0.0.0")
		}
	}
	set(d.scriptPort, "", 0, "the [project.scripts] server passes port=")
	// gunicorn.conf.py: gunicorn loads it from the working directory.
	conf := join(p.AppRoot, "gunicorn.conf.py")
	if py := d.t.py(conf); d.t.has(conf) && py != nil {
		for _, s := range statements(py.root) {
			left, right := assignment(s)
			if left == nil || py.text(left) != "bind" {
				continue
			}
			v, ok := py.str(right)
			if !ok && right.kind == "list" {
				if kids := right.namedChildren(); len(kids) > 0 {
					v, ok = py.str(kids[0])
				}
			}
			if !ok {
				continue
			}
			if strings.HasPrefix(v, "unix:") {
				d.warn(fmt.Sprintf("%s:%d binds a unix socket; pyship's command line --bind 0.0.0.0:$PORT overrides it in the image", conf, s.line))
				continue
			}
			host, port, _ := strings.Cut(v, ":")
			if host == "127.0.0.1" || host == "localhost" {
				d.warn(fmt.Sprintf("%s:%d binds %s; pyship's command line --bind 0.0.0.0:$PORT overrides it in the image, but anything else that reads this file will not be reachable from outside a container", conf, s.line, host))
			}
			set(atoi(port), conf, s.line, "gunicorn.conf.py bind")
		}
	}
	// app.run(port=…) / uvicorn.run(…, port=…) in the entry module.
	if mod, _, ok := strings.Cut(p.Entrypoint, ":"); ok {
		if f := d.moduleFile(mod); f != "" {
			if py := d.t.py(f); py != nil {
				for _, c := range runCalls(py) {
					set(c.port, f, c.line, "the app's own run(port=...) call")
				}
			}
		}
	}
	if f := p.Existing.Dockerfile; f != "" {
		var ports []int
		var lines []int
		for i, l := range strings.Split(string(d.t.read(f)), "\n") {
			if m := exposeRe.FindStringSubmatch(l); m != nil {
				ports = append(ports, atoi(m[1]))
				lines = append(lines, i+1)
			}
		}
		if len(ports) == 1 {
			set(ports[0], f, lines[0], "the existing Dockerfile's EXPOSE")
		}
	}
	for _, f := range p.Existing.Compose {
		for i, l := range strings.Split(string(d.t.read(f)), "\n") {
			t := strings.TrimSpace(l)
			if strings.HasPrefix(t, "- ") {
				if m := composePort.FindStringSubmatch(t); m != nil && !strings.Contains(t, "5432") && !strings.Contains(t, "6379") && !strings.Contains(t, "27017") && !strings.Contains(t, "3306") {
					set(atoi(m[2]), f, i+1, "the compose file publishes it")
					break
				}
			}
		}
	}
	if p.Port == 0 {
		port := defaultPorts[p.Framework]
		if port == 0 {
			port = 8000
		}
		set(port, "", 0, fmt.Sprintf("%s's customary port", p.Framework))
	}
}

// runCall is a call that starts a server from the code: app.run(port=5002),
// uvicorn.run("m:app", host="127.0.0.1", port=8123), waitress.serve(app, port=…).
type runCall struct {
	callee string
	port   int
	host   string
	line   int
}

func runCalls(f *pyFile) []runCall {
	var out []runCall
	pyWalk(f.root, func(n *pyNode, _ []*pyNode) bool {
		if n.kind != "call" {
			return true
		}
		callee := f.dotted(n.child("function"))
		if !strings.HasSuffix(callee, ".run") && !strings.HasSuffix(callee, "serve") && !strings.HasSuffix(callee, ".run_app") {
			return true
		}
		_, kw := callArgs(n, f)
		c := runCall{callee: callee, line: n.line}
		if v := kw["port"]; v != nil && v.kind == "integer" {
			c.port = atoi(f.text(v))
		}
		c.host, _ = f.str(kw["host"])
		out = append(out, c)
		return true
	})
	return out
}
