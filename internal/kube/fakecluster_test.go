package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/pyship/pyship/internal/platform"
	"github.com/pyship/pyship/internal/store"
)

// The fake clientset is client-go's object tracker: no controllers, no defaulting, no
// deletecollection, no field selectors. newCluster adds the two server behaviours
// pyship relies on (deletecollection by label, events by field selector) so that the
// tests exercise the same calls a real API server answers.

const (
	testNS    = "apps"
	testState = "0badcafe"
	testCtx   = "kind-test"
)

// kinds maps the resources pyship deletes by collection to their kind, for the tracker.
var kinds = map[string]string{
	"pods": "Pod", "deployments": "Deployment", "replicasets": "ReplicaSet",
	"secrets": "Secret", "services": "Service",
}

func newCluster(t *testing.T, objs ...runtime.Object) (*Runtime, *fake.Clientset) {
	t.Helper()
	cs := fake.NewClientset(objs...)
	cs.PrependReactor("delete-collection", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		dc := a.(k8stesting.DeleteCollectionActionImpl)
		gvr := dc.GetResource()
		kind, ok := kinds[gvr.Resource]
		if !ok {
			return true, nil, fmt.Errorf("test cluster: deletecollection of %s not simulated", gvr.Resource)
		}
		sel, err := labels.Parse(dc.ListOptions.LabelSelector)
		if err != nil {
			return true, nil, err
		}
		list, err := cs.Tracker().List(gvr, schema.GroupVersionKind{Group: gvr.Group, Version: gvr.Version, Kind: kind}, dc.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			return true, nil, err
		}
		for _, it := range items {
			m, _ := meta.Accessor(it)
			if sel.Matches(labels.Set(m.GetLabels())) {
				if err := cs.Tracker().Delete(gvr, dc.GetNamespace(), m.GetName()); err != nil {
					return true, nil, err
				}
			}
		}
		return true, nil, nil
	})
	cs.PrependReactor("list", "events", func(a k8stesting.Action) (bool, runtime.Object, error) {
		la := a.(k8stesting.ListActionImpl)
		sel := fields.Everything()
		if s := la.ListOptions.FieldSelector; s != "" {
			var err error
			if sel, err = fields.ParseSelector(s); err != nil {
				return true, nil, err
			}
		}
		obj, err := cs.Tracker().List(la.GetResource(), la.GetKind(), la.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		all := obj.(*corev1.EventList)
		out := &corev1.EventList{}
		for _, e := range all.Items {
			if sel.Matches(fields.Set{"involvedObject.kind": e.InvolvedObject.Kind, "involvedObject.name": e.InvolvedObject.Name, "type": e.Type}) {
				out.Items = append(out.Items, e)
			}
		}
		return true, out, nil
	})
	r := &Runtime{CS: cs, Target: store.Target{Context: testCtx, Namespace: testNS}, StateID: testState, Poll: 5 * time.Millisecond}
	return r, cs
}

func release(app, hash string, replicas int) platform.Release {
	return platform.Release{
		App: app, Revision: app + "--" + hash,
		Spec: store.Spec{Image: "sha256:" + hash, ImageRef: "reg.test/" + app + "@sha256:" + hash, Port: 8000, Probe: "/healthz", Replicas: replicas},
		Env:  []string{"PORT=8000"},
	}
}

// pod is a pod of a revision as its ReplicaSet would make it: the revision's labels,
// a name that starts with the revision's.
func pod(rel platform.Release, suffix string, mut ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: rel.Revision + "-7d9f8-" + suffix, Namespace: testNS,
			Labels:            revisionLabels(rel.App, rel.Revision, testState),
			CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))},
		Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: containerName}}},
		Status: corev1.PodStatus{Phase: corev1.PodPending},
	}
	for _, m := range mut {
		m(p)
	}
	return p
}

func ready(p *corev1.Pod) {
	p.Status.Phase = corev1.PodRunning
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: containerName, Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
}

func runningNotReady(p *corev1.Pod) {
	p.Status.Phase = corev1.PodRunning
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: containerName, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
}

func waiting(reason, msg string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: containerName, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}}}
	}
}

func terminating(p *corev1.Pod) {
	now := metav1.Now()
	p.DeletionTimestamp = &now
}

func deployment(rel platform.Release, o Options) *appsv1.Deployment {
	var d appsv1.Deployment
	mustConvert(RevisionObjects(rel, o).Deployment, &d)
	return &d
}

func warning(kind, name, reason, msg string, at time.Time) *corev1.Event {
	return &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", name, at.UnixNano()), Namespace: testNS},
		InvolvedObject: corev1.ObjectReference{Kind: kind, Name: name, Namespace: testNS},
		Type:           corev1.EventTypeWarning, Reason: reason, Message: msg,
		LastTimestamp: metav1.NewTime(at),
	}
}

// logRequests are the log reads made so far, in order.
func logRequests(cs *fake.Clientset) []*corev1.PodLogOptions {
	var out []*corev1.PodLogOptions
	for _, a := range cs.Actions() {
		if g, ok := a.(k8stesting.GenericActionImpl); ok && g.GetSubresource() == "log" {
			out = append(out, g.Value.(*corev1.PodLogOptions))
		}
	}
	return out
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// mustConvert turns an apply configuration into the typed object the API server would
// store from it (both marshal to the same JSON).
func mustConvert(from, to any) {
	b, err := json.Marshal(from)
	if err != nil {
		panic(err)
	}
	if err := json.Unmarshal(b, to); err != nil {
		panic(err)
	}
}
