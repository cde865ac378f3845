package gateway

import (
	"bufio"
	"bytes"
	"fmt"
	"github.com/valyala/fasthttp"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is an access log the test reads while the gateway writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// raw sends one request as bytes on a connection of its own and reads the answer.
func raw(t *testing.T, gw, request string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(gw, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(conn, request)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%q: %v", request, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestAbsoluteFormRoutesByItsAuthority: a request whose target names app b and whose
// Host field names app a goes to b (RFC 9112 §3.2.2: the target's authority wins),
// reaches b naming b in its Host, X-Forwarded-Host and request line, and is logged
// under b; a never hears of it. A target the gateway cannot route by is refused.
func TestAbsoluteFormRoutesByItsAuthority(t *testing.T) {
	var mu sync.Mutex
	seen := map[string][]string{}
	app := func(name string) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			line := fmt.Sprintf("host=%s uri=%s xfh=%s auth=%s", r.Host, r.RequestURI, r.Header.Get("X-Forwarded-Host"), r.Header.Get("Authorization"))
			mu.Lock()
			seen[name] = append(seen[name], line)
			mu.Unlock()
			io.WriteString(w, name+" "+line)
		}))
		t.Cleanup(s.Close)
		return s
	}
	a, b := app("a"), app("b")
	var log lockedBuffer
	g := New(&log)
	g.Load(&Routes{Version: 1, Apps: map[string]AppRoutes{
		"a": {Revisions: map[string][]string{"a--1": {addr(a)}}, Weights: map[string]int{"a--1": 100}},
		"b": {Revisions: map[string][]string{"b--1": {addr(b)}}, Weights: map[string]int{"b--1": 100}},
	}})
	gw := serve(t, g)
	for _, c := range []struct{ request, want string }{
		{"GET http://b.localhost/x/./y?q=%2F HTTP/1.1\r\nHost: a.localhost\r\n\r\n", "b host=b.localhost uri=/x/./y?q=%2F xfh=b.localhost auth="},
		{"GET HTTP://b.localhost:8080 HTTP/1.1\r\nHost: a.localhost\r\n\r\n", "b host=b.localhost:8080 uri=/ xfh=b.localhost:8080 auth="},
		{"GET http://b.localhost?q HTTP/1.1\r\nHost: a.localhost\r\n\r\n", "b host=b.localhost uri=/?q xfh=b.localhost auth="},
		// The scheme names the client's idea of the connection, not the route.
		{"GET https://b.localhost/s HTTP/1.1\r\nHost: a.localhost\r\n\r\n", "b host=b.localhost uri=/s xfh=b.localhost auth="},
		{"POST http://b.localhost/p HTTP/1.1\r\nHost: a.localhost\r\nContent-Length: 2\r\n\r\nhi", "b host=b.localhost uri=/p xfh=b.localhost auth="},
	} {
		if code, body := raw(t, gw, c.request); code != 200 || body != c.want {
			t.Errorf("%q: %d %q, want %q", c.request, code, body, c.want)
		}
	}
	for _, bad := range []string{
		"GET http://user:pw@b.localhost/ HTTP/1.1\r\nHost: a.localhost\r\n\r\n",
		"GET ftp://b.localhost/ HTTP/1.1\r\nHost: a.localhost\r\n\r\n",
		"GET http:///x HTTP/1.1\r\nHost: a.localhost\r\n\r\n",
		"GET http://b.localhost:x/ HTTP/1.1\r\nHost: a.localhost\r\n\r\n",
		"CONNECT b.localhost:80 HTTP/1.1\r\nHost: a.localhost\r\n\r\n",
	} {
		if code, body := raw(t, gw, bad); code != 400 || !strings.Contains(body, "pyship gateway") || strings.Contains(body, "pw") {
			t.Errorf("%q: %d %q", bad, code, body)
		}
	}
	mu.Lock()
	if len(seen["a"]) != 0 {
		t.Errorf("app a received requests meant for b: %q", seen["a"])
	}
	if len(seen["b"]) != 5 {
		t.Errorf("app b received %d requests: %q", len(seen["b"]), seen["b"])
	}
	mu.Unlock()
	// Every line names the app the request went to, never the Host field it ignored.
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	routed := 0
	for _, l := range lines {
		f := strings.Fields(l)
		if strings.Contains(l, "a.localhost") || len(f) < 5 {
			t.Errorf("log line %q", l)
		} else if f[4] == "200" {
			routed++
			if !strings.HasPrefix(f[1], "b.localhost") || !strings.HasSuffix(l, "rev=b--1 backend="+addr(b)) {
				t.Errorf("log line %q", l)
			}
		}
	}
	if routed != 5 {
		t.Errorf("%d routed requests logged:\n%s", routed, log.String())
	}
}

// TestSingleAuthority: the forms a request-target comes in, and what the app gets.
func TestSingleAuthority(t *testing.T) {
	for _, c := range []struct{ method, target, host, wantURI, wantHost string }{
		{"GET", "/a/./b//c%2F?x", "a.localhost", "/a/./b//c%2F?x", "a.localhost"},
		{"OPTIONS", "*", "a.localhost", "*", "a.localhost"},
		{"OPTIONS", "http://b.localhost", "a.localhost", "*", "b.localhost"},
		{"OPTIONS", "http://b.localhost/", "a.localhost", "/", "b.localhost"},
		{"GET", "http://[::1]:8080/p", "a.localhost", "/p", "[::1]:8080"},
		{"GET", "Http://B.localhost/%41", "", "/%41", "B.localhost"},
	} {
		var req fasthttp.Request
		req.Header.SetMethod(c.method)
		req.Header.SetRequestURI(c.target)
		req.Header.SetHost(c.host)
		if err := singleAuthority(&req); err != nil {
			t.Errorf("%s %s: %v", c.method, c.target, err)
			continue
		}
		if uri, host := string(req.Header.RequestURI()), string(req.Header.Host()); uri != c.wantURI || host != c.wantHost {
			t.Errorf("%s %s: target %q host %q, want %q %q", c.method, c.target, uri, host, c.wantURI, c.wantHost)
		}
	}
}

// FuzzSingleAuthority: whatever the target, the result is an origin-form target (or
// *) with one authority in Host, and a second pass changes nothing.
func FuzzSingleAuthority(f *testing.F) {
	for _, s := range []string{"/", "*", "http://b.localhost/x?y", "https://b.localhost", "http://u@b/", "http://b.localhost#f",
		"ftp://x/", "http://[::1]:1/", "http://b.localhost:/", "http://b%2f.localhost/", "x", ""} {
		f.Add("GET", s)
	}
	f.Add("OPTIONS", "http://b.localhost")
	f.Add("CONNECT", "b.localhost:80")
	f.Fuzz(func(t *testing.T, method, target string) {
		var req fasthttp.Request
		req.Header.SetMethod(method)
		req.Header.SetRequestURI(target)
		req.Header.SetHost("a.localhost")
		if singleAuthority(&req) != nil {
			return
		}
		uri, host := string(req.Header.RequestURI()), string(req.Header.Host())
		if !strings.HasPrefix(uri, "/") && uri != "*" {
			t.Fatalf("%q -> target %q", target, uri)
		}
		if host == "" || strings.ContainsAny(host, "@/?# \t\r\n") {
			t.Fatalf("%q -> host %q", target, host)
		}
		if singleAuthority(&req) != nil || string(req.Header.RequestURI()) != uri || string(req.Header.Host()) != host {
			t.Fatalf("%q: a second pass changed %q %q", target, uri, host)
		}
	})
}
