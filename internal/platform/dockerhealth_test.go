package platform

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Two replicas that crash at once: the second one's failure cancels the first one's
// wait, and the first then reports a crash with no logs (reading them needed the
// cancelled context). The error is the replica that failed first, with its diagnosis
// and logs — not whichever comes first in replica order (TestPlatform's broken
// revision once failed "it crashed and restarted 1 time(s)", with no hint).
func TestWaitAll_FirstFailureWins(t *testing.T) {
	real := &DeployError{Revision: "web--x", Diagnosis: "it exited with code 1: the image has no module flask_cors_missing", Logs: "ModuleNotFoundError"}
	err := waitAll(context.Background(), 2, func(ctx context.Context, i int) error {
		if i == 1 {
			return real
		}
		<-ctx.Done() // replica 0 sees its crash only after replica 1 failed
		return &DeployError{Revision: "web--x", Diagnosis: "it crashed and restarted 1 time(s)"}
	})
	if err != real {
		t.Errorf("waitAll = %v, want the first failure: %v", err, real)
	}
}

func TestWaitAll(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		desc string
		wait func(ctx context.Context, i int) error
		want error
	}{
		{"all ready", func(ctx context.Context, i int) error { return nil }, nil},
		{"one fails, the others are cancelled", func(ctx context.Context, i int) error {
			if i == 2 {
				return boom
			}
			<-ctx.Done()
			return ctx.Err()
		}, boom},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if err := waitAll(context.Background(), 3, tc.wait); !errors.Is(err, tc.want) {
				t.Errorf("waitAll = %v, want %v", err, tc.want)
			}
		})
	}
	// The caller's own cancellation (Ctrl-C) is what is returned.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(10*time.Millisecond, cancel)
	err := waitAll(ctx, 2, func(ctx context.Context, i int) error {
		<-ctx.Done()
		return &DeployError{Diagnosis: "cancelled mid-probe"}
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
