package kube

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/pyship/pyship/internal/platform"
)

// Ready waits until rel's Deployment has every replica Ready (its readiness probe on
// the Plan's port and path passed), and fails as soon as one pod cannot get there:
// its image cannot be pulled, its container crashes or is killed for memory, its
// config is refused, or the cluster cannot place it.
func (r *Runtime) Ready(ctx context.Context, rel platform.Release, timeout time.Duration, status func(replica int, state string)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	want := max(1, rel.Spec.Replicas)
	sel := labels.Set(selector(rel.App, rel.Revision)).String()
	var last []corev1.Pod
	for {
		pods, err := r.CS.CoreV1().Pods(r.ns()).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil && ctx.Err() == nil {
			return r.explain(err, "read the pods of "+rel.Revision)
		}
		if err == nil {
			live := pods.Items[:0]
			for _, p := range pods.Items {
				if p.DeletionTimestamp == nil {
					live = append(live, p)
				}
			}
			slices.SortFunc(live, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
			last = live
			ready := 0
			for i, p := range live {
				if podReady(&p) {
					ready++
					status(i, "")
					continue
				}
				status(i, podState(&p))
				if why, fatal := failing(&p); fatal {
					return r.deployError(context.WithoutCancel(ctx), rel, &p, why)
				}
			}
			if ready >= want && len(live) >= want {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			if len(last) == 0 {
				return r.noPods(context.WithoutCancel(ctx), rel, sel, timeout)
			}
			for i := range last {
				if !podReady(&last[i]) {
					state := podState(&last[i])
					if c := unschedulable(&last[i]); c != nil && c.Message != "" {
						state += ": " + c.Message
					}
					return r.deployError(context.WithoutCancel(ctx), rel, &last[i],
						fmt.Sprintf("pod %s was not Ready within %s (%s)", last[i].Name, timeout, state))
				}
			}
			return &platform.DeployError{Revision: rel.Revision, Diagnosis: fmt.Sprintf("fewer than %d pods were Ready within %s", want, timeout)}
		case <-time.After(r.poll()):
		}
	}
}

// failing says whether a pod cannot become Ready without a change, and why.
func failing(p *corev1.Pod) (string, bool) {
	for _, c := range p.Status.ContainerStatuses {
		if w := c.State.Waiting; w != nil {
			switch w.Reason {
			case "ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull":
				return fmt.Sprintf("the node cannot pull the image (%s): %s; is --registry an address the cluster's nodes reach?", w.Reason, w.Message), true
			case "CreateContainerConfigError", "CreateContainerError", "RunContainerError":
				return fmt.Sprintf("the cluster cannot start its container (%s): %s", w.Reason, w.Message), true
			case "CrashLoopBackOff":
				return crashWhat(c), true
			}
		}
		if t := c.State.Terminated; t != nil && p.Spec.RestartPolicy == corev1.RestartPolicyNever {
			return crashWhat(c), true
		}
		if c.RestartCount > 0 && c.LastTerminationState.Terminated != nil {
			return crashWhat(c), true
		}
	}
	// Unschedulable is not fatal: it may pass (a node is being added, another app
	// scales down). Ready says it on timeout.
	return "", false
}

// unschedulable is the pod's PodScheduled condition when the scheduler found no node
// for it (its message says why: "0/3 nodes are available: 3 Insufficient memory.").
func unschedulable(p *corev1.Pod) *corev1.PodCondition {
	for i, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// noPods is a revision whose Deployment made no pod in time. Why is on the ReplicaSet
// (a quota, an admission policy refused the pod: FailedCreate), which the Deployment
// controller copies into the Deployment's ReplicaFailure condition; the Deployment's
// own events rarely say anything.
func (r *Runtime) noPods(ctx context.Context, rel platform.Release, sel string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	d := fmt.Sprintf("no pod of it was created within %s", timeout)
	dep, err := r.CS.AppsV1().Deployments(r.ns()).Get(ctx, rel.Revision, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		d += fmt.Sprintf(": its Deployment %s is not there", rel.Revision)
	case err == nil:
		for _, c := range dep.Status.Conditions {
			if c.Type == appsv1.DeploymentReplicaFailure && c.Status == corev1.ConditionTrue && c.Message != "" {
				d += ": " + c.Message
			}
		}
	}
	evs := r.warnings(ctx, "Deployment", rel.Revision)
	if rss, err := r.CS.AppsV1().ReplicaSets(r.ns()).List(ctx, metav1.ListOptions{LabelSelector: sel}); err == nil {
		for _, rs := range rss.Items {
			evs = append(evs, r.warnings(ctx, "ReplicaSet", rs.Name)...)
		}
	}
	return &platform.DeployError{Revision: rel.Revision, Diagnosis: d + eventLines(evs)}
}

func crashWhat(c corev1.ContainerStatus) string {
	t := c.LastTerminationState.Terminated
	if t == nil {
		t = c.State.Terminated
	}
	if t == nil {
		return fmt.Sprintf("it crashed and restarted %d time(s)", c.RestartCount)
	}
	if t.Reason == "OOMKilled" {
		return "it was killed for using too much memory (OOMKilled): raise the memory limit or lower the app's use"
	}
	return fmt.Sprintf("it exited with code %d (%s)", t.ExitCode, t.Reason)
}

// deployError is a revision that cannot become Ready, with its pod's last log lines
// (of the crashed container when it restarted), the hint they give, and the pod's
// warning events.
func (r *Runtime) deployError(ctx context.Context, rel platform.Release, p *corev1.Pod, why string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	logs := r.lastLogs(ctx, p)
	d := why
	if h := platform.LogHint(logs); h != "" {
		d += ": " + h
	}
	d += r.eventsOf(ctx, "Pod", p.Name)
	return &platform.DeployError{Revision: rel.Revision, Diagnosis: d, Logs: logs}
}

func (r *Runtime) lastLogs(ctx context.Context, p *corev1.Pod) string {
	n := int64(30)
	prev := false
	for _, c := range p.Status.ContainerStatuses {
		// Restarted, running again or not: what the crashed container wrote is in
		// the previous one's log, not in the new one's first lines.
		prev = c.RestartCount > 0 && c.LastTerminationState.Terminated != nil
	}
	read := func(previous bool) string {
		b, err := r.CS.CoreV1().Pods(r.ns()).GetLogs(p.Name, &corev1.PodLogOptions{Container: containerName, TailLines: &n, Previous: previous, LimitBytes: ptr(int64(64 << 10))}).DoRaw(ctx)
		// The kubelet answers 200 with this line, not an error, when the container
		// it was asked for is already gone: the crashed one was replaced between the
		// pod's status and this read, and its output is now the previous container's.
		if err != nil || strings.HasPrefix(string(b), "unable to retrieve container logs") {
			return ""
		}
		return strings.TrimRight(string(b), "\n")
	}
	if s := read(prev); s != "" {
		return s
	}
	return read(!prev)
}

func ptr[T any](v T) *T { return &v }

// eventsOf is the object's warning events, for a diagnosis ("" when there are none).
func (r *Runtime) eventsOf(ctx context.Context, kind, name string) string {
	return eventLines(r.warnings(ctx, kind, name))
}

// warnings lists the object's warning events; none when they cannot be read (the
// diagnosis goes on without them).
func (r *Runtime) warnings(ctx context.Context, kind, name string) []corev1.Event {
	ev, err := r.CS.CoreV1().Events(r.ns()).List(ctx, metav1.ListOptions{FieldSelector: fields.Set{
		"involvedObject.kind": kind, "involvedObject.name": name, "type": corev1.EventTypeWarning}.String()})
	if err != nil {
		return nil
	}
	return ev.Items
}

// eventLines is "; events: " and the newest five distinct events, oldest first.
func eventLines(evs []corev1.Event) string {
	if len(evs) == 0 {
		return ""
	}
	slices.SortStableFunc(evs, func(a, b corev1.Event) int { return eventTime(a).Compare(eventTime(b)) })
	var lines []string
	seen := map[string]bool{}
	for _, e := range evs {
		l := e.Reason + ": " + e.Message
		if !seen[l] {
			seen[l] = true
			lines = append(lines, l)
		}
	}
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return "; events: " + strings.Join(lines, "; ")
}

// eventTime is when an event last happened. Events recorded through events.k8s.io
// (the kubelet's and the scheduler's) have no lastTimestamp in the core view, only an
// eventTime and, once repeated, a series: sorting on lastTimestamp alone put them
// first, and the five newest kept were the wrong ones.
func eventTime(e corev1.Event) time.Time {
	t := e.LastTimestamp.Time
	if e.Series != nil && e.Series.LastObservedTime.After(t) {
		t = e.Series.LastObservedTime.Time
	}
	if t.IsZero() {
		t = e.EventTime.Time
	}
	if t.IsZero() {
		t = e.CreationTimestamp.Time
	}
	return t
}
