package k8s

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pyship/pyship/internal/kube"
	"github.com/pyship/pyship/internal/platform"
	"github.com/pyship/pyship/internal/store"
)

// TestReadyOnRealNode is the rollout waiter (Runtime.Ready, the health gate of every
// deploy) on each branch, with real pods on the real node: progressing then Ready; a
// probe that never passes runs out its deadline; an image the registry does not have,
// and a container that exits, each fail at once (long before the deadline) with the
// reason, the pod's state and, for the crash, its last log line.
func TestReadyOnRealNode(t *testing.T) {
	c := cluster(t)
	if !c.realNode {
		t.Skip("the cluster has no node (NODE=real bash test/k8s/run.sh starts one)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ns := c.namespace(t, "pyship-ready")
	hello := c.pushHello(ctx, t)
	r := &kube.Runtime{CS: c.cs, Config: c.cfg, Target: store.Target{Kind: store.Kubernetes, Context: "pyship-test", Namespace: ns}, StateID: "ready", Grace: 1, Poll: 100 * time.Millisecond}
	rel := func(rev, ref string, port int, env ...string) platform.Release {
		return platform.Release{App: "hello", Revision: "hello--" + rev, Env: env, Secrets: map[string][]byte{},
			Spec: store.Spec{Image: "sha256:" + strings.Repeat("1", 64), ImageRef: ref, Port: port, Probe: "/healthz", Replicas: 1, Secrets: map[string]string{}}}
	}
	const deadline = 40 * time.Second
	for _, tc := range []struct {
		name string
		rel  platform.Release
		want []string // in the error; none: Ready
		fast bool     // fails well before the deadline
	}{
		{name: "ready", rel: rel("ok000001", hello, 8080)},
		{name: "deadline exceeded", rel: rel("noprobe1", hello, 9999),
			want: []string{"pod hello--noprobe1-", "was not Ready within 40s"}},
		{name: "image pull error", rel: rel("nopull01", c.registry+"/pyship-test/missing@sha256:"+strings.Repeat("0", 64), 8080),
			want: []string{"the node cannot pull the image", "--registry"}, fast: true},
		{name: "crash loop", rel: rel("crash001", hello, 8080, "HELLO_EXIT=3"),
			want: []string{"it exited with code 3"}, fast: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := r.Start(ctx, tc.rel); err != nil {
				t.Fatal(err)
			}
			defer r.Remove(context.WithoutCancel(ctx), "hello", tc.rel.Revision, 0)
			var mu sync.Mutex
			var states []string
			start := time.Now()
			err := r.Ready(ctx, tc.rel, deadline, func(_ int, s string) {
				mu.Lock()
				defer mu.Unlock()
				if len(states) == 0 || states[len(states)-1] != s {
					states = append(states, s)
				}
			})
			took := time.Since(start)
			t.Logf("%s: %.1fs, states %q, err %v", tc.name, took.Seconds(), states, err)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Ready: %v", err)
				}
				if len(states) < 2 || states[len(states)-1] != "" {
					t.Errorf("states %q: want the pod's progress, then Ready", states)
				}
				return
			}
			var de *platform.DeployError
			if !errors.As(err, &de) || de.Revision != tc.rel.Revision {
				t.Fatalf("Ready = %v, want a DeployError of %s", err, tc.rel.Revision)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error lacks %q:\n%v", w, err)
				}
			}
			if tc.fast && took > deadline/2 {
				t.Errorf("failed after %s: it should not wait for the deadline", took)
			}
			if tc.name == "crash loop" && !strings.Contains(de.Logs, "told to exit with 3") {
				t.Errorf("the crash's last log lines are missing: %q", de.Logs)
			}
		})
	}
}
