package k8s

import (
	"context"
	"reflect"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	appsac "k8s.io/client-go/applyconfigurations/apps/v1"
	coreac "k8s.io/client-go/applyconfigurations/core/v1"
	metaac "k8s.io/client-go/applyconfigurations/meta/v1"

	"github.com/pyship/pyship/internal/kube"
	"github.com/pyship/pyship/internal/platform"
	"github.com/pyship/pyship/internal/store"
)

// pyshipFields is the managed-fields entry of pyship's applies, timestamp included: an
// apply that changes anything rewrites it.
func pyshipFields(m []metav1.ManagedFieldsEntry) []metav1.ManagedFieldsEntry {
	var out []metav1.ManagedFieldsEntry
	for _, f := range m {
		if f.Manager == fieldManager && f.Operation == metav1.ManagedFieldsOperationApply {
			out = append(out, f)
		}
	}
	return out
}

// TestRuntimeOnAPIServer drives kube.Runtime, the steps pyship's revision state machine
// takes on a cluster, against the real API server and controller-manager (no node is
// needed: the pods stay Pending). Starting a revision again changes nothing (same
// generation and resourceVersion); Route points the app's Service at one revision;
// List reads the revisions' pods and specs back; Remove deletes exactly one revision's
// Deployment, Secret, autoscaler and pods; Purge deletes what is left of the app, and
// neither touches another app's objects, another state directory's, or objects pyship
// did not make.
func TestRuntimeOnAPIServer(t *testing.T) {
	c := cluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ns := c.namespace(t, "pyship-rt")
	r := &kube.Runtime{CS: c.cs, Config: c.cfg, Target: store.Target{Kind: store.Kubernetes, Context: "pyship-test", Namespace: ns}, StateID: "st1", Grace: 1, Poll: 100 * time.Millisecond}
	v1 := release("web", "web--aaaa0001", 2, map[string]string{"TOKEN": "one"})
	v2 := release("web", "web--bbbb0002", 1, map[string]string{"TOKEN": "two"})
	v2.Spec.MaxReplicas = 4
	// Start creates the namespace, as a first deploy to a new cluster expects.
	if err := r.Start(ctx, v1); err != nil {
		t.Fatal(err)
	}
	dep1, err := c.cs.AppsV1().Deployments(ns).Get(ctx, v1.Revision, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sec1, err := c.cs.CoreV1().Secrets(ns).Get(ctx, v1.Revision, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *dep1.Spec.Replicas != 2 || string(sec1.Data["TOKEN"]) != "one" || sec1.Immutable == nil || !*sec1.Immutable || !managedByPyship(dep1.ManagedFields) {
		t.Errorf("v1: replicas %d, secret %q immutable %v, managers %+v", *dep1.Spec.Replicas, sec1.Data["TOKEN"], sec1.Immutable, dep1.ManagedFields)
	}
	// Again, as a retried deploy does: a no-op for the API server.
	if err := r.Start(ctx, v1); err != nil {
		t.Fatal(err)
	}
	again, err := c.cs.AppsV1().Deployments(ns).Get(ctx, v1.Revision, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	secAgain, err := c.cs.CoreV1().Secrets(ns).Get(ctx, v1.Revision, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The Deployment's resourceVersion moves with its status and the annotations the
	// controller-manager writes; what pyship applies does not: no new generation,
	// pyship's managed-fields entry (with its time) not rewritten.
	if again.Generation != dep1.Generation || !reflect.DeepEqual(pyshipFields(again.ManagedFields), pyshipFields(dep1.ManagedFields)) ||
		again.Annotations[kube.AnnotationSpec] != dep1.Annotations[kube.AnnotationSpec] {
		t.Errorf("re-start changed v1's Deployment: generation %d -> %d, pyship's fields %+v -> %+v",
			dep1.Generation, again.Generation, pyshipFields(dep1.ManagedFields), pyshipFields(again.ManagedFields))
	}
	if secAgain.ResourceVersion != sec1.ResourceVersion {
		t.Errorf("re-start rewrote v1's Secret: resourceVersion %s -> %s", sec1.ResourceVersion, secAgain.ResourceVersion)
	}
	// A change does show (so the checks above can fail): a throwaway revision applied
	// twice, the second time with another env.
	x := release("web", "web--cccc0003", 1, nil)
	if err := r.Start(ctx, x); err != nil {
		t.Fatal(err)
	}
	dx, err := c.cs.AppsV1().Deployments(ns).Get(ctx, x.Revision, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	x.Env = append([]string{"EXTRA=1"}, x.Env...)
	if err := r.Start(ctx, x); err != nil {
		t.Fatal(err)
	}
	if d, err := c.cs.AppsV1().Deployments(ns).Get(ctx, x.Revision, metav1.GetOptions{}); err != nil || d.Generation == dx.Generation ||
		reflect.DeepEqual(pyshipFields(d.ManagedFields), pyshipFields(dx.ManagedFields)) {
		t.Errorf("a changed env did not make a new generation and managed-fields entry (%v)", err)
	}
	if err := r.Remove(ctx, "web", x.Revision, 0); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx, v2); err != nil {
		t.Fatal(err)
	}
	if _, err := c.cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, v2.Revision, metav1.GetOptions{}); err != nil {
		t.Errorf("v2's autoscaler: %v", err)
	}

	route := func(rev string) {
		t.Helper()
		if err := r.Route(ctx, map[string]platform.Traffic{"web": {Weights: map[string]int{rev: 100}}}); err != nil {
			t.Fatal(err)
		}
		got, err := r.Routed(ctx, "web")
		if err != nil || len(got) != 1 || got[rev] != 100 {
			t.Errorf("routed %v (%v), want %s", got, err, rev)
		}
	}
	route(v1.Revision)
	route(v2.Revision)
	if err := r.Route(ctx, map[string]platform.Traffic{"web": {Weights: map[string]int{v1.Revision: 50, v2.Revision: 50}}}); err == nil {
		t.Error("a 50/50 split was accepted")
	}
	if got, _ := r.Routed(ctx, "web"); got[v2.Revision] != 100 {
		t.Errorf("a refused split moved the Service: %v", got)
	}

	// What is not the app's, or not this state directory's, in the same namespace.
	foreignCM, err := c.cs.CoreV1().ConfigMaps(ns).Create(ctx, configMap(ns, "not-pyships"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	other := func(name string, labels map[string]string) {
		t.Helper()
		sel := map[string]string{"run": name}
		d := appsac.Deployment(name, ns).WithLabels(labels).WithSpec(appsac.DeploymentSpec().WithReplicas(1).
			WithSelector(metaac.LabelSelector().WithMatchLabels(sel)).
			WithTemplate(coreac.PodTemplateSpec().WithLabels(sel).WithSpec(coreac.PodSpec().
				WithContainers(coreac.Container().WithName("c").WithImage(neverPulled)))))
		if _, err := c.cs.AppsV1().Deployments(ns).Apply(ctx, d, metav1.ApplyOptions{FieldManager: "someone-else"}); err != nil {
			t.Fatal(err)
		}
		s := coreac.Secret(name, ns).WithLabels(labels).WithStringData(map[string]string{"k": "v"})
		if _, err := c.cs.CoreV1().Secrets(ns).Apply(ctx, s, metav1.ApplyOptions{FieldManager: "someone-else"}); err != nil {
			t.Fatal(err)
		}
	}
	other("other-state", map[string]string{kube.LabelManagedBy: "pyship", kube.LabelState: "st2", kube.LabelApp: "web"})
	other("other-app", map[string]string{kube.LabelManagedBy: "pyship", kube.LabelState: "st1", kube.LabelApp: "api"})
	other("same-app-label", map[string]string{kube.LabelApp: "web"}) // not pyship's

	// The controller-manager makes the revisions' pods (Pending: nothing runs them);
	// List reads them back with each revision's spec.
	lctx, lcancel := context.WithTimeout(ctx, time.Minute)
	defer lcancel()
	var last map[string]int
	err = poll(lctx, 200*time.Millisecond, func() (bool, error) {
		reps, err := r.List(lctx, "web")
		n := map[string]int{}
		for _, rep := range reps {
			if rep.Spec == nil || rep.Spec.Port != 8000 || rep.App != "web" {
				t.Fatalf("replica %+v: no spec read back", rep)
			}
			n[rep.Revision]++
		}
		last = n
		return err == nil && n[v1.Revision] == 2 && n[v2.Revision] == 1 && len(n) == 2, err
	})
	if err != nil {
		t.Fatalf("List: %v; pods per revision %v", err, last)
	}

	// Remove v1: exactly its objects.
	if err := r.Remove(ctx, "web", v1.Revision, 0); err != nil {
		t.Fatal(err)
	}
	gone := func(kind string, err error) {
		t.Helper()
		if !apierrors.IsNotFound(err) {
			t.Errorf("%s still there after removal (%v)", kind, err)
		}
	}
	_, err = c.cs.AppsV1().Deployments(ns).Get(ctx, v1.Revision, metav1.GetOptions{})
	gone("v1's Deployment", err)
	_, err = c.cs.CoreV1().Secrets(ns).Get(ctx, v1.Revision, metav1.GetOptions{})
	gone("v1's Secret", err)
	if n := c.countPods(ctx, t, ns, kube.LabelRevision+"="+v1.Revision); n != 0 {
		t.Errorf("%d pod(s) of v1 after Remove returned", n)
	}
	for _, get := range []func() error{
		func() error {
			_, err := c.cs.AppsV1().Deployments(ns).Get(ctx, v2.Revision, metav1.GetOptions{})
			return err
		},
		func() error {
			_, err := c.cs.CoreV1().Secrets(ns).Get(ctx, v2.Revision, metav1.GetOptions{})
			return err
		},
		func() error {
			_, err := c.cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, v2.Revision, metav1.GetOptions{})
			return err
		},
		func() error { _, err := c.cs.CoreV1().Services(ns).Get(ctx, "web", metav1.GetOptions{}); return err },
	} {
		if err := get(); err != nil {
			t.Errorf("removing v1 took something of v2's or the app's: %v", err)
		}
	}
	if n := c.countPods(ctx, t, ns, kube.LabelRevision+"="+v2.Revision); n != 1 {
		t.Errorf("v2 has %d pod(s) after v1's removal, want 1", n)
	}

	// Purge: the rest of the app, nothing else.
	if err := r.Purge(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	err = poll(ctx, 200*time.Millisecond, func() (bool, error) {
		n := c.countAppObjects(ctx, t, ns, kube.LabelState+"=st1,"+kube.LabelApp+"=web")
		total := 0
		for _, v := range n {
			total += v
		}
		return total == 0, nil
	})
	if err != nil {
		t.Errorf("the app's objects remain after Purge: %v", c.countAppObjects(ctx, t, ns, kube.LabelState+"=st1,"+kube.LabelApp+"=web"))
	}
	if cm, err := c.cs.CoreV1().ConfigMaps(ns).Get(ctx, "not-pyships", metav1.GetOptions{}); err != nil || cm.UID != foreignCM.UID {
		t.Errorf("Purge took a ConfigMap pyship did not make: %v", err)
	}
	for _, name := range []string{"other-state", "other-app", "same-app-label"} {
		if _, err := c.cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{}); err != nil {
			t.Errorf("Purge took the Deployment %s: %v", name, err)
		}
		if _, err := c.cs.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{}); err != nil {
			t.Errorf("Purge took the Secret %s: %v", name, err)
		}
	}
}
