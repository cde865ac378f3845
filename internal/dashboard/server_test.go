package dashboard

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// memSource is the page's Source in memory: two apps, actions recorded, log lines fed
// by the test.
type memSource struct {
	mu      sync.Mutex
	apps    map[string]*App
	actions []string
	lines   chan LogLine
}

func newMemSource() *memSource {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	return &memSource{lines: make(chan LogLine, 10), apps: map[string]*App{
		"shop": {Name: "shop", URL: "http://shop.localhost:8080/", Target: "local", Live: "shop--bbbb2222", Desired: 2, Ready: 2, Deployed: t0, Result: "ready", Actions: true,
			PerSecond: 2.5, ErrorRate: 0.1, Measured: true,
			Traffic: map[string]int{"shop--bbbb2222": 100},
			Revisions: []Revision{
				{Name: "shop--bbbb2222", State: "ready", Image: "aaaaaaaaaaaa", Created: t0, Replicas: 2, Traffic: 100, Changes: []string{"env GREETING=hi"}},
				{Name: "shop--aaaa1111", State: "retired", Image: "aaaaaaaaaaaa", Created: t0.Add(-time.Hour), Replicas: 2, Changes: []string{"first revision"}},
			},
			Replicas: []Replica{{Name: "shop--bbbb2222-1", Revision: "shop--bbbb2222", State: "running", Ready: true, Created: t0}}},
		"blog": {Name: "blog", Target: "aca (sub/rg)", Live: "blog--cccc3333", Desired: 1, Ready: 1, Result: "ready", Traffic: map[string]int{}},
	}}
}

func (m *memSource) Apps(context.Context) ([]App, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []App
	for _, a := range m.apps {
		out = append(out, *a)
	}
	return out, nil
}

func (m *memSource) App(_ context.Context, name string) (*App, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.apps[name]
	if !ok {
		return nil, ErrNoApp
	}
	c := *a
	return &c, nil
}

func (m *memSource) Logs(ctx context.Context, name string, tail int, emit func(LogLine) error) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case l := <-m.lines:
			if err := emit(l); err != nil {
				return err
			}
		}
	}
}

func (m *memSource) Stats(_ context.Context, name string) (map[string]ReplicaStats, error) {
	if _, ok := m.apps[name]; !ok {
		return nil, ErrNoApp
	}
	return map[string]ReplicaStats{"shop--bbbb2222-1": {CPUPercent: 12.5, MemoryBytes: 50 << 20, MemoryLimit: 1 << 30}}, nil
}

func (m *memSource) record(s string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.actions = append(m.actions, s)
	return nil
}

func (m *memSource) Rollback(_ context.Context, name, rev string) error {
	m.mu.Lock()
	m.apps[name].Live = rev
	m.mu.Unlock()
	return m.record("rollback " + name + " " + rev)
}
func (m *memSource) Scale(_ context.Context, name string, n int) error {
	return m.record("scale " + name + " " + strings.Repeat("I", n))
}
func (m *memSource) Restart(_ context.Context, name, rep string) error {
	return m.record("restart " + name + " " + rep)
}
func (m *memSource) SetTraffic(_ context.Context, name string, w map[string]int) error {
	return m.record("traffic " + name)
}

// serve starts the dashboard on loopback; the client follows redirects with a cookie jar.
func serve(t *testing.T) (*memSource, *httptest.Server, *http.Client, string) {
	t.Helper()
	src := newMemSource()
	s := &Server{Src: src, Token: strings.Repeat("ab", 32), Now: func() time.Time { return time.Date(2026, 12, 1, 10, 5, 0, 0, time.UTC) }}
	srv := httptest.NewUnstartedServer(nil)
	s.Addr = srv.Listener.Addr().String()
	srv.Config.Handler = s.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	return src, srv, &http.Client{Jar: jar, Timeout: 10 * time.Second}, s.Token
}

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestSignInAndPages(t *testing.T) {
	_, srv, c, token := serve(t)
	if code, _ := get(t, c, srv.URL+"/"); code != http.StatusUnauthorized {
		t.Errorf("no token: %d", code)
	}
	if code, _ := get(t, c, srv.URL+"/?token=wrong"); code != http.StatusForbidden {
		t.Errorf("a wrong token: %d", code)
	}
	resp, err := c.Get(srv.URL + "/?token=" + token)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.Contains(resp.Request.URL.String(), token) || !strings.Contains(string(b), `href="/apps/shop"`) || !strings.Contains(string(b), "blog") ||
		!strings.Contains(string(b), "<td>2.50</td>") || !strings.Contains(string(b), `<span class="warn">10.0%</span>`) {
		t.Fatalf("signed in: %d at %s\n%s", resp.StatusCode, resp.Request.URL, b)
	}
	u, _ := url.Parse(srv.URL)
	cs := c.Jar.Cookies(u)
	if len(cs) != 1 || cs[0].Value != token {
		t.Errorf("cookie %v", cs)
	}
	code, body := get(t, c, srv.URL+"/apps/shop")
	for _, want := range []string{"shop--bbbb2222", "env GREETING=hi", "Roll back to aaaa1111", `name="w.shop--bbbb2222"`, "2 ready of 2"} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("the app page lacks %q (%d)", want, code)
		}
	}
	// An Azure app is shown, not acted on.
	if _, body := get(t, c, srv.URL+"/apps/blog"); strings.Contains(body, "<form") {
		t.Error("the page offers actions on an Azure app")
	}
	if code, _ := get(t, c, srv.URL+"/apps/nope"); code != 404 {
		t.Errorf("a missing app: %d", code)
	}
	for _, p := range []string{"/apps/..%2F..%2Fetc", "/api/apps/Bad_Name", "/apps/a--b/logs"} {
		if code, _ := get(t, c, srv.URL+p); code != 404 {
			t.Errorf("%s: %d, want 404 (not an app name)", p, code)
		}
	}
	if code, body := get(t, c, srv.URL+"/api/apps/shop"); code != 200 || !strings.Contains(body, `"replicas_ready":2`) {
		t.Errorf("API: %d %s", code, body)
	}
	if code, body := get(t, c, srv.URL+"/api/apps/shop/stats"); code != 200 || !strings.Contains(body, `"cpu_percent":12.5`) {
		t.Errorf("stats: %d %s", code, body)
	}
}

// TestStateChangesNeedTheRightOrigin: a POST needs the cookie and an Origin of this
// very host; another Host (DNS rebinding) is refused outright; a confirmed action runs.
func TestStateChangesNeedTheRightOrigin(t *testing.T) {
	src, srv, c, token := serve(t)
	get(t, c, srv.URL+"/?token="+token)
	post := func(origin, host string, form url.Values, withCookie bool) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/apps/shop/rollback", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if host != "" {
			req.Host = host
		}
		client := c
		if !withCookie {
			client = &http.Client{}
		}
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	form := url.Values{"revision": {"shop--aaaa1111"}}
	self := srv.URL
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	for _, tc := range []struct {
		name, origin, host string
		cookie             bool
		want               int
	}{
		{"no cookie", self, "", false, http.StatusUnauthorized},
		{"no Origin", "", "", true, http.StatusForbidden},
		{"another site", "http://evil.example", "", true, http.StatusForbidden},
		{"another port", "http://127.0.0.1:1", "", true, http.StatusForbidden},
		{"rebinding", "http://evil.example:" + fmt.Sprint(port), "evil.example:" + fmt.Sprint(port), true, http.StatusMisdirectedRequest},
	} {
		if got := post(tc.origin, tc.host, form, tc.cookie); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	if len(src.actions) != 0 {
		t.Fatalf("a refused request acted: %q", src.actions)
	}
	if got := post(self, "", form, true); got != 200 || len(src.actions) != 0 {
		t.Errorf("unconfirmed: %d, actions %q (want the confirmation page, nothing done)", got, src.actions)
	}
	form.Set("confirm", "yes")
	if got := post(self, "", form, true); got != http.StatusSeeOther || strings.Join(src.actions, ";") != "rollback shop shop--aaaa1111" {
		t.Errorf("confirmed: %d, actions %q", got, src.actions)
	}
}

// TestLogsStream: a line the source emits reaches the event stream at once.
func TestLogsStream(t *testing.T) {
	src, srv, c, token := serve(t)
	get(t, c, srv.URL+"/?token="+token)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/apps/shop/logs", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	sent := time.Now()
	src.lines <- LogLine{Time: "2026-12-01T10:00:00Z", Revision: "shop--bbbb2222", Replica: "1", Message: "GET / 200"}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "data: ") {
			if !strings.Contains(sc.Text(), `"message":"GET / 200"`) {
				t.Errorf("event %q", sc.Text())
			}
			if d := time.Since(sent); d > time.Second {
				t.Errorf("the line took %s", d)
			}
			return
		}
	}
	t.Fatal("no event")
}
