package gateway

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"
)

// short are limits a test can watch expire without waiting long.
var short = Limits{HeaderTimeout: 100 * time.Millisecond, IdleTimeout: 100 * time.Millisecond, BodyTimeout: 100 * time.Millisecond, WriteTimeout: 100 * time.Millisecond}

func oneAppWith(t *testing.T, s *httptest.Server, opts ...Option) (*Gateway, string) {
	t.Helper()
	g := New(io.Discard, opts...)
	g.Load(&Routes{Version: 1, Apps: map[string]AppRoutes{"web": {Revisions: map[string][]string{"web--a": {addr(s)}}, Weights: map[string]int{"web--a": 100}}}})
	return g, serve(t, g)
}

func dial(t *testing.T, gw string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(gw, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedWithin reads c until the gateway closes it, and says what it answered (a
// connection still open after d is a failure).
func closedWithin(t *testing.T, c net.Conn, d time.Duration) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	b, err := io.ReadAll(c)
	// A reset is a close too: a server that closes a connection with bytes it did not
	// read (the slowloris client keeps sending) makes the kernel send RST, and the
	// client's read then fails after the answer instead of ending.
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("the gateway kept the connection open (%v) after sending %q", err, b)
	}
	return string(b)
}

// TestSilentConnectionsAreClosed: a connection that sends nothing, one that sends a
// header a byte at a time (slowloris), and a keep-alive connection left idle are
// closed once their time is up.
func TestSilentConnectionsAreClosed(t *testing.T) {
	s := appServer(t, nil, 0)
	_, gw := oneAppWith(t, s, WithLimits(short))

	start := time.Now()
	silent := dial(t, gw)
	if got := closedWithin(t, silent, 5*time.Second); got != "" && !strings.Contains(got, " 408 ") {
		t.Errorf("silent connection: %q", got)
	}
	if d := time.Since(start); d < short.HeaderTimeout {
		t.Errorf("closed after %s, before the header timeout", d)
	}

	slow := dial(t, gw)
	io.WriteString(slow, "GET /headers HTTP/1.1\r\nHost: web.localhost\r\n")
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			if _, err := fmt.Fprintf(slow, "X-%d: y\r\n", i); err != nil {
				return
			}
		}
	}()
	if got := closedWithin(t, slow, 5*time.Second); !strings.Contains(got, " 408 ") {
		t.Errorf("slowloris: %q", got)
	}

	idle := dial(t, gw)
	io.WriteString(idle, "GET /headers HTTP/1.1\r\nHost: web.localhost\r\n\r\n")
	br := bufio.NewReader(idle)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v", resp, err)
	}
	io.Copy(io.Discard, resp.Body)
	idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Errorf("idle keep-alive connection: %q %v", rest, err)
	}
}

// TestLongExchangesOutliveTheTimeouts: an event stream, a WebSocket and an upload
// that each last longer than every timeout keep working while bytes move (or, for
// the stream and the socket, while they wait quietly).
func TestLongExchangesOutliveTheTimeouts(t *testing.T) {
	s := appServer(t, nil, 0)
	lim := short
	lim.BodyTimeout = time.Second // the upload below pauses 25 ms between pieces
	_, gw := oneAppWith(t, s, WithLimits(lim))
	outlast := 4 * short.HeaderTimeout

	events := dial(t, gw)
	io.WriteString(events, "GET /events HTTP/1.1\r\nHost: web.localhost\r\n\r\n")
	br := bufio.NewReader(events)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	sr := bufio.NewReader(resp.Body)
	if line, err := sr.ReadString('\n'); err != nil || line != "data: first\n" {
		t.Fatalf("first event: %q %v", line, err)
	}
	time.Sleep(outlast)
	do(t, "GET", gw+"/release", "web.localhost", nil)
	events.SetReadDeadline(time.Now().Add(5 * time.Second))
	if rest, err := io.ReadAll(sr); err != nil || string(rest) != "\ndata: second\n\n" {
		t.Errorf("the stream after a quiet spell: %q %v", rest, err)
	}

	ws := backendServer(t, "ws")
	_, wgw := oneAppWith(t, ws, WithLimits(short))
	conn := dial(t, wgw)
	io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: web.localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	wbr := bufio.NewReader(conn)
	if resp, err := http.ReadResponse(wbr, nil); err != nil || resp.StatusCode != 101 {
		t.Fatalf("%v %v", resp, err)
	}
	time.Sleep(outlast)
	io.WriteString(conn, "hello\n")
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if line, err := wbr.ReadString('\n'); line != "echo:hello\n" {
		t.Errorf("the WebSocket after a quiet spell: %q %v", line, err)
	}

	pr, pw := io.Pipe()
	go func() {
		for end := time.Now().Add(outlast); time.Now().Before(end); {
			pw.Write([]byte("0123456789"))
			time.Sleep(25 * time.Millisecond)
		}
		pw.Close()
	}()
	resp, body := do(t, "POST", gw+"/upload", "web.localhost", pr)
	if n, _, _ := strings.Cut(body, " "); resp.StatusCode != 200 || n == "0" {
		t.Errorf("slow upload: %d %q", resp.StatusCode, body)
	}
}

// TestStalledBodyIsTheClients: a body that stops arriving is answered 408 once the
// body timeout passes, and logged as such, not as the app's failure.
func TestStalledBodyIsTheClients(t *testing.T) {
	s := appServer(t, nil, 0)
	var log lockedBuffer
	g := New(&log, WithLimits(short))
	g.Load(&Routes{Version: 1, Apps: map[string]AppRoutes{"web": {Revisions: map[string][]string{"web--a": {addr(s)}}, Weights: map[string]int{"web--a": 100}}}})
	gw := serve(t, g)
	c := dial(t, gw)
	io.WriteString(c, "POST /upload HTTP/1.1\r\nHost: web.localhost\r\nTransfer-Encoding: chunked\r\n\r\n")
	time.Sleep(10 * time.Millisecond)
	io.WriteString(c, "5\r\nhello\r\n") // and nothing more
	if got := closedWithin(t, c, 5*time.Second); !strings.HasPrefix(got, "HTTP/1.1 408 ") {
		t.Errorf("stalled body: %q", got)
	}
	if l := log.String(); !strings.Contains(l, " POST /upload 408 ") {
		t.Errorf("log: %q", l)
	}
	if n := g.Inflight()[addr(s)]; n != 0 {
		t.Errorf("in flight after a stalled body: %d", n)
	}
}

// TestClientThatStopsReading: a client that asks for an endless response and reads
// none of it is cut off once a write has waited the write timeout; the app's
// connection is closed and the replica no longer counts it.
func TestClientThatStopsReading(t *testing.T) {
	ended := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(ended)
		buf := make([]byte, 64<<10)
		for {
			if _, err := w.Write(buf); err != nil {
				return
			}
		}
	}))
	defer s.Close()
	g, gw := oneAppWith(t, s, WithLimits(short))
	c := dial(t, gw)
	io.WriteString(c, "GET /forever HTTP/1.1\r\nHost: web.localhost\r\n\r\n")
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		c.Close() // lets the app's writes fail, so the test can end
		t.Fatal("the app is still writing to a client that reads nothing")
	}
	deadline := time.Now().Add(2 * time.Second)
	for g.Inflight()[addr(s)] != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := g.Inflight()[addr(s)]; n != 0 {
		t.Errorf("in flight after the client was cut off: %d", n)
	}
}

// TestConnectionCap: connections over the cap are answered 503 and closed, with one
// line in the operator's log however many are refused, and one when the cap is left.
func TestConnectionCap(t *testing.T) {
	s := appServer(t, nil, 0)
	var notices lockedBuffer
	_, gw := oneAppWith(t, s, WithLimits(Limits{MaxConns: 3, HeaderTimeout: time.Minute}), WithNotices(&notices))
	var held []net.Conn
	for i := 0; i < 3; i++ {
		held = append(held, dial(t, gw)) // silent, and within the header timeout
	}
	for i := 0; i < 4; i++ {
		if got := closedWithin(t, dial(t, gw), 5*time.Second); !strings.HasPrefix(got, "HTTP/1.1 503 ") || !strings.Contains(got, "too many connections") {
			t.Errorf("connection over the cap: %q", got)
		}
	}
	if n := strings.Count(notices.String(), "\n"); n != 1 || !strings.Contains(notices.String(), "3 client connections are open, the limit") {
		t.Errorf("notices after 4 refused: %q", notices.String())
	}
	held[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		// Until the gateway has seen the close, this one is refused too (and, having
		// sent its request, may see a reset rather than the 503).
		c := dial(t, gw)
		io.WriteString(c, "GET /headers HTTP/1.1\r\nHost: web.localhost\r\nConnection: close\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if got, _ := io.ReadAll(c); strings.HasPrefix(string(got), "HTTP/1.1 200 ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a freed connection slot was never taken up again")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// One notice when the cap is reached and one when it is left, alternating: the
	// probe loop above may reach the cap again before the gateway has seen the close
	// (a second episode), but never two notices of one kind in a row.
	// How the refusals split between episodes depends on when the gateway sees each
	// close; all of them are counted.
	// The last "below the limit" notice is written when the probe's connection has
	// closed, after its answer: wait for it.
	var l []string
	for wait := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		l = strings.Split(strings.TrimSpace(notices.String()), "\n")
		if len(l)%2 == 0 || time.Now().After(wait) {
			break
		}
	}
	if len(l) < 2 || len(l)%2 != 0 {
		t.Errorf("notices: %q", notices.String())
	}
	refused := 0
	for i, line := range l {
		atLimit := strings.Contains(line, "3 client connections are open, the limit")
		var n int
		_, err := fmt.Sscanf(line[strings.LastIndex(line, "(")+1:], "%d refused)", &n)
		below := strings.Contains(line, "below the limit again (") && err == nil
		if (i%2 == 0 && !atLimit) || (i%2 == 1 && !below) {
			t.Errorf("notice %d out of turn: %q", i, notices.String())
		}
		refused += n
	}
	if refused < 4 {
		t.Errorf("the notices count %d refused connections, want at least the 4 over the cap: %q", refused, notices.String())
	}
}
