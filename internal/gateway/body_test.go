package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestClientBodyFaultIsTheClients: a request body the client botches (a malformed
// chunk, a body cut short) is answered 400 by the gateway, not a 502 that blames the
// revision; the log says 400, no other replica is tried, and the replica serves the
// next request as before.
func TestClientBodyFaultIsTheClients(t *testing.T) {
	var got atomic.Int64
	app := func() *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got.Add(1)
			io.Copy(io.Discard, r.Body)
			io.WriteString(w, "ok")
		}))
		t.Cleanup(s.Close)
		return s
	}
	r1, r2 := app(), app()
	var log lockedBuffer
	g := New(&log)
	g.Load(&Routes{Version: 1, Apps: map[string]AppRoutes{"web": {Revisions: map[string][]string{"web--a": {addr(r1), addr(r2)}}, Weights: map[string]int{"web--a": 100}}}})
	gw := serve(t, g)
	for _, c := range []struct{ name, head, body string }{
		{"bad chunk size", "Transfer-Encoding: chunked", "zz\r\nhello\r\n0\r\n\r\n"},
		{"bad chunk after a good one", "Transfer-Encoding: chunked", "5\r\nhello\r\n5\r\nworldXX\r\n0\r\n\r\n"},
		{"chunked body cut short", "Transfer-Encoding: chunked", "5\r\nhel"},
		{"body shorter than its length", "Content-Length: 100", "only this"},
	} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(gw, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(conn, "POST /upload HTTP/1.1\r\nHost: web.localhost\r\n"+c.head+"\r\n\r\n")
		time.Sleep(10 * time.Millisecond) // the body arrives after the headers, as a stream
		io.WriteString(conn, c.body)
		conn.(*net.TCPConn).CloseWrite() // the client sends nothing more
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		b, _ := io.ReadAll(resp.Body)
		conn.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(b), "pyship gateway: bad request") || strings.Contains(string(b), "did not answer") {
			t.Errorf("%s: %d %q", c.name, resp.StatusCode, b)
		}
	}
	if n := got.Load(); n > 4 {
		t.Errorf("four broken bodies reached the replicas %d times: another replica was tried", n)
	}
	for _, l := range strings.Split(strings.TrimSpace(log.String()), "\n") {
		if !strings.Contains(l, " POST /upload 400 ") {
			t.Errorf("log line %q", l)
		}
	}
	for _, a := range []string{addr(r1), addr(r2)} {
		if n := g.Inflight()[a]; n != 0 {
			t.Errorf("%s in flight after the requests: %d", a, n)
		}
	}
	before := got.Load()
	for i := 0; i < 2; i++ {
		if resp, body := do(t, "POST", gw+"/upload", "web.localhost", io.MultiReader(strings.NewReader("fine"))); resp.StatusCode != 200 || body != "ok" {
			t.Errorf("a good chunked POST after the bad ones: %d %q", resp.StatusCode, body)
		}
	}
	if got.Load() != before+2 {
		t.Errorf("the replicas got %d of 2 good requests", got.Load()-before)
	}
}

// TestNoReplayOfAStreamedBody: a PUT whose body streamed to a replica that then reset
// the connection is not sent again to another replica: its body is spent (it went
// out empty), and the app may have acted on it.
func TestNoReplayOfAStreamedBody(t *testing.T) {
	var puts atomic.Int64
	live := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		puts.Add(1)
		io.Copy(io.Discard, r.Body)
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
				br := bufio.NewReader(c)
				if req, err := http.ReadRequest(br); err == nil {
					io.Copy(io.Discard, req.Body) // reads the whole request, then resets
				}
				c.(*net.TCPConn).SetLinger(0)
				c.Close()
			}()
		}
	}()
	g := New(io.Discard)
	// Round robin starts at the second replica: the resetting one.
	g.Load(&Routes{Version: 1, Apps: map[string]AppRoutes{"web": {
		Revisions: map[string][]string{"web--a": {addr(live), l.Addr().String()}}, Weights: map[string]int{"web--a": 100}}}})
	gw := serve(t, g)
	conn, err := net.Dial("tcp", strings.TrimPrefix(gw, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(conn, "PUT /doc HTTP/1.1\r\nHost: web.localhost\r\nTransfer-Encoding: chunked\r\n\r\n")
	time.Sleep(10 * time.Millisecond) // the body is not in the gateway's first read
	io.WriteString(conn, "5\r\nhello\r\n0\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusBadGateway || puts.Load() != 0 {
		t.Errorf("answer %d; the other replica got the PUT %d times", resp.StatusCode, puts.Load())
	}
}

// TestUpgradeWithABotchedBody: a protocol switch request whose body the client
// botches is the client's fault too.
func TestUpgradeWithABotchedBody(t *testing.T) {
	b := backendServer(t, "ws")
	_, gw := oneApp(t, b)
	code, body := raw(t, gw, "GET /ws HTTP/1.1\r\nHost: web.localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
	if code != 400 || !strings.Contains(body, "pyship gateway: bad request") {
		t.Errorf("%d %q", code, body)
	}
}
