package gateway

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// The proxy path runs on fasthttp rather than net/http: its server answers on the
// connection's own goroutine and its client writes and reads on the caller's, where
// net/http hands every request between four goroutines (the server's background
// reader, the transport's read and write loops). Measured on the flask example, that
// halved the gateway's CPU per request, to about what a byte-copying TCP proxy costs.

// Sizes of the per-connection buffers, which also bound a request's or a response's
// header block: big cookies and CSP headers need more than fasthttp's 4 kB.
const headerBuffer = 32 << 10

func (g *Gateway) newServer() *fasthttp.Server {
	return &fasthttp.Server{
		Handler: g.handle,
		Name:    "pyship-gateway",
		// The app's headers go out as the app wrote them.
		NoDefaultServerHeader:         true,
		NoDefaultDate:                 true,
		NoDefaultContentType:          true,
		DisableHeaderNamesNormalizing: true,
		// Request bodies go to the app as they arrive, of any size, not buffered whole.
		StreamRequestBody: true,
		// Left on, fasthttp would parse a multipart form (file uploads) itself, and the
		// app would get it encoded again, not the bytes the client sent.
		DisablePreParseMultipartForm: true,
		ReadBufferSize:               headerBuffer,
		// fasthttp's ReadTimeout runs from a connection's opening (its first request)
		// or a request's first byte until the handler has read the whole body: on its
		// own it would cut every upload that takes longer. Here it bounds the header
		// block; the handler replaces it for the body (Limits.BodyTimeout, a pause
		// between reads) and fasthttp clears it before a hijack (WebSockets), and it
		// never applies to a response (event streams).
		ReadTimeout: g.limits.HeaderTimeout,
		IdleTimeout: g.limits.IdleTimeout,
		// fasthttp answers a request it could not read itself; say where the answer
		// came from.
		ErrorHandler: g.clientError,
		Logger:       quietLogger{},
		// fasthttp's parse errors quote the bytes they stopped at; those can be a
		// client's cookies or an app's headers, which an error page does not repeat.
		SecureErrorLogMessage: true,
	}
}

type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}

// How long a connection to a replica may stay idle in the pool. App servers close
// idle keep-alive connections on their own clock (gunicorn after 2 s by default,
// uvicorn and hypercorn after 5 s); the pool lets go of them first, so a request is
// rarely written to a connection the app has just closed.
const idleBackendConn = 1500 * time.Millisecond

func newClient(addr string) *fasthttp.HostClient {
	return &fasthttp.HostClient{
		Addr:                          addr,
		Dial:                          dialBackend,
		NoDefaultUserAgentHeader:      true,
		DisableHeaderNamesNormalizing: true,
		DisablePathNormalizing:        true,
		StreamResponseBody:            true,
		ReadBufferSize:                headerBuffer,
		MaxConns:                      4096,
		MaxConnWaitTimeout:            10 * time.Second,
		MaxIdleConnDuration:           idleBackendConn,
		WriteTimeout:                  time.Hour, // see backendConn
		MaxIdemponentCallAttempts:     3,
		// fasthttp retries on the same replica with a new connection when the one it
		// took from the pool failed; sameReplicaRetry says when that is safe.
		RetryIfErr:            sameReplicaRetry,
		SecureErrorLogMessage: true, // see newServer
	}
}

func dialBackend(addr string) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return nil, err
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c, nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return c, nil
	}
	return &backendConn{TCPConn: tc, raw: rc}, nil
}

// errStale: a pooled connection that the app had closed (or that holds bytes nobody
// asked for) was caught before a request was written to it. Nothing was sent, so any
// request may go again on a new connection.
var errStale = errors.New("connection to the app was closed while idle")

// backendConn checks, when fasthttp takes it from the pool for another request, that
// the app has not closed it in the meantime: one non-blocking peek, where net/http
// keeps a goroutine reading every idle connection. fasthttp sets the write deadline
// of a connection it took, before it writes anything, whenever the client has a
// WriteTimeout: that call is the hook, and the deadline itself is not wanted (an
// upload takes as long as the client needs), so it is not set.
type backendConn struct {
	*net.TCPConn
	raw    syscall.RawConn
	reused bool
}

func (c *backendConn) SetWriteDeadline(time.Time) error {
	if c.reused && c.closedByPeer() {
		return errStale
	}
	c.reused = true
	return nil
}

func (c *backendConn) closedByPeer() bool {
	closed := false
	c.raw.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// EOF, a reset, or unsolicited bytes: not a connection to send a request on.
		closed = n > 0 || (n == 0 && err == nil) || (err != nil && err != syscall.EAGAIN && err != syscall.EINTR)
		return true
	})
	return closed
}

func sameReplicaRetry(req *fasthttp.Request, _ int, err error) (resetTimeout, retry bool) {
	if errors.Is(err, errStale) {
		return false, true
	}
	return false, replayable(req.Header.Method(), req.IsBodyStream() || len(req.Body()) > 0, err)
}

// replayable: after a reset or an early close the app may have acted on the request,
// so only a request without a body and with an idempotent method goes again (a body
// was read to send it, and could not be sent again anyway).
func replayable(method []byte, hasBody bool, err error) bool {
	if hasBody {
		return false
	}
	switch string(method) {
	case fasthttp.MethodGet, fasthttp.MethodHead, fasthttp.MethodOptions, fasthttp.MethodTrace, fasthttp.MethodPut, fasthttp.MethodDelete:
		return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
			errors.Is(err, fasthttp.ErrConnectionClosed) || errors.Is(err, syscall.EPIPE)
	}
	return false
}

// otherReplica says whether a failed request may go to another replica: always when
// the connection was refused (it never reached an app), else when it is replayable.
func otherReplica(method []byte, hasBody bool, err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	return replayable(method, hasBody, err)
}

// Serve answers proxy requests on l until Shutdown.
func (g *Gateway) Serve(l net.Listener) error { return g.server.Serve(&capListener{Listener: l, g: g}) }

// Shutdown stops accepting, closes idle connections and waits for requests in flight.
func (g *Gateway) Shutdown(ctx context.Context) error { return g.server.ShutdownWithContext(ctx) }

func (g *Gateway) handle(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	if err := singleAuthority(&ctx.Request); err != nil {
		ctx.Error("pyship gateway: bad request: "+err.Error(), fasthttp.StatusBadRequest)
		g.access("-", string(ctx.Method()), "-", fasthttp.StatusBadRequest, start, "-", "-")
		return
	}
	p, no := g.route(&ctx.Request.Header)
	if no != nil {
		ctx.Error("pyship gateway: "+no.why, no.status)
		g.access(string(ctx.Request.Header.Host()), string(ctx.Method()), string(ctx.RequestURI()), no.status, start, "-", "-")
		return
	}
	forwarded(ctx)
	if isUpgrade(&ctx.Request.Header) {
		g.upgrade(ctx, p, start)
		return
	}
	hopByHop(&ctx.Request.Header)
	// The app's connection is the gateway's to keep: a client's HTTP/1.0 or
	// "Connection: close" ends only the client's (fasthttp noted it before this ran).
	ctx.Request.Header.SetProtocol("HTTP/1.1")

	body := g.watchBody(ctx)
	resp := fasthttp.AcquireResponse()
	b := p.b
	b.inflight.Add(1)
	err := b.client.Do(&ctx.Request, resp)
	// fasthttp does not retry a request whose body is a stream; when the connection
	// was found closed before anything was written, it can go again as it is.
	for i := 0; i < 3 && errors.Is(err, errStale); i++ {
		err = b.client.Do(&ctx.Request, resp)
	}
	if err != nil && body != nil && body.err != nil {
		// The client's body failed, not the app: no other replica, no 502.
		b.inflight.Add(-1)
		fasthttp.ReleaseResponse(resp)
		status := g.badBody(ctx, body.err)
		g.access(string(ctx.Request.Header.Host()), string(ctx.Method()), string(ctx.RequestURI()), status, start, p.rev.name, b.addr)
		return
	}
	// Whether the request had a body is decided before it was sent: writing it
	// consumed the stream, and the request no longer shows one.
	if err != nil && len(p.alts) > 0 && otherReplica(ctx.Method(), body != nil, err) {
		b.inflight.Add(-1)
		b = p.alts[0] // once: a second failure is the answer
		b.inflight.Add(1)
		err = b.client.Do(&ctx.Request, resp)
	}
	if err != nil {
		b.inflight.Add(-1)
		fasthttp.ReleaseResponse(resp)
		badGateway(ctx, p, err)
		g.access(string(ctx.Request.Header.Host()), string(ctx.Method()), string(ctx.RequestURI()), fasthttp.StatusBadGateway, start, p.rev.name, b.addr)
		return
	}
	resp.Header.CopyTo(&ctx.Response.Header)
	hopByHopResponse(&ctx.Response.Header)
	if p.cookie {
		var c fasthttp.Cookie
		c.SetKey(cookiePrefix + p.app)
		c.SetValue(p.rev.name)
		c.SetPath("/")
		c.SetHTTPOnly(true)
		ctx.Response.Header.SetCookie(&c)
	}
	status := resp.StatusCode()
	if body, ok := resp.BodyStream().(fasthttp.ReadCloserWithError); ok {
		// The body goes out after this handler returns; the replica counts as busy,
		// and the request is logged, when it is all sent (or the client went away).
		host, method, uri := string(ctx.Request.Header.Host()), string(ctx.Method()), string(ctx.RequestURI())
		ctx.Response.SetBodyStream(&streamed{ReadCloserWithError: body, done: func() {
			fasthttp.ReleaseResponse(resp)
			b.inflight.Add(-1)
			g.access(host, method, uri, status, start, p.rev.name, b.addr)
		}}, resp.Header.ContentLength())
		return
	}
	ctx.Response.SetBody(resp.Body())
	fasthttp.ReleaseResponse(resp)
	b.inflight.Add(-1)
	g.access(string(ctx.Request.Header.Host()), string(ctx.Method()), string(ctx.RequestURI()), status, start, p.rev.name, b.addr)
}

// badGateway answers a request the app did not answer, and says where to look.
func badGateway(ctx *fasthttp.RequestCtx, p pick, err error) {
	ctx.Error(fmt.Sprintf("pyship gateway: revision %s did not answer: %v (pyship logs %s shows what the app said)", p.rev.name, err, p.app), fasthttp.StatusBadGateway)
}

// streamed is a response body on its way from the app to the client.
type streamed struct {
	fasthttp.ReadCloserWithError
	once sync.Once
	done func()
}

func (s *streamed) CloseWithError(err error) error {
	e := s.ReadCloserWithError.CloseWithError(err)
	s.once.Do(s.done)
	return e
}

// forwarded sets the X-Forwarded-* headers. The gateway is the edge: what a client
// sent in them is replaced, not trusted.
func forwarded(ctx *fasthttp.RequestCtx) {
	h := &ctx.Request.Header
	h.Set("X-Forwarded-For", ctx.RemoteIP().String())
	h.SetBytesV("X-Forwarded-Host", h.Host())
	h.Set("X-Forwarded-Proto", "http")
}

// Headers that describe one connection, not the message (RFC 9110 7.6.1). fasthttp
// frames bodies itself, so Transfer-Encoding and Content-Length are its business.
var hopHeaders = []string{"Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Upgrade"}

func connectionTokens(v []byte) []string {
	var out []string
	for _, t := range strings.Split(string(v), ",") {
		t = strings.TrimSpace(t)
		switch strings.ToLower(t) {
		case "", "close", "keep-alive", "upgrade":
		default:
			out = append(out, t)
		}
	}
	return out
}

// header is what request and response headers share in fasthttp.
type header interface {
	Peek(key string) []byte
	Del(key string)
}

func hopByHop(h header) {
	if v := h.Peek(fasthttp.HeaderConnection); len(v) > 0 {
		for _, t := range connectionTokens(v) {
			h.Del(t)
		}
		h.Del(fasthttp.HeaderConnection)
	}
	for _, k := range hopHeaders {
		h.Del(k)
	}
}

func hopByHopResponse(h *fasthttp.ResponseHeader) {
	hopByHop(h)
	// The app closing its connection says nothing about the client's.
	h.ResetConnectionClose()
}

func isUpgrade(h *fasthttp.RequestHeader) bool {
	return h.ConnectionUpgrade() && len(h.Peek(fasthttp.HeaderUpgrade)) > 0
}

// upgrade passes a protocol switch (WebSocket) through: the request goes to the app
// on a connection of its own, and after the app's 101 the two connections are piped
// until either side closes. Any other answer is passed on as a response.
func (g *Gateway) upgrade(ctx *fasthttp.RequestCtx, p pick, start time.Time) {
	host, method, uri := string(ctx.Request.Header.Host()), string(ctx.Method()), string(ctx.RequestURI())
	b := p.b
	fail := func(err error) {
		badGateway(ctx, p, err)
		g.access(host, method, uri, fasthttp.StatusBadGateway, start, p.rev.name, b.addr)
	}
	conn, err := dialBackend(b.addr)
	if err != nil && errors.Is(err, syscall.ECONNREFUSED) && len(p.alts) > 0 {
		b = p.alts[0]
		conn, err = dialBackend(b.addr)
	}
	if err != nil {
		fail(err)
		return
	}
	b.inflight.Add(1)
	body := g.watchBody(ctx)
	bw := bufio.NewWriter(conn)
	br := bufio.NewReaderSize(conn, headerBuffer)
	var resp fasthttp.Response
	resp.Header.DisableNormalizing()
	err = ctx.Request.Write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = resp.Header.Read(br)
	}
	if err != nil {
		conn.Close()
		b.inflight.Add(-1)
		if body != nil && body.err != nil {
			g.access(host, method, uri, g.badBody(ctx, body.err), start, p.rev.name, b.addr)
			return
		}
		fail(err)
		return
	}
	if resp.StatusCode() != fasthttp.StatusSwitchingProtocols {
		err := resp.ReadBody(br, 0)
		conn.Close()
		b.inflight.Add(-1)
		if err != nil {
			fail(err)
			return
		}
		resp.CopyTo(&ctx.Response)
		hopByHopResponse(&ctx.Response.Header)
		g.access(host, method, uri, resp.StatusCode(), start, p.rev.name, b.addr)
		return
	}
	head := append([]byte(nil), resp.Header.Header()...)
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(client net.Conn) {
		defer b.inflight.Add(-1)
		defer conn.Close()
		if _, err := client.Write(head); err != nil {
			return
		}
		// Either side ending ends the session (as in net/http's ReverseProxy): waiting
		// for the other would hold a goroutine and the replica's drain on a peer that
		// never closes. The app's bytes already read go first to the client.
		done := make(chan struct{}, 2)
		go func() { io.Copy(conn, client); done <- struct{}{} }()
		go func() { io.Copy(client, br); done <- struct{}{} }()
		<-done
		client.Close()
		conn.Close()
		<-done
		g.access(host, method, uri, fasthttp.StatusSwitchingProtocols, start, p.rev.name, b.addr)
	})
}
