package dashboard

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pyship/pyship/internal/store"
)

//go:embed assets
var assets embed.FS

// pages are parsed when the dashboard first renders one, not when pyship starts:
// every other command links this package too.
var pages = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("").Funcs(template.FuncMap{
		"ago":     ago,
		"short":   func(s string) string { return strings.TrimPrefix(s[strings.LastIndex(s, "--")+1:], "-") },
		"pct":     func(n int) string { return strconv.Itoa(n) + "%" },
		"rate":    func(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) },
		"percent": func(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + "%" },
	}).ParseFS(assets, "assets/*.html"))
})

// Server is the dashboard's HTTP server.
type Server struct {
	Src Source
	// Token is this run's secret: in the URL printed once, then in a cookie.
	Token string
	// Addr is where it listens (127.0.0.1:PORT): the only Host it answers.
	Addr string
	// Now is the clock (tests fix it).
	Now func() time.Time
}

// Handler serves the page, its API and its live logs, behind guard.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(assets, "assets")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", s.index)
	// Every route with an app's name checks it first: a name is a state-directory
	// key (its lock file), never a path.
	mux.Handle("GET /apps/{name}", named(s.app))
	mux.Handle("GET /apps/{name}/logs", named(s.logs))
	mux.Handle("POST /apps/{name}/rollback", named(s.act("rollback")))
	mux.Handle("POST /apps/{name}/scale", named(s.act("scale")))
	mux.Handle("POST /apps/{name}/traffic", named(s.act("traffic")))
	mux.Handle("POST /apps/{name}/restart", named(s.act("restart")))
	mux.HandleFunc("GET /api/apps", s.apiApps)
	mux.Handle("GET /api/apps/{name}", named(s.apiApp))
	mux.Handle("GET /api/apps/{name}/stats", named(s.apiStats))
	return s.guard(mux)
}

// named lets through only a request whose {name} is an app name (store.ValidName):
// /apps/..%2Fx is a 404, not a path or lock file of that name.
func named(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if store.ValidName(r.PathValue("name")) != nil {
			http.NotFound(w, r)
			return
		}
		h(w, r)
	})
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// render writes a page; a template error after the first byte can only be logged
// into the page, so pages are rendered into memory first.
func (s *Server) render(w http.ResponseWriter, status int, name string, data any) {
	var b strings.Builder
	if err := pages().ExecuteTemplate(&b, name, data); err != nil {
		http.Error(w, "the page could not be made: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprint(w, b.String())
}

type indexPage struct {
	Apps []App
	Now  time.Time
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	apps, err := s.Src.Apps(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	sort.Slice(apps, func(i, j int) bool { return apps[i].Name < apps[j].Name })
	s.render(w, http.StatusOK, "index.html", indexPage{Apps: apps, Now: s.now()})
}

type appPage struct {
	App    *App
	Now    time.Time
	Notice string
}

func (s *Server) app(w http.ResponseWriter, r *http.Request) {
	a, err := s.Src.App(r.Context(), r.PathValue("name"))
	if err != nil {
		s.fail(w, err)
		return
	}
	s.render(w, http.StatusOK, "app.html", appPage{App: a, Now: s.now(), Notice: r.URL.Query().Get("done")})
}

func (s *Server) fail(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	if errors.Is(err, ErrNoApp) {
		status = http.StatusNotFound
	}
	s.render(w, status, "error.html", err.Error())
}

// confirmPage asks before an action runs: the same form again, with confirm=yes.
type confirmPage struct {
	App, Action, Question string
	Fields                [][2]string
}

// act runs an action the form asks for, once the user confirmed it on the page pyship
// shows first (so a stray click changes nothing, with or without JavaScript).
func (s *Server) act(action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form: "+err.Error(), http.StatusBadRequest)
			return
		}
		name := r.PathValue("name")
		var question string
		var run func(ctx context.Context) error
		switch action {
		case "rollback":
			rev := r.PostForm.Get("revision")
			question = fmt.Sprintf("Roll %s back to %s? Its replicas start and must pass their probe before traffic moves.", name, rev)
			run = func(ctx context.Context) error { return s.Src.Rollback(ctx, name, rev) }
		case "scale":
			n, err := strconv.Atoi(r.PostForm.Get("replicas"))
			if err != nil || n < 1 {
				http.Error(w, "replicas: give a number of 1 or more", http.StatusBadRequest)
				return
			}
			question = fmt.Sprintf("Scale %s to %d replica(s)?", name, n)
			run = func(ctx context.Context) error { return s.Src.Scale(ctx, name, n) }
		case "restart":
			rep := r.PostForm.Get("replica")
			question = fmt.Sprintf("Restart %s's replica %s? Its requests go to the other replicas meanwhile (none: the app does not answer until it is back).", name, rep)
			run = func(ctx context.Context) error { return s.Src.Restart(ctx, name, rep) }
		case "traffic":
			weights := map[string]int{}
			var parts []string
			for k, v := range r.PostForm {
				rev, ok := strings.CutPrefix(k, "w.")
				if !ok || len(v) == 0 || v[0] == "" {
					continue
				}
				n, err := strconv.Atoi(v[0])
				if err != nil || n < 0 || n > 100 {
					http.Error(w, "weights: give percentages from 0 to 100", http.StatusBadRequest)
					return
				}
				if n > 0 {
					weights[rev] = n
					parts = append(parts, fmt.Sprintf("%s %d%%", rev, n))
				}
			}
			sort.Strings(parts)
			question = fmt.Sprintf("Send %s's traffic: %s?", name, strings.Join(parts, ", "))
			run = func(ctx context.Context) error { return s.Src.SetTraffic(ctx, name, weights) }
		}
		if r.PostForm.Get("confirm") != "yes" {
			var fields [][2]string
			for k, v := range r.PostForm {
				if len(v) > 0 && k != "confirm" {
					fields = append(fields, [2]string{k, v[0]})
				}
			}
			sort.Slice(fields, func(i, j int) bool { return fields[i][0] < fields[j][0] })
			s.render(w, http.StatusOK, "confirm.html", confirmPage{App: name, Action: action, Question: question, Fields: fields})
			return
		}
		// The action outlives a closed tab: it runs to its end as the CLI's would.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 15*time.Minute)
		defer cancel()
		if err := run(ctx); err != nil {
			s.fail(w, fmt.Errorf("%s %s: %w", action, name, err))
			return
		}
		http.Redirect(w, r, "/apps/"+name+"?done="+action, http.StatusSeeOther)
	}
}

func (s *Server) apiApps(w http.ResponseWriter, r *http.Request) {
	apps, err := s.Src.Apps(r.Context())
	if err != nil {
		writeJSONError(w, err)
		return
	}
	writeJSON(w, apps)
}

func (s *Server) apiApp(w http.ResponseWriter, r *http.Request) {
	a, err := s.Src.App(r.Context(), r.PathValue("name"))
	if err != nil {
		writeJSONError(w, err)
		return
	}
	writeJSON(w, a)
}

func (s *Server) apiStats(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	st, err := s.Src.Stats(ctx, r.PathValue("name"))
	if err != nil {
		writeJSONError(w, err)
		return
	}
	writeJSON(w, st)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func writeJSONError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	code := "error"
	if errors.Is(err, ErrNoApp) {
		status, code = http.StatusNotFound, "not_found"
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": err.Error()}})
}

// ago says how long ago t was, for people.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return t.Format("2006-01-02")
}
