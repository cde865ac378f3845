package gateway

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// appServer is a replica with the behaviours a proxy must pass through untouched; it
// counts the connections the gateway opens to it.
func appServer(t *testing.T, conns *atomic.Int64, idle time.Duration) *httptest.Server {
	t.Helper()
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/headers", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("X-App", "yes")
		w.Header().Add("Set-Cookie", "a=1; Path=/")
		w.Header().Add("Set-Cookie", "b=2; HttpOnly")
		w.Header().Add("X-Multi", "1")
		w.Header().Add("X-Multi", "2")
		for _, k := range []string{"Connection", "Keep-Alive", "X-Hop", "X-Kept", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "User-Agent"} {
			fmt.Fprintf(w, "%s=%q\n", k, r.Header.Get(k))
		}
		fmt.Fprintf(w, "proto=%s\n", r.Proto)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1048576")
		w.Write([]byte(strings.Repeat("x", 1<<20)))
	})
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < 100; i++ {
			fmt.Fprintf(w, "line %d\n", i)
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		<-release // the client must see the first event before the app goes on
		fmt.Fprint(w, "data: second\n\n")
	})
	mux.HandleFunc("/release", func(w http.ResponseWriter, r *http.Request) { close(release) })
	mux.HandleFunc("/upload", func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		fmt.Fprintf(w, "%d %s", n, hex.EncodeToString(h.Sum(nil)))
	})
	s := httptest.NewUnstartedServer(mux)
	s.Config.IdleTimeout = idle
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew && conns != nil {
			conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func oneApp(t *testing.T, s *httptest.Server) (*Gateway, string) {
	g := New(io.Discard)
	g.Load(&Routes{Version: 1, Apps: map[string]AppRoutes{"web": {Revisions: map[string][]string{"web--a": {addr(s)}}, Weights: map[string]int{"web--a": 100}}}})
	return g, serve(t, g)
}

func do(t *testing.T, method, url, host string, body io.Reader, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, body)
	req.Host = host
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// TestBodiesAndConnectionReuse: fixed-length, chunked and empty (HEAD) bodies pass
// through whole, and the gateway keeps one connection to the app for a client that
// sends one request after another.
func TestBodiesAndConnectionReuse(t *testing.T) {
	var conns atomic.Int64
	s := appServer(t, &conns, 0)
	_, gw := oneApp(t, s)
	for i := 0; i < 30; i++ {
		resp, body := do(t, "GET", gw+"/big", "web.localhost", nil)
		if resp.StatusCode != 200 || len(body) != 1<<20 || resp.ContentLength != 1<<20 {
			t.Fatalf("big: %d, %d bytes, length %d", resp.StatusCode, len(body), resp.ContentLength)
		}
		resp, body = do(t, "GET", gw+"/chunked", "web.localhost", nil)
		if !strings.HasSuffix(body, "line 99\n") || strings.Count(body, "\n") != 100 || resp.ContentLength != -1 {
			t.Fatalf("chunked (length %d): %q", resp.ContentLength, body)
		}
		resp, body = do(t, "HEAD", gw+"/big", "web.localhost", nil)
		if resp.StatusCode != 200 || body != "" || resp.ContentLength != 1<<20 {
			t.Fatalf("head: %d %q length %d", resp.StatusCode, body, resp.ContentLength)
		}
	}
	if n := conns.Load(); n > 2 {
		t.Errorf("90 requests one after another opened %d connections to the app", n)
	}
}

// TestIdleConnectionClosedByApp: the app closes idle keep-alive connections sooner
// than the gateway's pool would; a POST with a body after the pause still goes
// through (nothing is written to a closed connection, so nothing is replayed).
func TestIdleConnectionClosedByApp(t *testing.T) {
	var conns atomic.Int64
	s := appServer(t, &conns, 100*time.Millisecond)
	_, gw := oneApp(t, s)
	for i := 0; i < 4; i++ {
		resp, body := do(t, "POST", gw+"/upload", "web.localhost", strings.NewReader("hello"))
		if resp.StatusCode != 200 || !strings.HasPrefix(body, "5 ") {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, body)
		}
		time.Sleep(300 * time.Millisecond)
	}
	if conns.Load() < 4 {
		t.Errorf("the app closed its idle connections, yet only %d were opened", conns.Load())
	}
}

// TestStreams: an event stream reaches the client event by event, and a large upload
// reaches the app whole, without either being buffered in the gateway first.
func TestStreams(t *testing.T) {
	s := appServer(t, nil, 0)
	g, gw := oneApp(t, s)
	req, _ := http.NewRequest("GET", gw+"/events", nil)
	req.Host = "web.localhost"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "data: first\n" {
		t.Fatalf("first event: %q %v", line, err)
	}
	if n := g.Inflight()[addr(s)]; n != 1 {
		t.Errorf("in flight during a stream: %d", n)
	}
	do(t, "GET", gw+"/release", "web.localhost", nil)
	rest, _ := io.ReadAll(br)
	resp.Body.Close()
	if string(rest) != "\ndata: second\n\n" {
		t.Errorf("rest of the stream: %q", rest)
	}
	deadline := time.Now().Add(2 * time.Second)
	for g.Inflight()[addr(s)] != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := g.Inflight()[addr(s)]; n != 0 {
		t.Errorf("in flight after the stream: %d", n)
	}

	data := strings.Repeat("0123456789abcdef", 1<<20) // 16 MB, over fasthttp's 4 MB default limit
	sum := sha256.Sum256([]byte(data))
	want := fmt.Sprintf("%d %s", len(data), hex.EncodeToString(sum[:]))
	if resp, body := do(t, "POST", gw+"/upload", "web.localhost", strings.NewReader(data)); resp.StatusCode != 200 || body != want {
		t.Errorf("upload of known length: %d %q", resp.StatusCode, body)
	}
	// A form with a file: the app gets the bytes the client sent, not a form parsed
	// and encoded again.
	form := "a preamble\r\n--XyZ\r\ncontent-type: application/octet-stream\r\ncontent-disposition: form-data; name=\"f\"; filename=\"a.bin\"\r\n\r\n" +
		data[:1<<20] + "\r\n--XyZ--\r\n"
	fsum := sha256.Sum256([]byte(form))
	if resp, body := do(t, "POST", gw+"/upload", "web.localhost", strings.NewReader(form), "Content-Type", "multipart/form-data; boundary=XyZ"); resp.StatusCode != 200 ||
		body != fmt.Sprintf("%d %s", len(form), hex.EncodeToString(fsum[:])) {
		t.Errorf("multipart upload: %d %q", resp.StatusCode, body)
	}
	// Chunked: no length known in advance.
	if resp, body := do(t, "POST", gw+"/upload", "web.localhost", io.MultiReader(strings.NewReader(data))); resp.StatusCode != 200 || body != want {
		t.Errorf("chunked upload: %d %q", resp.StatusCode, body)
	}
}

// TestHopByHopAndForwardedHeaders: headers about one connection stop at the gateway,
// in both directions; the X-Forwarded-* a client sends are replaced, not trusted.
func TestHopByHopAndForwardedHeaders(t *testing.T) {
	s := appServer(t, nil, 0)
	_, gw := oneApp(t, s)
	resp, body := do(t, "GET", gw+"/headers", "web.localhost:8080", nil,
		"Connection", "X-Hop", "X-Hop", "1", "X-Kept", "2", "Keep-Alive", "timeout=9",
		"X-Forwarded-For", "6.6.6.6", "X-Forwarded-Host", "evil", "X-Forwarded-Proto", "https")
	for _, want := range []string{`X-Hop=""`, `X-Kept="2"`, `Keep-Alive=""`, `X-Forwarded-For="127.0.0.1"`,
		`X-Forwarded-Host="web.localhost:8080"`, `X-Forwarded-Proto="http"`, `User-Agent="Go-http-client/1.1"`, "proto=HTTP/1.1"} {
		if !strings.Contains(body, want) {
			t.Errorf("the app saw %q, want %s", body, want)
		}
	}
	if c := resp.Header.Values("Set-Cookie"); len(c) != 2 || c[0] != "a=1; Path=/" || c[1] != "b=2; HttpOnly" {
		t.Errorf("cookies: %q", c)
	}
	if m := resp.Header.Values("X-Multi"); len(m) != 2 {
		t.Errorf("repeated header: %q", m)
	}
	if resp.Header.Get("Keep-Alive") != "" || resp.Header.Get("X-App") != "yes" {
		t.Errorf("response headers: %v", resp.Header)
	}
	// HTTP/1.0 and "Connection: close" end the client's connection, not the app's.
	conn, err := net.Dial("tcp", strings.TrimPrefix(gw, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "GET /headers HTTP/1.0\r\nHost: web.localhost\r\n\r\n")
	b, err := io.ReadAll(conn) // the gateway closes after one response
	if err != nil || !strings.Contains(string(b), "proto=HTTP/1.1") || !strings.Contains(string(b), `Connection=""`) {
		t.Errorf("HTTP/1.0 request: %v %q", err, b)
	}
}

// TestRequestURIUnchanged: the app routes on the path the client sent, byte for byte:
// no dot segments removed, no slashes merged, no escapes decoded.
func TestRequestURIUnchanged(t *testing.T) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.RequestURI) }))
	defer s.Close()
	_, gw := oneApp(t, s)
	for _, uri := range []string{"/a/./b/../c//d%2Fe?q=%20x&r=%2F", "/%E2%82%AC/x;y=1", "/static/app.js?v=1"} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(gw, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: web.localhost\r\nConnection: close\r\n\r\n", uri)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		conn.Close()
		if string(b) != uri {
			t.Errorf("sent %s, the app saw %s", uri, b)
		}
	}
}

// TestOversizedHeaders: a header block over the gateway's buffer gets an answer that
// says where it stopped, from either side, instead of a dropped connection, and the
// answer does not quote the headers back.
func TestOversizedHeaders(t *testing.T) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big-header" {
			w.Header().Set("X-Big", strings.Repeat("b", 40<<10))
		}
		io.WriteString(w, "ok")
	}))
	defer s.Close()
	_, gw := oneApp(t, s)
	resp, body := do(t, "GET", gw+"/", "web.localhost", nil, "X-Big", strings.Repeat("a", 40<<10), "Cookie", "session=s3cret")
	if resp.StatusCode < 400 || resp.StatusCode >= 500 || !strings.Contains(body, "pyship gateway") || strings.Contains(body, "s3cret") {
		t.Errorf("40 kB request header: %d %q", resp.StatusCode, body)
	}
	resp, body = do(t, "GET", gw+"/big-header", "web.localhost", nil)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "pyship gateway") || strings.Contains(body, "bbbb") {
		t.Errorf("40 kB response header: %d %q", resp.StatusCode, body)
	}
	if resp, body := do(t, "GET", gw+"/", "web.localhost", nil, "X-Fine", strings.Repeat("c", 16<<10)); resp.StatusCode != 200 || body != "ok" {
		t.Errorf("16 kB request header: %d %q", resp.StatusCode, body)
	}
}

// TestUpgradeEndsWithEitherSide: when the client leaves a WebSocket, the session
// ends even if the app keeps its side open and silent, so the replica stops counting
// as busy and a drain can finish.
func TestUpgradeEndsWithEitherSide(t *testing.T) {
	appSawEnd, release := make(chan struct{}), make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, rw, _ := w.(http.Hijacker).Hijack()
		defer conn.Close()
		rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		rw.Flush()
		io.Copy(io.Discard, rw)
		close(appSawEnd)
		<-release // and keeps its side open, writing nothing
	}))
	defer s.Close()
	defer close(release)
	g, gw := oneApp(t, s)
	conn, err := net.Dial("tcp", strings.TrimPrefix(gw, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(conn, "GET /ws HTTP/1.1\r\nHost: web.localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	if resp, err := http.ReadResponse(bufio.NewReader(conn), nil); err != nil || resp.StatusCode != 101 {
		t.Fatalf("%v %v", resp, err)
	}
	if n := g.Inflight()[addr(s)]; n != 1 {
		t.Errorf("in flight during the session: %d", n)
	}
	conn.Close()
	select {
	case <-appSawEnd:
	case <-time.After(5 * time.Second):
		t.Fatal("the app never learnt that the client left")
	}
	deadline := time.Now().Add(2 * time.Second)
	for g.Inflight()[addr(s)] != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := g.Inflight()[addr(s)]; n != 0 {
		t.Errorf("in flight after the session: %d", n)
	}
}

// TestReplicaLeavingTheTableStaysCounted: right after a switch, the replica that left
// still shows in Inflight (a request may have picked it from the previous table), so
// a drain sees a request that counts itself late.
func TestReplicaLeavingTheTableStaysCounted(t *testing.T) {
	g := New(io.Discard)
	g.Load(&Routes{Version: 1, Apps: map[string]AppRoutes{"web": {Revisions: map[string][]string{"web--1": {"127.0.0.1:1"}}, Weights: map[string]int{"web--1": 100}}}})
	p, _ := g.route(headerFor("web.localhost"))
	g.Load(&Routes{Version: 2, Apps: map[string]AppRoutes{"web": {Revisions: map[string][]string{"web--2": {"127.0.0.1:2"}}, Weights: map[string]int{"web--2": 100}}}})
	p.b.inflight.Add(1) // the late request
	if n, ok := g.Inflight()["127.0.0.1:1"]; !ok || n != 1 {
		t.Errorf("the old replica after the switch: %d, listed %v", n, ok)
	}
	p.b.inflight.Add(-1)
}

func headerFor(host string) *fasthttp.RequestHeader {
	var h fasthttp.RequestHeader
	h.SetHost(host)
	return &h
}
