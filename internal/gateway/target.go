package gateway

import (
	"bytes"
	"net/url"

	"github.com/valyala/fasthttp"
)

// A request names its app twice when its request-target is in absolute form
// (GET http://b.localhost/ HTTP/1.1, with Host: a.localhost). Routed by one name and
// forwarded or logged with the other, app a would receive a request that names app
// b. RFC 9112 §3.2.2 settles it: the request-target's authority wins and the Host
// field is replaced. singleAuthority does that before anything reads the request, so
// routing, the request the app receives (Host and request line) and the access log
// all see one authority.

// badTarget is a request-target the gateway does not serve; its text is the answer
// (it quotes nothing the client sent: a target can carry tokens in its query).
type badTarget string

func (e badTarget) Error() string { return string(e) }

// singleAuthority puts an absolute-form request-target into origin form and its
// authority into the Host field. An origin-form target (and OPTIONS *) is left as it
// is, byte for byte.
func singleAuthority(req *fasthttp.Request) error {
	h := &req.Header
	t := h.RequestURI()
	if h.IsConnect() {
		// Authority form asks for a tunnel to the named host: a forward proxy's job.
		return badTarget("CONNECT is not served: the gateway is not a forward proxy")
	}
	if len(t) > 0 && t[0] == '/' || string(t) == "*" && h.IsOptions() {
		return nil
	}
	scheme, rest, ok := bytes.Cut(t, []byte("://"))
	if !ok || !(bytes.EqualFold(scheme, []byte("http")) || bytes.EqualFold(scheme, []byte("https"))) {
		return badTarget("the request target is neither a path nor an http URL")
	}
	end := bytes.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, path := rest[:end], rest[end:]
	switch {
	case len(authority) == 0:
		return badTarget("the request target's URL has no host")
	case bytes.IndexByte(authority, '@') >= 0:
		// RFC 9110 §4.2.4: userinfo in an http URI is an error; fasthttp would turn it
		// into an Authorization header for the app.
		return badTarget("the request target's URL carries a user name or password")
	case bytes.IndexByte(path, '#') >= 0:
		return badTarget("the request target has a fragment")
	}
	if u, err := url.Parse("http://" + string(authority) + "/"); err != nil || u.Host != string(authority) {
		return badTarget("the request target's host is not a valid host[:port]")
	}
	origin := make([]byte, 0, len(path)+1)
	switch {
	case len(path) == 0 && h.IsOptions():
		origin = append(origin, '*') // RFC 9112 §3.2.4
	case len(path) == 0 || path[0] == '?':
		origin = append(append(origin, '/'), path...)
	default:
		origin = append(origin, path...)
	}
	h.SetHostBytes(authority)
	// Through the request, not the header: a URI fasthttp parsed from the absolute
	// form is dropped, so the request line the app gets is the origin form.
	req.SetRequestURIBytes(origin)
	return nil
}
