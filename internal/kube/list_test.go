package kube

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/pyship/pyship/internal/platform"
)

func TestList(t *testing.T) {
	v1 := secretRelease()
	v2 := release("shop", "0000beef", 1)
	cart := release("cart", "12345678", 1)
	noSpec := deployment(cart, Options{Namespace: testNS, StateID: testState})
	noSpec.Annotations = nil // made by an older pyship
	theirs := release("shop", "feedf00d", 1)
	theirPod := pod(theirs, "zzzzz", ready)
	theirPod.Labels[LabelState] = "feedf00d"
	r, _ := newCluster(t,
		deployment(v1, Options{Namespace: testNS, StateID: testState}), deployment(v2, Options{Namespace: testNS, StateID: testState}), noSpec,
		pod(v1, "aaaaa", ready, func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "sidecar"})
			p.Status.ContainerStatuses[0].RestartCount = 2
			p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: "sidecar", Ready: true, RestartCount: 1, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}})
		}),
		pod(v1, "bbbbb", ready, terminating),
		pod(v2, "ccccc", waiting("CrashLoopBackOff", "back-off 10s"), func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			p.Status.ContainerStatuses[0].RestartCount = 4
		}),
		pod(v2, "ddddd", func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed }),
		pod(cart, "eeeee", runningNotReady),
		theirPod,
	)
	reps, err := r.List(ctxT(t), "shop")
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	want := []platform.Replica{ // by name
		{ID: v2.Revision + "-7d9f8-ccccc", App: "shop", Revision: v2.Revision, Index: "7d9f8-ccccc", State: "CrashLoopBackOff", Running: true, Restarts: 4},
		{ID: v2.Revision + "-7d9f8-ddddd", App: "shop", Revision: v2.Revision, Index: "7d9f8-ddddd", State: "failed"},
		{ID: v1.Revision + "-7d9f8-aaaaa", App: "shop", Revision: v1.Revision, Index: "7d9f8-aaaaa", State: "running", Running: true, Serving: true, Restarts: 3},
	}
	if len(reps) != len(want) {
		t.Fatalf("List = %d replicas %+v, want %d (the terminating pod and another state's left out)", len(reps), reps, len(want))
	}
	for i, w := range want {
		g := reps[i]
		w.Name, w.Created = w.ID, created
		spec := g.Spec
		g.Spec = nil
		if !g.Created.Equal(w.Created) {
			t.Errorf("%s created %v, want %v", g.Name, g.Created, w.Created)
		}
		g.Created = w.Created
		if g != w {
			t.Errorf("replica %d = %+v\nwant %+v", i, g, w)
		}
		wantSpec := map[string]platform.Release{v1.Revision: v1, v2.Revision: v2}[g.Revision].Spec
		if spec == nil || spec.Image != wantSpec.Image || spec.ImageRef != wantSpec.ImageRef || spec.Replicas != wantSpec.Replicas || len(spec.Secrets) != len(wantSpec.Secrets) {
			t.Errorf("%s spec = %+v, want %+v", g.Name, spec, wantSpec)
		}
		for k, d := range spec.Secrets {
			if d != "" {
				t.Errorf("%s spec carries the digest of %s", g.Name, k)
			}
		}
	}

	all, err := r.List(ctxT(t), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 || all[0].App != "cart" {
		t.Fatalf("List(\"\") = %+v, want cart's replica first and shop's three", all)
	}
	if c := all[0]; c.Spec != nil || c.Serving || !c.Running || c.State != "running, not ready" {
		t.Errorf("cart replica = %+v, want running, not serving, no spec (no annotation)", c)
	}
}

func TestListErrors(t *testing.T) {
	for _, res := range []string{"deployments", "pods"} {
		r, cs := newCluster(t)
		cs.PrependReactor("list", res, func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: res}, "", errors.New("no"))
		})
		_, err := r.List(ctxT(t), "shop")
		want := map[string]string{"deployments": "cannot list the Deployments of app shop", "pods": "cannot list the pods of app shop"}[res] + " (context kind-test, namespace apps): the cluster refused it (forbidden)"
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s refused: err = %v, want %s…", res, err, want)
		}
	}
}

func TestParseSpec(t *testing.T) {
	for _, raw := range []string{"", "{not json", `{"port":"eighty"}`} {
		if _, ok := parseSpec(raw); ok {
			t.Errorf("parseSpec(%q) ok", raw)
		}
	}
	if s, ok := parseSpec(`{"image":"sha256:1","port":8000,"probe":"/","replicas":2}`); !ok || s.Port != 8000 || s.Replicas != 2 {
		t.Errorf("parseSpec = %+v, %v", s, ok)
	}
}

func TestPodState(t *testing.T) {
	for _, tc := range []struct {
		name string
		mut  func(*corev1.Pod)
		want string
	}{
		{"no container yet", func(*corev1.Pod) {}, "pending"},
		{"waiting", waiting("ContainerCreating", ""), "ContainerCreating"},
		{"waiting with no reason: the phase", waiting("", ""), "pending"},
		{"terminated", func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodFailed
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137}}}}
		}, "OOMKilled"},
		{"running, probe not passed", runningNotReady, "running, not ready"},
		{"ready", ready, "running"},
		{"no node for it", func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable}}
		}, "Unschedulable"},
		{"not scheduled yet, for no reason given", func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse}}
		}, "pending"},
	} {
		p := pod(release("shop", "abcd1234", 1), "aaaaa", tc.mut)
		if got := podState(p); got != tc.want {
			t.Errorf("%s: podState = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestLogs(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name      string
		o         platform.LogOptions
		follow    bool
		tail      *int64
		sinceNear *time.Time
	}{
		{name: "everything"},
		{name: "follow the last 50", o: platform.LogOptions{Follow: true, Tail: 50}, follow: true, tail: ptr(int64(50))},
		{name: "since a duration", o: platform.LogOptions{Since: "10m"}, sinceNear: ptr(now.Add(-10 * time.Minute))},
		{name: "since a time", o: platform.LogOptions{Since: "2026-01-02T03:04:05Z"}, sinceNear: ptr(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, cs := newCluster(t)
			var out bytes.Buffer
			rep := platform.Replica{ID: "shop--abcd1234-7d9f8-aaaaa", Name: "shop--abcd1234-7d9f8-aaaaa"}
			if err := r.Logs(ctxT(t), rep, tc.o, &out); err != nil {
				t.Fatal(err)
			}
			if out.String() != "fake logs" { // what the fake clientset's log stream holds
				t.Errorf("output %q", out.String())
			}
			reqs := logRequests(cs)
			if len(reqs) != 1 {
				t.Fatalf("%d log requests", len(reqs))
			}
			lo := reqs[0]
			if lo.Container != containerName || !lo.Timestamps || lo.Follow != tc.follow || lo.Previous {
				t.Errorf("log options %+v", lo)
			}
			if !eqPtr(lo.TailLines, tc.tail) {
				t.Errorf("tail %v, want %v", deref(lo.TailLines), deref(tc.tail))
			}
			switch {
			case tc.sinceNear == nil && lo.SinceTime != nil:
				t.Errorf("since %v, want none", lo.SinceTime)
			case tc.sinceNear != nil && (lo.SinceTime == nil || lo.SinceTime.Sub(*tc.sinceNear).Abs() > time.Minute):
				t.Errorf("since %v, want about %v", lo.SinceTime, *tc.sinceNear)
			}
		})
	}
}

func TestLogsBadSince(t *testing.T) {
	r, cs := newCluster(t)
	err := r.Logs(ctxT(t), platform.Replica{ID: "p"}, platform.LogOptions{Since: "yesterday"}, &bytes.Buffer{})
	if want := `--since "yesterday": use a duration (10m) or a time (RFC 3339, Unix seconds)`; err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
	if len(logRequests(cs)) != 0 {
		t.Error("logs read with an unreadable --since")
	}
}

func TestSinceTime(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
		err  bool
	}{
		{in: "10m", want: now.Add(-10 * time.Minute)},
		{in: "1h30m", want: now.Add(-90 * time.Minute)},
		{in: "0", want: now},
		{in: "2026-01-02T03:04:05Z", want: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		{in: "2026-01-02T03:04:05+02:00", want: time.Date(2026, 1, 2, 1, 4, 5, 0, time.UTC)},
		{in: "1767323045", want: time.Unix(1767323045, 0)},
		{in: "", err: true},
		{in: "10 minutes", err: true},
		{in: "2026-01-02", err: true},
	} {
		got, err := sinceTime(tc.in, now)
		if tc.err {
			if err == nil {
				t.Errorf("sinceTime(%q) = %v, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("sinceTime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestSecret(t *testing.T) {
	rel := secretRelease()
	r, _ := newCluster(t, revisionObjects(rel, 0)...)
	v, err := r.Secret(ctxT(t), "shop", rel.Revision, "API_KEY")
	if err != nil || string(v) != sentinel {
		t.Fatalf("Secret = %q, %v", v, err)
	}
	_, err = r.Secret(ctxT(t), "shop", rel.Revision, "NOPE")
	if want := "the Secret shop--abcd1234 has no key NOPE"; err == nil || err.Error() != want {
		t.Errorf("missing key: err = %v, want %s", err, want)
	}
	_, err = r.Secret(ctxT(t), "shop", "shop--00000000", "API_KEY")
	if want := `cannot read the Secret shop--00000000 (context kind-test, namespace apps): secrets "shop--00000000" not found`; err == nil || err.Error() != want {
		t.Errorf("missing Secret: err = %v, want %s", err, want)
	}
	if !apierrors.IsNotFound(err) {
		t.Errorf("err %v does not unwrap to NotFound", err)
	}
}

// TestExec: the one-off pod carries no replica label (nothing lists or routes it), runs
// the command in place of the entrypoint, its output is copied, its exit code returned,
// and it is deleted; standard input is refused up front.
func TestExec(t *testing.T) {
	r, cs := newCluster(t)
	rel := release("shop", "abcd1234", 1)
	if _, err := r.Exec(ctxT(t), rel, platform.ExecOptions{Argv: []string{"true"}, Stdin: strings.NewReader("")}); err == nil || !strings.Contains(err.Error(), "not available on Kubernetes") {
		t.Errorf("exec -i: %v", err)
	}
	// The kubelet's part: the pod runs, then its container ends with code 3. The phase
	// may still say Pending when the container has already ended (a short command on a
	// real node): that is a command's exit code, not a pod that cannot start.
	for _, phase := range []corev1.PodPhase{corev1.PodFailed, corev1.PodPending} {
		exec1(t, r, cs, rel, phase)
	}
	if reps, _ := r.List(ctxT(t), "shop"); len(reps) != 0 {
		t.Errorf("List shows %d replicas", len(reps))
	}
}

func exec1(t *testing.T, r *Runtime, cs *fake.Clientset, rel platform.Release, phase corev1.PodPhase) {
	t.Helper()
	// The API server's part: a new pod's phase is Pending until the kubelet says more.
	cs.PrependReactor("get", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		g, ok := a.(k8stesting.GetAction)
		if !ok || a.GetSubresource() != "" {
			return false, nil, nil
		}
		o, err := cs.Tracker().Get(corev1.SchemeGroupVersion.WithResource("pods"), testNS, g.GetName())
		if err != nil {
			return true, nil, err
		}
		p := o.(*corev1.Pod).DeepCopy()
		if p.Status.Phase == "" {
			p.Status.Phase = corev1.PodPending
		}
		return true, p, nil
	})
	go func() {
		ctx := ctxT(t)
		for ctx.Err() == nil {
			pods, _ := cs.CoreV1().Pods(testNS).List(ctx, metav1.ListOptions{LabelSelector: platform.LabelExec + "=shop"})
			for _, p := range pods.Items {
				p.Status.Phase = phase
				p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: containerName, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3}}}}
				cs.CoreV1().Pods(testNS).UpdateStatus(ctx, &p, metav1.UpdateOptions{})
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	var out strings.Builder
	var seen *corev1.Pod
	cs.PrependReactor("delete", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p, _ := cs.Tracker().Get(corev1.SchemeGroupVersion.WithResource("pods"), testNS, a.(k8stesting.DeleteAction).GetName())
		seen, _ = p.(*corev1.Pod)
		return false, nil, nil
	})
	code, err := r.Exec(ctxT(t), rel, platform.ExecOptions{Argv: []string{"python", "manage.py", "migrate"}, Stdout: &out})
	if err != nil || code != 3 {
		t.Fatalf("phase %s: Exec = %d, %v; want 3", phase, code, err)
	}
	if out.String() != "fake logs" {
		t.Errorf("output %q", out.String())
	}
	if seen == nil {
		t.Fatal("the pod was not deleted")
	}
	c := seen.Spec.Containers[0]
	if strings.Join(c.Command, " ") != "python" || strings.Join(c.Args, " ") != "manage.py migrate" || c.ReadinessProbe != nil || seen.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("exec pod: command %v args %v probe %v restart %s", c.Command, c.Args, c.ReadinessProbe, seen.Spec.RestartPolicy)
	}
	if _, ok := seen.Labels[LabelApp]; ok {
		t.Errorf("the exec pod has the replica label %s", LabelApp)
	}
}
