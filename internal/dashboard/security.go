package dashboard

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// cookiePrefix names the cookie that holds the run's token in the browser, with the
// port after it: browsers share cookies between a host's ports, and two dashboards
// must not overwrite each other's. HttpOnly (no script reads it), SameSite=Strict (no
// other site's page sends it).
const cookiePrefix = "pyship_dashboard_"

// cookieName is this server's cookie.
func (s *Server) cookieName() string {
	_, port, _ := net.SplitHostPort(s.Addr)
	return cookiePrefix + port
}

// NewToken is a fresh per-run token: 32 random bytes, hex.
func NewToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// guard lets through only what the user's own browser sends to the dashboard:
//   - the Host is the address it listens on (127.0.0.1:PORT, localhost:PORT, [::1]:PORT):
//     a page on another name that resolves here (DNS rebinding) is refused;
//   - the run's token, from the printed URL once (it then lives in the cookie and the
//     URL is cleaned) or the cookie;
//   - a request that changes something (any method but GET and HEAD) also carries an
//     Origin of that same host: another site's form or script is refused even if the
//     browser sent the cookie.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		// same-origin, not no-referrer: under no-referrer Chromium sends "Origin: null"
		// with the page's own form posts, which the Origin check must see as its own.
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Frame-Options", "DENY")
		if !s.hostAllowed(r.Host) {
			http.Error(w, "this dashboard answers only at the address pyship dashboard printed", http.StatusMisdirectedRequest)
			return
		}
		if t := r.URL.Query().Get("token"); t != "" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			if !s.tokenOK(t) {
				http.Error(w, "wrong token: open the URL pyship dashboard printed", http.StatusForbidden)
				return
			}
			http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: s.Token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
			// The token leaves the address bar (and the history) at once.
			u := *r.URL
			q := u.Query()
			q.Del("token")
			u.RawQuery = q.Encode()
			http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
			return
		}
		c, err := r.Cookie(s.cookieName())
		if err != nil || !s.tokenOK(c.Value) {
			http.Error(w, "not signed in: open the URL pyship dashboard printed (it carries this run's token)", http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if !sameOrigin(r) {
				http.Error(w, "refused: the request does not come from this dashboard's page", http.StatusForbidden)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) tokenOK(t string) bool {
	return s.Token != "" && subtle.ConstantTimeCompare([]byte(t), []byte(s.Token)) == 1
}

// hostAllowed: the Host header names this server's port on a loopback name.
func (s *Server) hostAllowed(host string) bool {
	_, port, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return false
	}
	h, p, err := net.SplitHostPort(host)
	if err != nil || p != port {
		return false
	}
	return h == "127.0.0.1" || h == "localhost" || h == "::1"
}

// sameOrigin: the Origin header is this very host, over http.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return false
	}
	u, err := url.Parse(o)
	if err != nil || u.Scheme != "http" || u.Path != "" && u.Path != "/" {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}
