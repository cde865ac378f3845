package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestTrafficWindow(t *testing.T) {
	var tr traffic
	t0 := time.Unix(1_800_000_000, 0)
	for i := range 30 {
		tr.add("web--aaaa", 200, t0.Add(time.Duration(i)*time.Second))
	}
	tr.add("web--bbbb", 503, t0.Add(29*time.Second))
	tr.add("-", 404, t0) // no route: no app
	got := tr.snapshot(t0.Add(29 * time.Second))
	if w := got["web"]; w.Requests != 31 || w.Errors != 1 || w.PerSecond != 31.0/60 || w.ErrorRate != 1.0/31 || len(got) != 1 {
		t.Errorf("after 30 s: %+v", got)
	}
	// 45 s later the first 15 seconds have left the minute.
	if w := tr.snapshot(t0.Add(74 * time.Second))["web"]; w.Requests != 16 || w.Errors != 1 {
		t.Errorf("after 75 s: %+v", w)
	}
	if got := tr.snapshot(t0.Add(10 * time.Minute)); len(got) != 0 {
		t.Errorf("an idle app is left out: %+v", got)
	}
	// A bucket reused a minute later starts from nothing.
	tr.add("web--aaaa", 200, t0.Add(60*time.Second))
	if w := tr.snapshot(t0.Add(60 * time.Second))["web"]; w.Requests != 31 {
		t.Errorf("a reused bucket: %+v", w)
	}
}

// TestTrafficThroughTheGateway: the gateway counts each app's answers as it proxies
// them, 5xx apart.
func TestTrafficThroughTheGateway(t *testing.T) {
	ok := backendServer(t, "ok")
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	t.Cleanup(failing.Close)
	g := New(io.Discard)
	g.Load(&Routes{Version: 1, Apps: map[string]AppRoutes{
		"web": {Revisions: map[string][]string{"web--aaaa": {addr(ok)}}, Weights: map[string]int{"web--aaaa": 100}},
		"api": {Revisions: map[string][]string{"api--bbbb": {addr(failing)}}, Weights: map[string]int{"api--bbbb": 100}},
	}})
	gw := serve(t, g)
	for range 3 {
		get(t, gw, "web.localhost", "/")
	}
	get(t, gw, "api.localhost", "/")
	get(t, gw, "nosuch.localhost", "/")
	got := g.Traffic()
	if got["web"].Requests != 3 || got["web"].Errors != 0 || got["api"].Requests != 1 || got["api"].ErrorRate != 1 || len(got) != 2 {
		t.Errorf("traffic %+v", got)
	}
}
