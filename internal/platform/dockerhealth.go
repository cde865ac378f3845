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

// Ready implements Runtime: each replica is probed until it answers twice in a row,
// and a replica that crashes or listens in the wrong place is diagnosed as soon as
// that is clear instead of at the timeout. The first replica that fails ends the wait
// for the others.
func (d *dockerRuntime) Ready(ctx context.Context, rel Release, timeout time.Duration, status func(replica int, state string)) error {
	cs, err := d.containers(ctx, rel.App, rel.Revision)
	if err != nil {
		return err
	}
	if len(cs) < rel.Spec.Replicas {
		return &DeployError{Revision: rel.Revision, Diagnosis: "its container disappeared"}
	}
	return waitAll(ctx, len(cs), func(ctx context.Context, i int) error {
		return d.waitOne(ctx, rel.Revision, cs[i].ID, rel.Spec, timeout, func(s string) { status(i, s) })
	})
}

// waitAll runs wait for replicas 0..n-1 at once; the first that fails ends the wait of
// the others (their context is cancelled), and its error is the one returned.
func waitAll(ctx context.Context, n int, wait func(ctx context.Context, i int) error) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if err := wait(wctx, i); err != nil {
				// Only the first failure is the replica's own: the others may have
				// failed for the cancellation it caused (a crash seen with no logs,
				// since reading them needed the cancelled context).
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
				cancel()
			}
		}(i)
	}
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return first
}

func (d *dockerRuntime) waitOne(ctx context.Context, rev, id string, spec store.Spec, timeout time.Duration, status func(string)) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: 2 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	ok := 0
	watch := &ListenWatch{Port: spec.Port}
	for {
		st, found, err := d.engine.Inspect(ctx, id)
		if err != nil {
			return err
		}
		if !found {
			return &DeployError{Revision: rev, Diagnosis: "its container disappeared"}
		}
		if !st.Running || st.Restarting || st.RestartCount > 0 {
			logs, _ := d.engine.Logs(ctx, id)
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
					logs, _ := d.engine.Logs(ctx, id)
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
				logs, _ := d.engine.Logs(ctx, id)
				return &DeployError{Revision: rev, Diagnosis: diagnosis, Logs: tail(logs, 30)}
			}
			if state == "" {
				state = "no answer yet (" + connState(err) + ")"
			}
			status(state)
		}
		if time.Now().After(deadline) {
			logs, _ := d.engine.Logs(ctx, id)
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
