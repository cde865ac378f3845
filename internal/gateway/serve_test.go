package gateway

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"regexp"
	"testing"
	"time"
)

// TestServeAdminUnderTheLimits: the admin endpoint closes a keep-alive connection
// left idle, as the proxy does.
func TestServeAdminUnderTheLimits(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var log lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, t.TempDir()+"/routes.json", "127.0.0.1:0", "127.0.0.1:0", &log, WithLimits(short))
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	started := regexp.MustCompile(`\(admin ([0-9.:]+)\)`)
	var admin string
	for deadline := time.Now().Add(5 * time.Second); admin == "" && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if m := started.FindStringSubmatch(log.String()); m != nil {
			admin = m[1]
		}
	}
	if admin == "" {
		t.Fatalf("the gateway did not start: %q", log.String())
	}
	c := dial(t, "http://"+admin)
	io.WriteString(c, "GET /status HTTP/1.1\r\nHost: admin\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v", resp, err)
	}
	io.Copy(io.Discard, resp.Body)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Errorf("idle admin connection: %q %v", rest, err)
	}
}
