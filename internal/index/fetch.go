package index

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Timeouts bound every phase of a request to an index, so that an index that stops
// answering fails the build with its URL instead of hanging it.
type Timeouts struct {
	Connect time.Duration // TCP connection
	TLS     time.Duration // TLS handshake
	Header  time.Duration // from sending the request to the end of the response headers
	Idle    time.Duration // longest wait for the next bytes of a response body
}

// DefaultTimeouts are generous for a slow link and short enough that a dead index is
// reported within a few minutes (attempts × Header), not never.
var DefaultTimeouts = Timeouts{Connect: 15 * time.Second, TLS: 15 * time.Second, Header: 30 * time.Second, Idle: 30 * time.Second}

func (c *Client) timeouts() Timeouts {
	t, d := c.Timeouts, DefaultTimeouts
	if t.Connect <= 0 {
		t.Connect = d.Connect
	}
	if t.TLS <= 0 {
		t.TLS = d.TLS
	}
	if t.Header <= 0 {
		t.Header = d.Header
	}
	if t.Idle <= 0 {
		t.Idle = d.Idle
	}
	return t
}

// StallError is a request that got no headers, or no further body bytes, in time.
type StallError struct {
	URL   string // redacted
	Phase string // "response headers" or "body data"
	Wait  time.Duration
}

func (e *StallError) Error() string {
	return fmt.Sprintf("%s: no %s for %s (the index stalled)", e.URL, e.Phase, e.Wait)
}

// httpClient is c.HTTP, or one whose transport has the connect and TLS timeouts
// (http.DefaultClient has none). The wait for headers and for body data is the
// watchdog's, which covers a caller's http.Client too.
func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	c.httpOnce.Do(func() {
		t := c.timeouts()
		tr := http.DefaultTransport.(*http.Transport).Clone() // keeps the proxy settings
		tr.DialContext = (&net.Dialer{Timeout: t.Connect, KeepAlive: 30 * time.Second}).DialContext
		tr.TLSHandshakeTimeout = t.TLS
		c.http = &http.Client{Transport: tr}
	})
	return c.http
}

// response is one successful answer, handed to a fetch callback.
type response struct {
	Body        io.Reader // reads fail with a *StallError when the server stalls
	Final       string    // the URL after redirects
	ContentType string
	Length      int64 // Content-Length, -1 if unknown
}

// bodyReader watches a response body: it turns a stall into a *StallError and keeps
// the first read fault, which fetch retries like a failed request (any other callback
// error, such as a hash or size mismatch, is final).
type bodyReader struct {
	r     io.Reader
	w     *watchdog
	url   string
	fault error // the first read error other than io.EOF
}

func (b *bodyReader) Read(p []byte) (int, error) {
	b.w.arm("body data", b.w.idle)
	n, err := b.r.Read(p)
	b.w.disarm()
	if err != nil && err != io.EOF {
		if s := b.w.stalled(); s != nil {
			err = s
		} else {
			err = fmt.Errorf("%s: %w", b.url, err)
		}
		if b.fault == nil {
			b.fault = err
		}
	}
	return n, err
}

// watchdog cancels a request when its current phase takes longer than allowed. The
// transport's own timeouts do not cover a body that stops mid-way, nor a caller's
// http.Client. One timer serves the whole request (a body is read in many calls).
type watchdog struct {
	cancel context.CancelCauseFunc
	url    string
	idle   time.Duration
	mu     sync.Mutex
	timer  *time.Timer
	phase  string
	wait   time.Duration
	stall  *StallError
}

func (w *watchdog) arm(phase string, d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.phase, w.wait = phase, d
	if w.timer == nil {
		w.timer = time.AfterFunc(d, w.fire)
		return
	}
	w.timer.Reset(d)
}

func (w *watchdog) fire() {
	w.mu.Lock()
	w.stall = &StallError{URL: w.url, Phase: w.phase, Wait: w.wait}
	s := w.stall
	w.mu.Unlock()
	w.cancel(s)
}

func (w *watchdog) disarm() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		w.timer.Stop()
	}
}

func (w *watchdog) stalled() *StallError {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stall
}

// fetch GETs u and hands the answer to fn, with bounded retries (exponential backoff)
// on network errors, timeouts, stalled bodies and 429/5xx answers. A 404 or 410 is
// ErrNotFound. Every error names the URL (without credentials).
func (c *Client) fetch(ctx context.Context, u, acceptHeader string, fn func(*response) error) error {
	hc := c.httpClient()
	t := c.timeouts()
	ru := redact(u)
	delay := 250 * time.Millisecond
	for attempt := 0; ; attempt++ {
		err, retry := c.attempt(ctx, hc, t, u, ru, acceptHeader, fn)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", ru, context.Cause(ctx))
		}
		if !retry || attempt >= c.retries() {
			if retry {
				err = fmt.Errorf("%w (gave up after %d attempts)", err, attempt+1)
			}
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", ru, context.Cause(ctx))
		case <-time.After(delay):
		}
		delay *= 2
	}
}

func (c *Client) attempt(ctx context.Context, hc *http.Client, t Timeouts, u, ru, acceptHeader string, fn func(*response) error) (err error, retry bool) {
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	w := &watchdog{cancel: cancel, url: ru, idle: t.Idle}
	defer w.disarm()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", ru, err), false
	}
	if acceptHeader != "" {
		req.Header.Set("Accept", acceptHeader)
	}
	req.Header.Set("User-Agent", "pyship")
	c.logf("GET %s", ru)
	w.arm("response headers", t.Header)
	resp, err := hc.Do(req)
	w.disarm()
	if err != nil {
		if s := w.stalled(); s != nil {
			return s, true
		}
		return fmt.Errorf("%s: %v", ru, stripURL(err)), true
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return ErrNotFound, false
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("%s: %s", ru, resp.Status), true
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("%s: %s", ru, resp.Status), false
	}
	body := &bodyReader{r: resp.Body, w: w, url: ru}
	err = fn(&response{Body: body, Final: resp.Request.URL.String(), ContentType: resp.Header.Get("Content-Type"), Length: resp.ContentLength})
	if err != nil && body.fault != nil {
		// The body broke off or stalled: worth another attempt, like a failed request.
		return body.fault, true
	}
	return err, false
}

// get fetches a page of at most limit bytes; a longer one is an error, not a
// truncated page.
func (c *Client) get(ctx context.Context, u, acceptHeader string, limit int64) (body []byte, final, ctype string, err error) {
	err = c.fetch(ctx, u, acceptHeader, func(r *response) error {
		if r.Length > limit {
			return fmt.Errorf("%s: %d bytes, more than the %d pyship reads from an index page", redact(u), r.Length, limit)
		}
		b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
		if err != nil {
			return err
		}
		if int64(len(b)) > limit {
			return fmt.Errorf("%s: more than the %d bytes pyship reads from an index page", redact(u), limit)
		}
		body, final, ctype = b, r.Final, r.ContentType
		return nil
	})
	return body, final, ctype, err
}

// DefaultMaxPage bounds an index page or a metadata file: PyPI's largest project
// pages are a few megabytes.
const DefaultMaxPage int64 = 64 << 20

func (c *Client) maxPage() int64 {
	if c.MaxPage > 0 {
		return c.MaxPage
	}
	return DefaultMaxPage
}

func (c *Client) retries() int {
	if c.Retries < 0 {
		return 0
	}
	if c.Retries == 0 {
		return 3
	}
	return c.Retries
}

func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
