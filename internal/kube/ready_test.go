package kube

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/pyship/pyship/internal/platform"
)

// statuses records what Ready reports per replica, in order.
type statuses struct {
	mu  sync.Mutex
	got map[int][]string
}

func (s *statuses) set(i int, state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.got == nil {
		s.got = map[int][]string{}
	}
	if l := s.got[i]; len(l) == 0 || l[len(l)-1] != state {
		s.got[i] = append(l, state)
	}
}

func (s *statuses) of(i int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got[i])
}

func deployErr(t *testing.T, err error) *platform.DeployError {
	t.Helper()
	var de *platform.DeployError
	if !errors.As(err, &de) {
		t.Fatalf("err = %v (%T), want a *platform.DeployError", err, err)
	}
	return de
}

func TestReadyAllReady(t *testing.T) {
	rel := release("shop", "abcd1234", 2)
	other := release("shop", "0000beef", 1)
	r, _ := newCluster(t, pod(rel, "aaaaa", ready), pod(rel, "bbbbb", ready),
		pod(rel, "ccccc", terminating), // a replaced pod on its way out does not count
		pod(other, "ddddd", waiting("CrashLoopBackOff", "")))
	var st statuses
	if err := r.Ready(ctxT(t), rel, 5*time.Second, st.set); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if got := st.of(i); !slices.Equal(got, []string{""}) {
			t.Errorf("replica %d reported %q, want only \"\" (ready)", i, got)
		}
	}
}

func TestReadyWaitsUntilReady(t *testing.T) {
	rel := release("shop", "abcd1234", 2)
	r, cs := newCluster(t, pod(rel, "aaaaa", ready), pod(rel, "bbbbb"))
	lists := 0
	cs.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		lists++
		switch lists {
		case 3:
			if err := cs.Tracker().Update(podsGVR, pod(rel, "bbbbb", runningNotReady), testNS); err != nil {
				t.Error(err)
			}
		case 6:
			if err := cs.Tracker().Update(podsGVR, pod(rel, "bbbbb", ready), testNS); err != nil {
				t.Error(err)
			}
		}
		return false, nil, nil
	})
	var st statuses
	if err := r.Ready(ctxT(t), rel, 5*time.Second, st.set); err != nil {
		t.Fatal(err)
	}
	if got := st.of(1); !slices.Equal(got, []string{"pending", "running, not ready", ""}) {
		t.Errorf("replica 1 reported %q", got)
	}
	if lists != 6 {
		t.Errorf("%d looks at the pods, want 6 (ready on the 6th)", lists)
	}
}

func TestReadyFailsFast(t *testing.T) {
	lastExit := func(code int32, reason string, restarts int32, state corev1.ContainerState) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodRunning
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: containerName, RestartCount: restarts, State: state,
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason}}}}
		}
	}
	backOff := corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 20s restarting failed container"}}
	for _, tc := range []struct {
		name     string
		mut      []func(*corev1.Pod)
		events   []*corev1.Event
		want     string
		previous bool // the crashed container's logs were asked for
	}{
		{
			name:   "ImagePullBackOff",
			mut:    []func(*corev1.Pod){waiting("ImagePullBackOff", `Back-off pulling image "reg.test/shop@sha256:abcd1234"`)},
			events: []*corev1.Event{warning("Pod", "shop--abcd1234-7d9f8-aaaaa", "Failed", "Failed to pull image: dial tcp 10.0.0.9:5000: connect: connection refused", time.Unix(100, 0))},
			want:   `the node cannot pull the image (ImagePullBackOff): Back-off pulling image "reg.test/shop@sha256:abcd1234"; is --registry an address the cluster's nodes reach?; events: Failed: Failed to pull image: dial tcp 10.0.0.9:5000: connect: connection refused`,
		},
		{
			name: "ErrImagePull",
			mut:  []func(*corev1.Pod){waiting("ErrImagePull", "not found")},
			want: "the node cannot pull the image (ErrImagePull): not found; is --registry an address the cluster's nodes reach?",
		},
		{
			name: "InvalidImageName",
			mut:  []func(*corev1.Pod){waiting("InvalidImageName", "bad ref")},
			want: "the node cannot pull the image (InvalidImageName): bad ref",
		},
		{
			name:   "CreateContainerConfigError",
			mut:    []func(*corev1.Pod){waiting("CreateContainerConfigError", `secret "shop--abcd1234" not found`)},
			events: []*corev1.Event{warning("Pod", "shop--abcd1234-7d9f8-aaaaa", "Failed", `Error: secret "shop--abcd1234" not found`, time.Unix(100, 0))},
			want:   `the cluster cannot start its container (CreateContainerConfigError): secret "shop--abcd1234" not found; events: Failed: Error: secret "shop--abcd1234" not found`,
		},
		{
			name: "RunContainerError",
			mut:  []func(*corev1.Pod){waiting("RunContainerError", "exec: no such file")},
			want: "the cluster cannot start its container (RunContainerError): exec: no such file",
		},
		{
			name:     "CrashLoopBackOff",
			mut:      []func(*corev1.Pod){lastExit(1, "Error", 3, backOff)},
			events:   []*corev1.Event{warning("Pod", "shop--abcd1234-7d9f8-aaaaa", "BackOff", "Back-off restarting failed container app", time.Unix(100, 0))},
			want:     "it exited with code 1 (Error); events: BackOff: Back-off restarting failed container app",
			previous: true,
		},
		{
			name:     "OOMKilled",
			mut:      []func(*corev1.Pod){lastExit(137, "OOMKilled", 1, backOff)},
			want:     "it was killed for using too much memory (OOMKilled): raise the memory limit or lower the app's use",
			previous: true,
		},
		{
			// Restarted and running again: the crash is in the previous container's
			// output, not in the new one's first lines.
			name:     "crashed once, running again",
			mut:      []func(*corev1.Pod){lastExit(3, "Error", 1, corev1.ContainerState{Running: &corev1.ContainerStateRunning{}})},
			want:     "it exited with code 3 (Error)",
			previous: true,
		},
		{
			name: "CrashLoopBackOff with no last state",
			mut: []func(*corev1.Pod){waiting("CrashLoopBackOff", ""), func(p *corev1.Pod) {
				p.Status.ContainerStatuses[0].RestartCount = 5
			}},
			want: "it crashed and restarted 5 time(s)",
		},
		{
			name: "a pod that never restarts, exited",
			mut: []func(*corev1.Pod){func(p *corev1.Pod) {
				p.Spec.RestartPolicy = corev1.RestartPolicyNever
				p.Status.Phase = corev1.PodFailed
				p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: containerName, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2, Reason: "Error"}}}}
			}},
			want: "it exited with code 2 (Error)",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rel := release("shop", "abcd1234", 2)
			objs := []runtime.Object{pod(rel, "aaaaa", tc.mut...), pod(rel, "bbbbb", ready),
				warning("Pod", "shop--abcd1234-7d9f8-bbbbb", "Unhealthy", "another pod's event", time.Unix(50, 0))}
			for _, e := range tc.events {
				objs = append(objs, e)
			}
			r, cs := newCluster(t, objs...)
			var st statuses
			start := time.Now()
			err := r.Ready(ctxT(t), rel, time.Minute, st.set)
			if time.Since(start) > 10*time.Second {
				t.Errorf("Ready took %s: it should fail at the first look", time.Since(start))
			}
			de := deployErr(t, err)
			if de.Revision != rel.Revision {
				t.Errorf("revision %s", de.Revision)
			}
			if !strings.HasPrefix(de.Diagnosis, tc.want) || (tc.events != nil && de.Diagnosis != tc.want) {
				t.Errorf("diagnosis\n  %s\nwant\n  %s", de.Diagnosis, tc.want)
			}
			if de.Logs != "fake logs" {
				t.Errorf("logs %q, want the pod's (the fake's \"fake logs\")", de.Logs)
			}
			reqs := logRequests(cs)
			if len(reqs) == 0 {
				t.Fatal("no log read")
			}
			lo := reqs[0]
			if lo.Previous != tc.previous || lo.Container != containerName || lo.TailLines == nil || *lo.TailLines != 30 || lo.LimitBytes == nil {
				t.Errorf("log options %+v, want previous=%v, the last 30 lines, bounded", lo, tc.previous)
			}
			if got := st.of(0); len(got) == 0 || got[len(got)-1] == "" {
				t.Errorf("the failing replica reported %q", got)
			}
		})
	}
}

func TestReadyTimeoutNoPods(t *testing.T) {
	rel := release("shop", "abcd1234", 1)
	d := deployment(rel, Options{Namespace: testNS, StateID: testState})
	// The Deployment controller copies its ReplicaSet's failure to create pods here;
	// the ReplicaSet's own events say it too, the Deployment's say nothing of it.
	d.Status.Conditions = []appsv1.DeploymentCondition{
		{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetCreated"},
		{Type: appsv1.DeploymentReplicaFailure, Status: corev1.ConditionTrue, Reason: "FailedCreate",
			Message: `pods "shop--abcd1234-7d9f8-" is forbidden: exceeded quota: compute, requested: memory=128Mi, used: memory=1Gi, limited: memory=1Gi`},
	}
	r, _ := newCluster(t, d, replicaSet(rel),
		warning("Deployment", rel.Revision, "SomethingOdd", "the Deployment's own warning", time.Unix(100, 0)),
		warning("ReplicaSet", rel.Revision+"-7d9f8", "FailedCreate", "Error creating: exceeded quota: compute", time.Unix(101, 0)),
		warning("ReplicaSet", "cart--12345678-1a2b3", "FailedCreate", "another app's", time.Unix(102, 0)))
	err := r.Ready(ctxT(t), rel, 50*time.Millisecond, func(int, string) {})
	de := deployErr(t, err)
	want := `no pod of it was created within 50ms: pods "shop--abcd1234-7d9f8-" is forbidden: exceeded quota: compute, requested: memory=128Mi, used: memory=1Gi, limited: memory=1Gi` +
		"; events: SomethingOdd: the Deployment's own warning; FailedCreate: Error creating: exceeded quota: compute"
	if de.Diagnosis != want {
		t.Errorf("diagnosis\n  %s\nwant\n  %s", de.Diagnosis, want)
	}
}

func TestReadyTimeoutNoPodsNoDeployment(t *testing.T) {
	rel := release("shop", "abcd1234", 1)
	r, _ := newCluster(t)
	de := deployErr(t, r.Ready(ctxT(t), rel, 30*time.Millisecond, func(int, string) {}))
	if want := "no pod of it was created within 30ms: its Deployment shop--abcd1234 is not there"; de.Diagnosis != want {
		t.Errorf("diagnosis %q, want %q", de.Diagnosis, want)
	}
}

func TestReadyTimeoutNotReady(t *testing.T) {
	unschedulable := func(p *corev1.Pod) {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable,
			Message: "0/1 nodes are available: 1 Insufficient memory."}}
	}
	for _, tc := range []struct {
		name   string
		mut    func(*corev1.Pod)
		events []runtime.Object
		want   string
	}{
		{
			name: "Unschedulable, no events readable",
			mut:  unschedulable,
			want: "pod shop--abcd1234-7d9f8-bbbbb was not Ready within 50ms (Unschedulable: 0/1 nodes are available: 1 Insufficient memory.)",
		},
		{
			name: "Unschedulable, with its event",
			mut:  unschedulable,
			events: []runtime.Object{
				warning("Pod", "shop--abcd1234-7d9f8-bbbbb", "FailedScheduling", "0/1 nodes are available: 1 Insufficient memory.", time.Unix(100, 0)),
			},
			want: "pod shop--abcd1234-7d9f8-bbbbb was not Ready within 50ms (Unschedulable: 0/1 nodes are available: 1 Insufficient memory.); events: FailedScheduling: 0/1 nodes are available: 1 Insufficient memory.",
		},
		{
			name: "running, the probe never passes",
			mut:  runningNotReady,
			events: []runtime.Object{
				warning("Pod", "shop--abcd1234-7d9f8-bbbbb", "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 500", time.Unix(100, 0)),
			},
			want: "pod shop--abcd1234-7d9f8-bbbbb was not Ready within 50ms (running, not ready); events: Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 500",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rel := release("shop", "abcd1234", 2)
			r, _ := newCluster(t, append(tc.events, pod(rel, "aaaaa", ready), pod(rel, "bbbbb", tc.mut))...)
			var st statuses
			de := deployErr(t, r.Ready(ctxT(t), rel, 50*time.Millisecond, st.set))
			if de.Diagnosis != tc.want {
				t.Errorf("diagnosis\n  %s\nwant\n  %s", de.Diagnosis, tc.want)
			}
			if got := st.of(0); !slices.Equal(got, []string{""}) {
				t.Errorf("ready replica reported %q", got)
			}
			if got := st.of(1); len(got) != 1 || got[0] == "" {
				t.Errorf("waiting replica reported %q", got)
			}
		})
	}
}

func TestReadyTimeoutTooFew(t *testing.T) {
	rel := release("shop", "abcd1234", 3)
	r, _ := newCluster(t, pod(rel, "aaaaa", ready), pod(rel, "bbbbb", ready), pod(rel, "ccccc", ready, terminating))
	de := deployErr(t, r.Ready(ctxT(t), rel, 30*time.Millisecond, func(int, string) {}))
	if want := "fewer than 3 pods were Ready within 30ms"; de.Diagnosis != want {
		t.Errorf("diagnosis %q, want %q", de.Diagnosis, want)
	}
}

func TestReadyListRefused(t *testing.T) {
	rel := release("shop", "abcd1234", 1)
	r, cs := newCluster(t)
	cs.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", errors.New("no"))
	})
	err := r.Ready(ctxT(t), rel, time.Minute, func(int, string) {})
	if want := "cannot read the pods of shop--abcd1234 (context kind-test, namespace apps): the cluster refused it (forbidden)"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("err = %v, want %s…", err, want)
	}
}

func TestEventsOf(t *testing.T) {
	name := "shop--abcd1234-7d9f8-aaaaa"
	// Events made through events.k8s.io (the kubelet's and scheduler's, today) have
	// no lastTimestamp in the core view, only an eventTime or a series.
	newStyle := func(reason string, at time.Time) *corev1.Event {
		e := warning("Pod", name, reason, "m", at)
		e.LastTimestamp = metav1.Time{}
		e.EventTime = metav1.NewMicroTime(at)
		return e
	}
	series := newStyle("Series", time.Unix(10, 0))
	series.Series = &corev1.EventSeries{Count: 4, LastObservedTime: metav1.NewMicroTime(time.Unix(1000, 0))}
	normal := warning("Pod", name, "Pulled", "fine", time.Unix(2000, 0))
	normal.Type = corev1.EventTypeNormal
	objs := []runtime.Object{
		newStyle("E3", time.Unix(300, 0)), warning("Pod", name, "E1", "m", time.Unix(100, 0)), newStyle("E6", time.Unix(600, 0)),
		warning("Pod", name, "E5", "m", time.Unix(500, 0)), newStyle("E2", time.Unix(200, 0)), warning("Pod", name, "E4", "m", time.Unix(400, 0)),
		series, normal,
		// the same reason and message again: said once
		func() *corev1.Event { e := newStyle("E6", time.Unix(700, 0)); e.Name += "-again"; return e }(),
	}
	r, _ := newCluster(t, objs...)
	got := r.eventsOf(ctxT(t), "Pod", name)
	if want := "; events: E3: m; E4: m; E5: m; E6: m; Series: m"; got != want {
		t.Errorf("eventsOf = %q\nwant       %q (the newest five, oldest first, warnings only)", got, want)
	}
	if got := r.eventsOf(ctxT(t), "Pod", "nothing-happened"); got != "" {
		t.Errorf("no events: %q", got)
	}
}

func TestEventsOfRefused(t *testing.T) {
	r, cs := newCluster(t, warning("Pod", "p", "E", "m", time.Unix(1, 0)))
	cs.PrependReactor("list", "events", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "events"}, "", fmt.Errorf("no"))
	})
	if got := r.eventsOf(ctxT(t), "Pod", "p"); got != "" {
		t.Errorf("events the user may not read: %q, want nothing (the diagnosis goes on without them)", got)
	}
}

func TestEventTime(t *testing.T) {
	at := func(s int64) time.Time { return time.Unix(s, 0) }
	for _, tc := range []struct {
		name string
		e    corev1.Event
		want time.Time
	}{
		{"lastTimestamp", corev1.Event{LastTimestamp: metav1.NewTime(at(5)), EventTime: metav1.NewMicroTime(at(1))}, at(5)},
		{"eventTime only", corev1.Event{EventTime: metav1.NewMicroTime(at(3))}, at(3)},
		{"a series seen later", corev1.Event{EventTime: metav1.NewMicroTime(at(3)), Series: &corev1.EventSeries{LastObservedTime: metav1.NewMicroTime(at(9))}}, at(9)},
		{"no time but its creation", corev1.Event{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(at(7))}}, at(7)},
	} {
		if got := eventTime(tc.e); !got.Equal(tc.want) {
			t.Errorf("%s: eventTime = %v, want %v", tc.name, got, tc.want)
		}
	}
}
