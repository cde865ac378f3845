package kube

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coreac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/pyship/pyship/internal/platform"
)

// execStartTimeout bounds the wait for a one-off pod to start (image pull included).
const execStartTimeout = 5 * time.Minute

// Exec runs a one-off command in a new pod of rel's image, settings and secrets, with
// no labels a Service or listing selects (no traffic), prints its output, and deletes
// the pod when the command ends; it returns the command's exit code. The pod runs the
// command as the image's entrypoint would be replaced by docker run --entrypoint.
func (r *Runtime) Exec(ctx context.Context, rel platform.Release, o platform.ExecOptions) (int, error) {
	if o.Stdin != nil {
		return -1, errors.New("exec -i (standard input) is not available on Kubernetes: run the command without -i, or kubectl run -i")
	}
	o2 := r.options(ctx, rel)
	objs := RevisionObjects(rel, o2)
	suffix := make([]byte, 4)
	rand.Read(suffix)
	name := fmt.Sprintf("%s-exec-%s", rel.Revision, hex.EncodeToString(suffix))
	tmpl := objs.Deployment.Spec.Template.Spec
	c := tmpl.Containers[0]
	c.Command, c.Args = o.Argv[:1], o.Argv[1:]
	c.ReadinessProbe, c.Lifecycle, c.Ports = nil, nil, nil
	tmpl.Containers = []coreac.ContainerApplyConfiguration{c}
	tmpl.WithRestartPolicy(corev1.RestartPolicyNever)
	lbl := appLabels(rel.App, o2.StateID)
	delete(lbl, LabelApp) // not a replica: nothing lists, routes or reconciles it
	lbl[platform.LabelExec] = rel.App
	pod := coreac.Pod(name, r.ns()).WithLabels(lbl).WithSpec(tmpl)

	cctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	// A retired revision's Secret is gone: the pod gets one of its own, deleted with it.
	var ownSecret bool
	if objs.Secret != nil {
		if _, err := r.CS.CoreV1().Secrets(r.ns()).Get(cctx, rel.Revision, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			if _, err := r.CS.CoreV1().Secrets(r.ns()).Apply(cctx, objs.Secret, applyOpts()); err != nil {
				return -1, r.explain(err, "create the Secret of "+rel.Revision)
			}
			ownSecret = true
		}
	}
	if _, err := r.CS.CoreV1().Pods(r.ns()).Apply(cctx, pod, applyOpts()); err != nil {
		return -1, r.explain(err, "create the pod "+name)
	}
	defer func() {
		dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), requestTimeout)
		defer dcancel()
		zero := int64(0)
		r.CS.CoreV1().Pods(r.ns()).Delete(dctx, name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
		if ownSecret {
			r.CS.CoreV1().Secrets(r.ns()).Delete(dctx, rel.Revision, metav1.DeleteOptions{})
		}
	}()
	// Wait until the container runs or ended, then follow its output to the end.
	sctx, scancel := context.WithTimeout(ctx, execStartTimeout)
	defer scancel()
	for {
		p, err := r.CS.CoreV1().Pods(r.ns()).Get(sctx, name, metav1.GetOptions{})
		if err != nil {
			if sctx.Err() != nil {
				return -1, fmt.Errorf("the pod %s did not start within %s", name, execStartTimeout)
			}
			return -1, r.explain(err, "read the pod "+name)
		}
		// A short command can end before the kubelet reports the pod's phase: its
		// container's state says it ran, and its exit code is the command's, not a
		// failure to start.
		if p.Status.Phase != corev1.PodPending || ran(p) {
			break
		}
		if why, fatal := failing(p); fatal {
			return -1, fmt.Errorf("the command's pod %s cannot start: %s", name, why)
		}
		select {
		case <-sctx.Done():
			return -1, fmt.Errorf("the pod %s did not start within %s (%s)", name, execStartTimeout, podState(p))
		case <-time.After(r.poll()):
		}
	}
	out := o.Stdout
	if out == nil {
		out = io.Discard
	}
	rc, err := r.CS.CoreV1().Pods(r.ns()).GetLogs(name, &corev1.PodLogOptions{Container: containerName, Follow: true}).Stream(ctx)
	if err != nil {
		return -1, r.explain(err, "read the output of "+name)
	}
	_, cerr := io.Copy(out, rc)
	rc.Close()
	if ctx.Err() != nil {
		return -1, ctx.Err()
	}
	if cerr != nil {
		return -1, cerr
	}
	// The log stream ends when the container does; its exit code follows shortly.
	wctx, wcancel := context.WithTimeout(ctx, time.Minute)
	defer wcancel()
	for {
		p, err := r.CS.CoreV1().Pods(r.ns()).Get(wctx, name, metav1.GetOptions{})
		if err == nil {
			for _, cs := range p.Status.ContainerStatuses {
				if t := cs.State.Terminated; t != nil {
					return int(t.ExitCode), nil
				}
			}
		}
		select {
		case <-wctx.Done():
			return -1, fmt.Errorf("the pod %s has no exit code after its output ended", name)
		case <-time.After(r.poll()):
		}
	}
}

// ran is whether the pod's container has started (or already ended).
func ran(p *corev1.Pod) bool {
	for _, c := range p.Status.ContainerStatuses {
		if c.State.Running != nil || c.State.Terminated != nil {
			return true
		}
	}
	return false
}
