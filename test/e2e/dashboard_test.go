package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pyship/pyship/internal/cli"
)

// artifacts is where browser tests leave their screenshots ($PYSHIP_ARTIFACTS, else
// a folder under the system's temporary directory), kept after the test.
func artifacts(t *testing.T) string {
	dir := os.Getenv("PYSHIP_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "pyship-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// startDashboard runs pyship dashboard for the test's state directory and returns
// the URL it printed (with the run's token).
func startDashboard(t *testing.T, e *platformEnv) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		cli.ExecuteWithInput(ctx, append([]string{"dashboard", "--port", "0", "--json"}, e.c.flags...), strings.NewReader(""), pw, io.Discard)
		pw.Close()
	}()
	t.Cleanup(func() { cancel(); <-done })
	dec := json.NewDecoder(pr)
	var printed struct {
		URL string `json:"url"`
	}
	if err := dec.Decode(&printed); err != nil || !strings.HasPrefix(printed.URL, "http://127.0.0.1:") {
		t.Fatalf("pyship dashboard printed %+v (%v)", printed, err)
	}
	go io.Copy(io.Discard, io.MultiReader(dec.Buffered(), pr))
	return printed.URL
}

// browser is a headless Chromium (Debian's chromium package) driven through chromedp.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed: run scripts/fixtures.sh (apt-get install chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 900), chromedp.Flag("disable-gpu", true), chromedp.UserDataDir(t.TempDir()))
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, tcancel := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() { tcancel(); cancel(); acancel() })
	// The first call starts the browser, bound to ctx: later calls may use shorter
	// contexts without closing it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("chromium did not start: %v", err)
	}
	return ctx
}

// TestDashboardInBrowser: two apps deployed on the real engine, the dashboard opened
// in a real Chromium: the apps list, one app's revisions and what each changed, a
// line the app printed reaching the live log view, a rollback clicked and confirmed
// (the page and pyship revisions agree), screenshots at desktop and phone widths;
// no secret value anywhere on the page or its API.
func TestDashboardInBrowser(t *testing.T) {
	e := newPlatformEnv(t, "web", "api")
	c := e.c
	dir := filepath.Join(t.TempDir(), "flask")
	copyDir(t, filepath.Join("..", "..", "examples", "flask"), dir)
	build := []string{"--base", e.base, "-i", e.index, "--cache-dir", t.TempDir()}
	c.must("", append([]string{"deploy", dir, "--app", "web", "--env", "GREETING=v1"}, build...)...)
	c.must("", "env", "set", "web", "GREETING=v2")
	c.must("", append([]string{"deploy", dir, "--app", "api"}, build...)...)
	const secret = "Dash-secret-sentinel-7f3a"
	c.must(secret+"\n", "secret", "set", "api", "API_TOKEN")
	var revs []struct {
		Name  string `json:"name"`
		State string `json:"state"`
	}
	if err := json.Unmarshal([]byte(c.must("", "revisions", "web", "--json")), &revs); err != nil || len(revs) != 2 {
		t.Fatalf("web's revisions: %v %v", revs, err)
	}
	v1, v2 := revs[0].Name, revs[1].Name

	url := startDashboard(t, e)
	base := url[:strings.Index(url, "/?token=")]
	ctx := browser(t)
	shots := artifacts(t)
	do := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			// What the page shows says why.
			body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
			t.Fatalf("%v; the page:\n%s", err, body)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	screenshot := func(name string) {
		t.Helper()
		b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(shots, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	poll := func(expr string, timeout time.Duration) error {
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
		return err
	}

	do(chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("table.apps")))
	listText := text("main")
	screenshot("dashboard-apps-desktop.png")
	for _, want := range []string{"web", "api", v2, "http://web.localhost:"} {
		if !strings.Contains(listText, want) {
			t.Errorf("the apps list lacks %q:\n%s", want, listText)
		}
	}

	// One app: its revisions and what each changed; then a line it prints reaches
	// the live view.
	do(chromedp.Click(chromedp.CSS(`a[href="/apps/web"]`)), chromedp.WaitVisible(chromedp.ID("live")))
	if err := poll(`document.getElementById("log-state").textContent === "live"`, 10*time.Second); err != nil {
		t.Fatalf("the log stream did not open: %v", err)
	}
	appText := text("main")
	for _, want := range []string{"env GREETING=v2", "first revision", "Roll back to " + v1[len("web--"):]} {
		if !strings.Contains(appText, want) {
			t.Errorf("the app page lacks %q:\n%s", want, appText)
		}
	}
	marker := fmt.Sprintf("/dashboard-probe-%d", time.Now().UnixNano())
	req, _ := http.NewRequest(http.MethodGet, "http://"+e.gw+marker, nil)
	req.Host = "web.localhost"
	sent := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := poll(fmt.Sprintf(`document.getElementById("log").textContent.includes(%q)`, marker), 10*time.Second); err != nil {
		t.Fatalf("the request's log line never reached the page: %v", err)
	}
	lag := time.Since(sent)
	t.Logf("a log line reached the page %s after the request", lag.Round(time.Millisecond))
	if lag > time.Second {
		t.Errorf("the log line took %s to reach the page (want within a second)", lag)
	}

	// The replicas' CPU and memory, sampled by the engine after the page is shown.
	if err := poll(`document.querySelector("[data-mem]").textContent.includes("MiB")`, 15*time.Second); err != nil {
		t.Errorf("the replica's memory never showed: %v", err)
	}
	// Restart a replica: the button, the confirmation, the app answers again.
	do(chromedp.Click(chromedp.CSS(`form[action="/apps/web/restart"] button`)), chromedp.WaitVisible(chromedp.ID("confirm")),
		chromedp.Click(chromedp.ID("confirm")), chromedp.WaitVisible(chromedp.CSS("p.notice")))
	if n := text("p.notice"); !strings.Contains(n, "restart: done") {
		t.Errorf("after the restart the page says %q", n)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, "http://"+e.gw+"/", nil)
		req.Host = "web.localhost"
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("web does not answer after its replica restarted: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Rollback: the button, the confirmation, the page and the CLI agree.
	do(chromedp.Click(chromedp.CSS("#rev-"+v1+" button")), chromedp.WaitVisible(chromedp.ID("confirm")),
		chromedp.Click(chromedp.ID("confirm")), chromedp.WaitVisible(chromedp.CSS("p.notice")))
	live := strings.TrimSpace(text("#live"))
	screenshot("dashboard-app-desktop.png")
	if live != v1 {
		t.Errorf("the page shows %s live after the rollback to %s", live, v1)
	}
	status := c.must("", "status", "web", "--json")
	if !strings.Contains(status, `"live": "`+live+`"`) {
		t.Errorf("the page shows %s live; pyship status says:\n%s", live, status)
	}
	if rev := c.must("", "revisions", "web"); !strings.Contains(rev, live) {
		t.Errorf("pyship revisions lacks %s:\n%s", live, rev)
	}

	// A phone's width.
	do(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(3), chromedp.EmulateMobile),
		chromedp.Navigate(base+"/apps/api"), chromedp.WaitVisible(chromedp.ID("live")))
	screenshot("dashboard-app-phone.png")
	t.Logf("screenshots in %s", shots)

	// No secret value on the page or in its API, after secret set.
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	if resp, err := hc.Get(url); err == nil {
		resp.Body.Close()
	}
	for _, p := range []string{"/", "/apps/api", "/apps/web", "/api/apps", "/api/apps/api"} {
		resp, err := hc.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || strings.Contains(string(b), secret) {
			t.Errorf("%s: %d, holds the secret value: %t", p, resp.StatusCode, strings.Contains(string(b), secret))
		}
		if p == "/apps/api" && !strings.Contains(string(b), "secret API_TOKEN added") {
			t.Errorf("the api page does not say a secret was added")
		}
		if p == "/api/apps" {
			var apps []struct {
				Name      string  `json:"name"`
				PerSecond float64 `json:"requests_per_second"`
				Measured  bool    `json:"measured"`
			}
			json.Unmarshal(b, &apps)
			for _, a := range apps {
				if a.Name == "web" && (!a.Measured || a.PerSecond <= 0) {
					t.Errorf("the gateway's count of web's requests is not on the page: %+v", a)
				}
			}
		}
	}
}
