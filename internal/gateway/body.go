package gateway

import (
	"fmt"
	"io"
	"time"

	"github.com/valyala/fasthttp"
)

// clientBody is a request body on its way from the client to the app. fasthttp's
// client reads it while it writes the request, so a read that fails (a malformed
// chunk, a body cut short, a client gone quiet) comes back from HostClient.Do looking
// like the app's failure. clientBody keeps the read error, so the gateway can say
// whose fault it was: the client's is answered 400 (408 for a stall) and never
// retried or blamed on the replica.
type clientBody struct {
	r       io.Reader
	ctx     *fasthttp.RequestCtx
	timeout time.Duration
	err     error
}

func (c *clientBody) Read(p []byte) (int, error) {
	// Each read gets its own deadline: the body may take as long as it needs while
	// bytes keep coming (fasthttp resets the deadline when the request is done).
	c.ctx.SetReadDeadline(time.Now().Add(c.timeout))
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}

// watchBody puts a clientBody between the request and its streamed body; nil when
// the request has no body.
func (g *Gateway) watchBody(ctx *fasthttp.RequestCtx) *clientBody {
	req := &ctx.Request
	if !req.IsBodyStream() {
		return nil
	}
	c := &clientBody{r: req.BodyStream(), ctx: ctx, timeout: g.limits.BodyTimeout}
	// The server still owns, drains and releases the stream it made; only the
	// request's reference to it changes.
	req.SetBodyStream(c, req.Header.ContentLength())
	return c
}

// badBody answers a request whose body the client did not send properly.
func (g *Gateway) badBody(ctx *fasthttp.RequestCtx, err error) int {
	if timedOut(err) {
		ctx.Error(fmt.Sprintf("pyship gateway: the request body stopped arriving (nothing for %s)", g.limits.BodyTimeout), fasthttp.StatusRequestTimeout)
		return fasthttp.StatusRequestTimeout
	}
	ctx.Error("pyship gateway: bad request: the request body could not be read: "+err.Error(), fasthttp.StatusBadRequest)
	return fasthttp.StatusBadRequest
}
