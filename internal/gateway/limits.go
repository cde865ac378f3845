package gateway

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Limits bound what clients can hold of the gateway. Without them a client that
// opens connections and sends nothing (or a header a byte at a time) keeps each one,
// with its buffers and goroutine, for as long as it likes: 3,000 such connections held
// 80 MB. None of them is a limit on a request's or a response's total time: uploads,
// long polls, event streams and WebSockets take as long as they take, as long as
// bytes keep moving.
type Limits struct {
	// HeaderTimeout is how long a client has to send a request's header block (and
	// the first 8 kB of its body, which fasthttp reads with it), counted from the
	// connection's opening for its first request and from the first byte for later
	// ones. A connection that sends nothing is closed after it.
	HeaderTimeout time.Duration
	// IdleTimeout is how long a keep-alive connection may wait for its next request.
	IdleTimeout time.Duration
	// BodyTimeout is the longest pause in a request body: each read of it must bring
	// bytes within this time. It bounds a stalled upload, not a slow one.
	BodyTimeout time.Duration
	// WriteTimeout is the longest a write to a client may wait for the client to
	// read: a client that stops reading a response (or a WebSocket) is cut off after
	// it, where it would hold the connection and the replica's for ever.
	WriteTimeout time.Duration
	// MaxConns caps the client connections open at once, WebSockets included; a
	// connection over the cap is answered 503 and closed.
	MaxConns int
}

// DefaultLimits are the limits of a gateway made by New: generous for a person with
// a browser, short enough that silent connections do not pile up.
func DefaultLimits() Limits {
	return Limits{
		HeaderTimeout: 20 * time.Second,
		IdleTimeout:   120 * time.Second,
		BodyTimeout:   60 * time.Second,
		WriteTimeout:  60 * time.Second,
		MaxConns:      4096,
	}
}

// Option changes a gateway made by New.
type Option func(*Gateway)

// WithLimits sets the gateway's limits; a zero field keeps its default.
func WithLimits(l Limits) Option {
	return func(g *Gateway) {
		d := &g.limits
		for _, f := range []struct{ set, to *time.Duration }{
			{&l.HeaderTimeout, &d.HeaderTimeout}, {&l.IdleTimeout, &d.IdleTimeout},
			{&l.BodyTimeout, &d.BodyTimeout}, {&l.WriteTimeout, &d.WriteTimeout},
		} {
			if *f.set > 0 {
				*f.to = *f.set
			}
		}
		if l.MaxConns > 0 {
			d.MaxConns = l.MaxConns
		}
	}
}

// WithNotices sends the gateway's notices (a limit reached) to w, which is the
// operator's log, not the access log.
func WithNotices(w io.Writer) Option {
	return func(g *Gateway) { g.notices = w }
}

func (g *Gateway) notice(format string, args ...any) {
	if g.notices == nil {
		return
	}
	g.noticeMu.Lock()
	defer g.noticeMu.Unlock()
	fmt.Fprintf(g.notices, "gateway: "+format+"\n", args...)
}

// timedOut: a client's read or write that ran past its deadline.
func timedOut(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// clientError answers a request fasthttp could not read: 408 when the client was
// too slow, else 400. fasthttp's parse errors quote the bytes they stopped at
// (SecureErrorLogMessage keeps them short); those can be a client's cookies, which
// an error page does not repeat.
func (g *Gateway) clientError(ctx *fasthttp.RequestCtx, err error) {
	if timedOut(err) {
		ctx.Error(fmt.Sprintf("pyship gateway: the request did not arrive within %s", g.limits.HeaderTimeout), fasthttp.StatusRequestTimeout)
		return
	}
	ctx.Error("pyship gateway: bad request: "+err.Error(), fasthttp.StatusBadRequest)
}

// capListener is the listener the proxy serves: it counts the client connections
// open, refuses those over Limits.MaxConns, and gives each connection its write
// deadline. Counting here rather than with fasthttp's Concurrency counts hijacked
// connections (WebSockets) too, and says so in the operator's log, once.
type capListener struct {
	net.Listener
	g       *Gateway
	open    atomic.Int64
	mu      sync.Mutex // over full and refused
	full    bool
	refused int
}

func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.open.Add(1) <= int64(l.g.limits.MaxConns) {
			return &clientConn{Conn: c, l: l}, nil
		}
		l.open.Add(-1)
		l.refuse(c)
	}
}

const tooManyText = "pyship gateway: too many connections open, try again later\n"

var tooMany = fmt.Appendf(nil, "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n\r\n%s", len(tooManyText), tooManyText)

// refuse answers a connection over the cap and closes it. One line in the log says
// the cap was reached; the next says when it is left, with the count refused.
func (l *capListener) refuse(c net.Conn) {
	c.SetWriteDeadline(time.Now().Add(time.Second)) // a fresh socket's buffer takes it at once
	c.Write(tooMany)
	c.Close()
	l.mu.Lock()
	first := !l.full
	l.full = true
	l.refused++
	l.mu.Unlock()
	if first {
		l.g.notice("%d client connections are open, the limit: new ones are answered 503 until some close", l.g.limits.MaxConns)
	}
}

// release counts a connection closed. The cap counts as left once a tenth of it is
// free again, so a gateway hovering at its cap does not log a line per connection.
func (l *capListener) release() {
	open := l.open.Add(-1)
	max := int64(l.g.limits.MaxConns)
	if open > max-1-max/10 {
		return
	}
	l.mu.Lock()
	was, refused := l.full, l.refused
	l.full, l.refused = false, 0
	l.mu.Unlock()
	if was {
		l.g.notice("client connections are below the limit again (%d refused)", refused)
	}
}

// clientConn is a client's connection: its writes have a deadline, its closing is
// counted once.
type clientConn struct {
	net.Conn
	l    *capListener
	once sync.Once
}

func (c *clientConn) Write(p []byte) (int, error) {
	// A deadline per write, not per response: an event stream may be quiet for
	// hours, but a write that cannot go out means a client that does not read.
	c.Conn.SetWriteDeadline(time.Now().Add(c.l.g.limits.WriteTimeout))
	return c.Conn.Write(p)
}

func (c *clientConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.l.release)
	return err
}
