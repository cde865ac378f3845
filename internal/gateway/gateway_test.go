package gateway

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func backendServer(t *testing.T, body string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "websocket" {
			hj, _ := w.(http.Hijacker)
			conn, rw, _ := hj.Hijack()
			defer conn.Close()
			rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
			rw.Flush()
			line, _ := rw.ReadString('\n')
			rw.WriteString("echo:" + line)
			rw.Flush()
			return
		}
		if d := r.URL.Query().Get("sleep"); d != "" {
			t, _ := time.ParseDuration(d)
			time.Sleep(t)
		}
		fmt.Fprintf(w, "%s xff=%s proto=%s host=%s", body, r.Header.Get("X-Forwarded-For"), r.Header.Get("X-Forwarded-Proto"), r.Host)
	}))
	t.Cleanup(s.Close)
	return s
}

// serve runs g on a loopback port until the test ends; it returns the base URL.
func serve(t testing.TB, g *Gateway) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go g.Serve(l)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		g.Shutdown(ctx)
	})
	return "http://" + l.Addr().String()
}

func addr(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "http://") }

func deadAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Addr().String()
	l.Close()
	return a
}

func get(t *testing.T, gw string, host, path string, cookies ...*http.Cookie) (int, string, *http.Response) {
	t.Helper()
	req, _ := http.NewRequest("GET", gw+path, nil)
	req.Host = host
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp
}

func TestRoutingBalancingAndHeaders(t *testing.T) {
	a1, a2, b1 := backendServer(t, "web-1"), backendServer(t, "web-2"), backendServer(t, "other")
	g := New(io.Discard)
	g.Load(&Routes{Version: 1, Apps: map[string]AppRoutes{
		"web": {Revisions: map[string][]string{"web--aaaa": {addr(a1), addr(a2)}}, Weights: map[string]int{"web--aaaa": 100}},
		"api": {Revisions: map[string][]string{"api--bbbb": {addr(b1)}, "api--cccc": {addr(a1)}}, Weights: map[string]int{"api--bbbb": 100}},
	}})
	gw := serve(t, g)
	seen := map[string]int{}
	for i := 0; i < 10; i++ {
		code, body, _ := get(t, gw, "web.localhost:8080", "/")
		if code != 200 {
			t.Fatalf("%d %s", code, body)
		}
		seen[strings.Fields(body)[0]]++
		if !strings.Contains(body, "xff=127.0.0.1") || !strings.Contains(body, "proto=http") || !strings.Contains(body, "host=web.localhost:8080") {
			t.Errorf("forwarded headers: %s", body)
		}
	}
	if seen["web-1"] != 5 || seen["web-2"] != 5 {
		t.Errorf("round robin: %v", seen)
	}
	if _, body, _ := get(t, gw, "cccc---api.localhost", "/"); !strings.HasPrefix(body, "web-1") {
		t.Errorf("revision host reached %q", body)
	}
	if _, body, _ := get(t, gw, "api.localhost", "/"); !strings.HasPrefix(body, "other") {
		t.Errorf("weights: %q", body)
	}
	for _, host := range []string{"nosuch.localhost", "example.com", "zzzz---api.localhost"} {
		if code, _, _ := get(t, gw, host, "/"); code != 404 {
			t.Errorf("%s: %d", host, code)
		}
	}
}

func TestRetryOnRefusedConnection(t *testing.T) {
	live := backendServer(t, "live")
	g := New(io.Discard)
	g.Load(&Routes{Version: 1, Apps: map[string]AppRoutes{"web": {
		Revisions: map[string][]string{"web--a": {deadAddr(t), addr(live)}}, Weights: map[string]int{"web--a": 100}}}})
	gw := serve(t, g)
	for i := 0; i < 20; i++ {
		if code, body, _ := get(t, gw, "web.localhost", "/"); code != 200 || !strings.HasPrefix(body, "live") {
			t.Fatalf("request %d: %d %s", i, code, body)
		}
	}
	// A refused connection never reached an app: a POST with a body goes on too.
	for i := 0; i < 4; i++ {
		if resp, _ := do(t, "POST", gw, "web.localhost", strings.NewReader("data")); resp.StatusCode != 200 {
			t.Errorf("POST %d: %d", i, resp.StatusCode)
		}
	}
}

// TestNoReplayAfterReset: a replica that resets the connection after reading a
// request may have acted on it; a GET goes to another replica, a POST does not.
func TestNoReplayAfterReset(t *testing.T) {
	var posts, reset atomic.Int64
	live := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" {
			posts.Add(1)
		}
		io.WriteString(w, "live")
	}))
	defer live.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				b := make([]byte, 4096)
				n, _ := c.Read(b)
				if strings.HasPrefix(string(b[:n]), "POST ") {
					reset.Add(1)
				}
				c.(*net.TCPConn).SetLinger(0) // close with a reset
				c.Close()
			}()
		}
	}()
	g := New(io.Discard)
	g.Load(&Routes{Version: 1, Apps: map[string]AppRoutes{"web": {
		Revisions: map[string][]string{"web--a": {l.Addr().String(), addr(live)}}, Weights: map[string]int{"web--a": 100}}}})
	gw := serve(t, g)
	gets, bad := 0, 0
	for i := 0; i < 8; i++ {
		if code, _, _ := get(t, gw, "web.localhost", "/"); code == 200 {
			gets++
		}
		if resp, _ := do(t, "POST", gw, "web.localhost", strings.NewReader("data")); resp.StatusCode == http.StatusBadGateway {
			bad++
		}
	}
	if gets != 8 {
		t.Errorf("%d of 8 GETs answered", gets)
	}
	// Every POST the resetting replica read failed, and none of them reached the other.
	if reset.Load() == 0 || int64(bad) != reset.Load() || posts.Load() != 8-reset.Load() {
		t.Errorf("the resetting replica read %d POSTs, %d failed, the live one got %d", reset.Load(), bad, posts.Load())
	}
}

func TestStickyWeights(t *testing.T) {
	v1, v2 := backendServer(t, "v1"), backendServer(t, "v2")
	g := New(io.Discard)
	g.Load(&Routes{Version: 1, Apps: map[string]AppRoutes{"web": {
		Revisions: map[string][]string{"web--1": {addr(v1)}, "web--2": {addr(v2)}}, Weights: map[string]int{"web--1": 50, "web--2": 50}}}})
	gw := serve(t, g)
	counts := map[string]int{}
	for i := 0; i < 200; i++ {
		_, body, resp := get(t, gw, "web.localhost", "/")
		counts[strings.Fields(body)[0]]++
		if i == 0 {
			c := resp.Cookies()
			if len(c) != 1 {
				t.Fatalf("no sticky cookie: %v", resp.Header)
			}
			first := strings.Fields(body)[0]
			for j := 0; j < 10; j++ {
				if _, b, _ := get(t, gw, "web.localhost", "/", c[0]); strings.Fields(b)[0] != first {
					t.Fatalf("the cookie did not keep the client on %s", first)
				}
			}
		}
	}
	if counts["v1"] < 60 || counts["v2"] < 60 {
		t.Errorf("50/50 split gave %v", counts)
	}
}

func TestWebSocketUpgrade(t *testing.T) {
	b := backendServer(t, "ws")
	g := New(io.Discard)
	g.Load(&Routes{Version: 1, Apps: map[string]AppRoutes{"web": {Revisions: map[string][]string{"web--a": {addr(b)}}, Weights: map[string]int{"web--a": 100}}}})
	gw := serve(t, g)
	conn, err := net.Dial("tcp", strings.TrimPrefix(gw, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: web.localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("%v %v", resp, err)
	}
	if resp.Header.Get("Upgrade") != "websocket" || !strings.EqualFold(resp.Header.Get("Connection"), "upgrade") {
		t.Errorf("the 101 lost its upgrade headers: %v", resp.Header)
	}
	fmt.Fprintf(conn, "hello\n")
	line, _ := br.ReadString('\n')
	if line != "echo:hello\n" {
		t.Errorf("got %q", line)
	}
}

// TestSwitchUnderLoad: clients hammer the gateway while the table switches from v1 to
// v2 and v1 is drained and shut down: no request fails, and afterwards only v2 answers.
func TestSwitchUnderLoad(t *testing.T) {
	v1, v2 := backendServer(t, "v1"), backendServer(t, "v2")
	g := New(io.Discard)
	g.Load(&Routes{Version: 1, Apps: map[string]AppRoutes{"web": {Revisions: map[string][]string{"web--1": {addr(v1)}}, Weights: map[string]int{"web--1": 100}}}})
	gw := serve(t, g)
	var ok, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("GET", gw+"/?sleep=2ms", nil)
				req.Host = "web.localhost"
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
				} else {
					ok.Add(1)
				}
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	g.Load(&Routes{Version: 2, Apps: map[string]AppRoutes{"web": {Revisions: map[string][]string{"web--2": {addr(v2)}}, Weights: map[string]int{"web--2": 100}}}})
	deadline := time.Now().Add(5 * time.Second)
	for g.Inflight()[addr(v1)] > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	v1.Close() // drained: stop the old revision
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	if failed.Load() != 0 || ok.Load() < 100 {
		t.Fatalf("%d ok, %d failed", ok.Load(), failed.Load())
	}
	if _, body, _ := get(t, gw, "web.localhost", "/"); !strings.HasPrefix(body, "v2") {
		t.Errorf("after the switch: %s", body)
	}
}

func TestRoutesFileRoundTrip(t *testing.T) {
	p := t.TempDir() + "/routes.json"
	r, err := ReadRoutes(p)
	if err != nil || len(r.Apps) != 0 {
		t.Fatalf("%v %+v", err, r)
	}
	want := &Routes{Version: 7, Apps: map[string]AppRoutes{"web": {Revisions: map[string][]string{"web--1": {"127.0.0.1:1"}}, Weights: map[string]int{"web--1": 100}}}}
	if err := WriteRoutes(p, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadRoutes(p)
	if err != nil || got.Version != 7 || got.Apps["web"].Weights["web--1"] != 100 {
		t.Fatalf("%v %+v", err, got)
	}
}
