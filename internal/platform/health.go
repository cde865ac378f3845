package platform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pyship/pyship/internal/store"
)

// ProgressEvery is how often a wait for replicas says what it waits for: a deploy that
// takes a minute must not look hung.
const ProgressEvery = 5 * time.Second

// waitState is what the replicas of one wait are doing, for the progress lines.
type waitState struct {
	mu     sync.Mutex
	status []string // per replica; "" once it answered
}

func (w *waitState) set(i int, s string) {
	w.mu.Lock()
	w.status[i] = s
	w.mu.Unlock()
}

// pending is how many replicas have not answered and the state of the first of them.
func (w *waitState) pending() (int, string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, first := 0, ""
	for _, s := range w.status {
		if s != "" {
			if n == 0 {
				first = s
			}
			n++
		}
	}
	return n, first
}

// waitHealthy probes every replica until each answers twice in a row, diagnosing a
// replica that crashes or listens in the wrong place as soon as that is clear instead
// of at the timeout, and saying every few seconds what it waits for. The first replica
// that fails ends the wait for the others.
func (p *Platform) waitHealthy(ctx context.Context, rev string, spec store.Spec, ids []string) error {
	timeout := p.StartTimeout
	if timeout == 0 {
		timeout = 90 * time.Second
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ws := &waitState{status: make([]string, len(ids))}
	for i := range ws.status {
		ws.status[i] = "no answer yet"
	}
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func(i int, id string) {
			defer wg.Done()
			errs[i] = p.waitOne(wctx, rev, id, spec, timeout, func(s string) { ws.set(i, s) })
			if errs[i] != nil {
				cancel()
			}
		}(i, id)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	start := time.Now()
	tick := time.NewTicker(ProgressEvery)
	defer tick.Stop()
	for waiting := true; waiting; {
		select {
		case <-done:
			waiting = false
		case <-tick.C:
			n, state := ws.pending()
			if n == 0 {
				continue
			}
			who := "its replica"
			if len(ids) > 1 {
				who = fmt.Sprintf("%d of %d replicas", n, len(ids))
			}
			p.logf("revision %s: waiting for %s to answer GET %s on port %d (%.0fs of %s): %s", rev, who, spec.Probe, spec.Port, time.Since(start).Seconds(), timeout, state)
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	// A replica's own failure, not the cancellation it caused in the others.
	var first error
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
		if first == nil {
			first = err
		}
	}
	return first
}

func (p *Platform) waitOne(ctx context.Context, rev, id string, spec store.Spec, timeout time.Duration, status func(string)) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: 2 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	ok := 0
	watch := &ListenWatch{Port: spec.Port}
	for {
		st, found, err := p.Engine.Inspect(ctx, id)
		if err != nil {
			return err
		}
		if !found {
			return &DeployError{Revision: rev, Diagnosis: "its container disappeared"}
		}
		if !st.Running || st.Restarting || st.RestartCount > 0 {
			logs, _ := p.Engine.Logs(ctx, id)
			return &DeployError{Revision: rev, Diagnosis: CrashDiagnosis(st, logs), Logs: tail(logs, 30)}
		}
		port := st.Labels["pyship.hostport"]
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+port+spec.Probe, nil)
		// The probe uses the name the gateway will forward, so an app that rejects it
		// (Django's ALLOWED_HOSTS) fails here and not in front of its users.
		app := rev
		if i := strings.LastIndex(rev, "--"); i > 0 {
			app = rev[:i]
		}
		req.Host = app + ".localhost"
		resp, err := client.Do(req)
		if err == nil && resp.StatusCode == http.StatusBadRequest {
			// 400 for NAME.localhost but not for 127.0.0.1: the app rejects the host name.
			plain, perr := client.Get("http://127.0.0.1:" + port + spec.Probe)
			if perr == nil {
				plain.Body.Close()
				if plain.StatusCode < 400 {
					resp.Body.Close()
					logs, _ := p.Engine.Logs(ctx, id)
					return &DeployError{Revision: rev, Diagnosis: fmt.Sprintf("the app answers 400 for the host %s.localhost and %d for 127.0.0.1: it rejects the host name (Django: add it to ALLOWED_HOSTS, e.g. pyship env set %s DJANGO_ALLOWED_HOSTS=%s.localhost when the settings read that variable)", app, plain.StatusCode, app, app), Logs: tail(logs, 10)}
				}
			}
		}
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				ok++
				if ok >= 2 {
					status("")
					return nil
				}
				status("answered once")
			} else {
				ok = 0
				status(fmt.Sprintf("it answers %d", resp.StatusCode))
			}
		} else {
			ok = 0
			// Nothing answers on the port: an app that listens only elsewhere (another
			// port, 127.0.0.1) will not change its mind; say so now, not at the timeout.
			state, diagnosis := watch.Check(st.Pid, time.Now())
			if diagnosis != "" {
				logs, _ := p.Engine.Logs(ctx, id)
				return &DeployError{Revision: rev, Diagnosis: diagnosis, Logs: tail(logs, 30)}
			}
			if state == "" {
				state = "no answer yet (" + connState(err) + ")"
			}
			status(state)
		}
		if time.Now().After(deadline) {
			logs, _ := p.Engine.Logs(ctx, id)
			d := ListenDiagnosis(st.Pid, spec.Port)
			if err == nil {
				d = fmt.Sprintf("GET %s answers %d (a 5xx) after %s", spec.Probe, resp.StatusCode, timeout)
			}
			return &DeployError{Revision: rev, Diagnosis: d, Logs: tail(logs, 30)}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// connState says in a few words why a probe got no answer (the error itself names a
// URL with a port the user never chose).
func connState(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the connection was closed"
	case errors.Is(err, context.DeadlineExceeded), strings.Contains(err.Error(), "Timeout"):
		return "no answer within 2s"
	}
	return "no answer"
}
