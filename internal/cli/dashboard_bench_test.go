package cli

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pyship/pyship/internal/dashboard"
	"github.com/pyship/pyship/internal/store"
)

// BenchmarkDashboardApps: the apps list as pyship dashboard serves it, read from a
// real state directory of 20 apps with 50 revisions each (no engine answers: the
// replicas' column is what the engine adds); the goal is under 200 ms.
func BenchmarkDashboardApps(b *testing.B) {
	b.Setenv("DOCKER_HOST", "unix://"+b.TempDir()+"/none.sock")
	dir := b.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for a := range 20 {
		app := &store.App{Name: fmt.Sprintf("app%02d", a), Port: 8000, Probe: "/", Replicas: 2, Env: map[string]string{}, Secrets: map[string]string{}, Created: t0}
		for r := range 50 {
			spec := store.Spec{Image: "sha256:" + strings.Repeat("ab", 32), Env: map[string]string{"GREETING": fmt.Sprint(r)}, Port: 8000, Probe: "/", Replicas: 2}
			app.Revisions = append(app.Revisions, store.Revision{Name: app.Name + "--" + spec.Hash(), Spec: spec, State: store.Retired, Created: t0.Add(time.Duration(r) * time.Minute)})
		}
		app.Revisions[49].State = store.Ready
		app.Live = app.Revisions[49].Name
		if err := st.Put(app); err != nil {
			b.Fatal(err)
		}
	}
	s := &dashboard.Server{Src: &dashboardSource{g: &globals{}, pf: platformFlags{state: dir}}, Token: "t", Addr: "127.0.0.1:7080"}
	h := s.Handler()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Host = "127.0.0.1:7080"
		req.AddCookie(&http.Cookie{Name: "pyship_dashboard_7080", Value: "t"})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 || !strings.Contains(w.Body.String(), "app19") {
			b.Fatalf("%d\n%s", w.Code, w.Body.String())
		}
	}
}
