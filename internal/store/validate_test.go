package store

import (
	"strings"
	"testing"
)

func TestValidateSettings(t *testing.T) {
	good := App{Name: "shop", Port: 8000, Replicas: 1, Probe: "/healthz?full=1"}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		mut  func(a *App)
		want string
	}{
		{func(a *App) { a.Probe = "healthz" }, "--probe"},
		{func(a *App) { a.Probe = "" }, "--probe"},
		{func(a *App) { a.Probe = "//evil.example/x" }, "--probe"},
		{func(a *App) { a.Probe = "/a b" }, "--probe"},
		{func(a *App) { a.Probe = "/a#frag" }, "--probe"},
		{func(a *App) { a.Probe = "/" + strings.Repeat("a", 2000) }, "--probe"},
		{func(a *App) { a.Replicas = 100 }, "--replicas"},
		{func(a *App) { a.Replicas = 0 }, "--replicas"},
		{func(a *App) { a.Port = 0 }, "--port"},
		{func(a *App) { a.Port = 70000 }, "--port"},
		{func(a *App) { a.Name = "Shop" }, "app name"},
	} {
		a := good
		c.mut(&a)
		err := a.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error naming %s", a, err, c.want)
		}
	}
}

// A value that failed validation is never stored: the app keeps its last good settings.
func TestPutRefusesInvalidSettings(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a := &App{Name: "shop", Port: 8000, Replicas: 1, Probe: "/"}
	if err := s.Put(a); err != nil {
		t.Fatal(err)
	}
	a.Probe, a.Replicas = "healthz", 100
	if err := s.Put(a); err == nil {
		t.Fatal("stored a probe without a leading slash")
	}
	got, err := s.Get("shop")
	if err != nil || got.Probe != "/" || got.Replicas != 1 {
		t.Errorf("stored %+v %v", got, err)
	}
}
