package gateway

import (
	"io"
	"strconv"
	"strings"
	"testing"
)

// An app that exists but serves nothing (its first deploy failed) gets 503 naming the
// app, its failed revision and the command that says why; an unknown app gets 404.
func TestIdleAppIs503(t *testing.T) {
	g := New(io.Discard)
	g.Load(&Routes{Version: 1, Apps: map[string]AppRoutes{
		"web":  {Revisions: map[string][]string{}, Weights: map[string]int{}, Idle: &Idle{Revision: "web--1234abcd", State: "failed"}},
		"slow": {Revisions: map[string][]string{}, Weights: map[string]int{}, Idle: &Idle{Revision: "slow--9", State: "provisioning"}},
		"gone": {Revisions: map[string][]string{"gone--1": {}}, Weights: map[string]int{"gone--1": 100}},
	}})
	gw := serve(t, g)
	for host, want := range map[string][]string{
		"web.localhost":  {"503", `app "web" is not serving`, "web--1234abcd", "pyship revisions web"},
		"slow.localhost": {"503", "slow--9 is starting"},
		"gone.localhost": {"503", "no ready replica"},
		"nope.localhost": {"404", `no app "nope" is deployed`},
	} {
		code, body, _ := get(t, gw, host, "/")
		got := strconv.Itoa(code) + " " + body
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %s, want %q", host, got, w)
			}
		}
		if strings.Contains(body, "no app") && host != "nope.localhost" {
			t.Errorf("%s: a known app is called unknown: %s", host, body)
		}
	}
}
