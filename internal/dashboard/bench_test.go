package dashboard

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// bigSource is 20 apps of 50 revisions each, the size the page is held to.
func bigSource() *memSource {
	m := newMemSource()
	m.apps = map[string]*App{}
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for a := range 20 {
		name := fmt.Sprintf("app%02d", a)
		app := &App{Name: name, URL: "http://" + name + ".localhost:8080/", Target: "local", Desired: 2, Ready: 2, Result: "ready", Actions: true, Traffic: map[string]int{}}
		for r := range 50 {
			rev := fmt.Sprintf("%s--%08x", name, r)
			app.Revisions = append(app.Revisions, Revision{Name: rev, State: "retired", Image: "0123456789ab", Created: t0.Add(time.Duration(r) * time.Minute),
				Replicas: 2, Changes: []string{"env GREETING=" + rev, "secret API_KEY changed"}})
		}
		app.Live = app.Revisions[49].Name
		app.Revisions[49].State, app.Revisions[49].Traffic = "ready", 100
		app.Traffic[app.Live] = 100
		for i := range 2 {
			app.Replicas = append(app.Replicas, Replica{Name: fmt.Sprintf("%s-%d", app.Live, i), Revision: app.Live, State: "running", Ready: true, Created: t0})
		}
		m.apps[name] = app
	}
	return m
}

func benchPage(b *testing.B, path string) {
	s := &Server{Src: bigSource(), Token: "t", Addr: "127.0.0.1:7080"}
	h := s.Handler()
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Host = "127.0.0.1:7080"
		req.AddCookie(&http.Cookie{Name: cookiePrefix + "7080", Value: "t"})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("%s: %d", path, w.Code)
		}
	}
}

// BenchmarkAppsPage and BenchmarkAppPage: the server's time to make the apps list and
// the busiest app's page (50 revisions) for 20 apps; the goal is under 200 ms.
func BenchmarkAppsPage(b *testing.B) { benchPage(b, "/") }
func BenchmarkAppPage(b *testing.B)  { benchPage(b, "/apps/app07") }

// BenchmarkLogEvent: from the source handing a line over to the page's event stream
// having it (the server's share of the 250 ms a line may take to reach the page).
func BenchmarkLogEvent(b *testing.B) {
	src := newMemSource()
	src.lines = make(chan LogLine)
	s := &Server{Src: src, Token: "t"}
	srv := httptest.NewUnstartedServer(nil)
	s.Addr = srv.Listener.Addr().String()
	srv.Config.Handler = s.Handler()
	srv.Start()
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/apps/shop/logs", nil)
	req.AddCookie(&http.Cookie{Name: s.cookieName(), Value: "t"})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	line := LogLine{Time: "2026-12-01T10:00:00Z", Revision: "shop--1", Replica: "1", Message: "GET / 200"}
	var worst time.Duration
	for b.Loop() {
		start := time.Now()
		src.lines <- line
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				b.Fatal(err)
			}
			if strings.HasPrefix(l, "data: ") {
				break
			}
		}
		worst = max(worst, time.Since(start))
	}
	b.ReportMetric(float64(worst.Microseconds()), "worst-µs")
}
