package platform

import (
	"context"
	"fmt"
	"sync"
	"time"
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
	defer w.mu.Unlock()
	if i >= 0 && i < len(w.status) {
		w.status[i] = s
	}
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

// waitHealthy is the health gate: it waits until the runtime reports every replica of
// rel ready, for StartTimeout at most, and says every few seconds what it waits for,
// so that a deploy that takes a minute does not look hung.
func (p *Platform) waitHealthy(ctx context.Context, rel Release) error {
	timeout := p.StartTimeout
	if timeout == 0 {
		timeout = 90 * time.Second
	}
	every := p.progressEvery
	if every == 0 {
		every = ProgressEvery
	}
	ws := &waitState{status: make([]string, max(1, rel.Spec.Replicas))}
	for i := range ws.status {
		ws.status[i] = "no answer yet"
	}
	done := make(chan error, 1)
	go func() { done <- p.rt().Ready(ctx, rel, timeout, ws.set) }()
	start := time.Now()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
			n, state := ws.pending()
			if n == 0 {
				continue
			}
			who := "its replica"
			if len(ws.status) > 1 {
				who = fmt.Sprintf("%d of %d replicas", n, len(ws.status))
			}
			p.logf("revision %s: waiting for %s to answer GET %s on port %d (%.0fs of %s): %s", rel.Revision, who, rel.Spec.Probe, rel.Spec.Port, time.Since(start).Seconds(), timeout, state)
		}
	}
}
