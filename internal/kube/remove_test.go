package kube

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/pyship/pyship/internal/platform"
)

var (
	podsGVR = corev1.SchemeGroupVersion.WithResource("pods")
	rsGVR   = appsv1.SchemeGroupVersion.WithResource("replicasets")
)

// replicaSet is the ReplicaSet the Deployment controller would make for rel: the
// template's labels and a pod-template-hash.
func replicaSet(rel platform.Release) *appsv1.ReplicaSet {
	l := revisionLabels(rel.App, rel.Revision, testState)
	l["pod-template-hash"] = "7d9f8"
	return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: rel.Revision + "-7d9f8", Namespace: testNS, Labels: l}}
}

// revisionObjects is everything a started revision has on the cluster: its Secret,
// Deployment, ReplicaSet and pods.
func revisionObjects(rel platform.Release, pods int) []runtime.Object {
	var s corev1.Secret
	mustConvert(RevisionObjects(rel, Options{Namespace: testNS, StateID: testState}).Secret, &s)
	objs := []runtime.Object{&s, deployment(rel, Options{Namespace: testNS, StateID: testState}), replicaSet(rel)}
	for i := range pods {
		objs = append(objs, pod(rel, string(rune('a'+i))+"aaaa", ready))
	}
	return objs
}

func names(t *testing.T, cs *fake.Clientset, gvr schema.GroupVersionResource, kind string) []string {
	t.Helper()
	list, err := cs.Tracker().List(gvr, gvr.GroupVersion().WithKind(kind), testNS)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	switch l := list.(type) {
	case *corev1.PodList:
		for _, o := range l.Items {
			out = append(out, o.Name)
		}
	case *corev1.SecretList:
		for _, o := range l.Items {
			out = append(out, o.Name)
		}
	case *corev1.ServiceList:
		for _, o := range l.Items {
			out = append(out, o.Name)
		}
	case *appsv1.DeploymentList:
		for _, o := range l.Items {
			out = append(out, o.Name)
		}
	case *appsv1.ReplicaSetList:
		for _, o := range l.Items {
			out = append(out, o.Name)
		}
	}
	slices.Sort(out)
	return out
}

func twoRevisions() (v1, v2 platform.Release, objs []runtime.Object) {
	v1, v2 = secretRelease(), secretRelease()
	v2.Revision = "shop--0000beef"
	return v1, v2, append(revisionObjects(v1, 2), revisionObjects(v2, 1)...)
}

func TestRemoveAtOnce(t *testing.T) {
	v1, v2, objs := twoRevisions()
	r, cs := newCluster(t, objs...)
	if err := r.Remove(ctxT(t), "shop", v1.Revision, 0); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		gvr  schema.GroupVersionResource
		kind string
		want []string
	}{
		{appsv1.SchemeGroupVersion.WithResource("deployments"), "Deployment", []string{v2.Revision}},
		{corev1.SchemeGroupVersion.WithResource("secrets"), "Secret", []string{v2.Revision}},
		{rsGVR, "ReplicaSet", []string{v2.Revision + "-7d9f8"}},
		{podsGVR, "Pod", []string{v2.Revision + "-7d9f8-aaaaa"}},
	} {
		if got := names(t, cs, c.gvr, c.kind); !slices.Equal(got, c.want) {
			t.Errorf("%s left: %v, want %v", c.gvr.Resource, got, c.want)
		}
	}
	// The pods go with no grace, and only after their ReplicaSet: a ReplicaSet that
	// the garbage collector has not reached yet would replace them, and the
	// replacements would then get the full grace.
	var order []string
	for _, a := range cs.Actions() {
		switch a := a.(type) {
		case k8stesting.DeleteActionImpl:
			order = append(order, a.GetResource().Resource)
			if a.GetResource().Resource == "deployments" && (a.DeleteOptions.PropagationPolicy == nil || *a.DeleteOptions.PropagationPolicy != metav1.DeletePropagationBackground) {
				t.Errorf("Deployment deleted with propagation %v, want Background", a.DeleteOptions.PropagationPolicy)
			}
		case k8stesting.DeleteCollectionActionImpl:
			order = append(order, a.GetResource().Resource+"*")
			if a.GetResource().Resource == "pods" && (a.DeleteOptions.GracePeriodSeconds == nil || *a.DeleteOptions.GracePeriodSeconds != 0) {
				t.Errorf("pods deleted with grace %v, want 0", a.DeleteOptions.GracePeriodSeconds)
			}
		}
	}
	if i, j := slices.Index(order, "replicasets*"), slices.Index(order, "pods*"); i < 0 || j < 0 || i > j || order[0] != "deployments" {
		t.Errorf("deletes in order %v, want the Deployment, then its ReplicaSets, then the pods", order)
	}
}

func TestRemoveWaitsForPods(t *testing.T) {
	v1, v2, objs := twoRevisions()
	r, cs := newCluster(t, objs...)
	done := make(chan error, 1)
	go func() { done <- r.Remove(ctxT(t), "shop", v1.Revision, 30*time.Second) }()
	podLists := func() int {
		n := 0
		for _, a := range cs.Actions() {
			if a.GetVerb() == "list" && a.GetResource().Resource == "pods" {
				n++
			}
		}
		return n
	}
	for podLists() < 3 {
		select {
		case err := <-done:
			t.Fatalf("Remove returned %v while the revision's pods were still there", err)
		case <-time.After(time.Millisecond):
		}
	}
	for _, a := range cs.Actions() {
		if dc, ok := a.(k8stesting.DeleteCollectionActionImpl); ok && dc.GetResource().Resource == "pods" {
			t.Error("a graceful Remove deleted the pods itself, with no grace")
		}
	}
	// The garbage collector deletes them once their grace has passed.
	for _, p := range names(t, cs, podsGVR, "Pod") {
		if strings.HasPrefix(p, v1.Revision+"-") {
			if err := cs.Tracker().Delete(podsGVR, testNS, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Remove did not return once the pods were gone")
	}
	if got := names(t, cs, podsGVR, "Pod"); !slices.Equal(got, []string{v2.Revision + "-7d9f8-aaaaa"}) {
		t.Errorf("pods left %v", got)
	}
}

func TestRemoveTimeout(t *testing.T) {
	for _, tc := range []struct {
		grace time.Duration
		rg    int64 // the Runtime's Grace
		want  string
	}{
		// The bound: the pods' grace and preStop delay, and 30 s for the cluster.
		{30 * time.Second, 0, "2 pod(s) of shop--abcd1234 still there after 1m5s"},
		{10 * time.Second, 10, "2 pod(s) of shop--abcd1234 still there after 45s"},
		// No grace: the kubelet has 30 s to stop them. (The fake keeps pods deleted
		// with no grace here, as a slow kubelet would.)
		{0, 10, "2 pod(s) of shop--abcd1234 still there after 30s"},
	} {
		v1, _, objs := twoRevisions()
		r, cs := newCluster(t, objs...)
		r.Grace = tc.rg
		cs.PrependReactor("delete-collection", "pods", func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, nil })
		ctx, cancel := context.WithTimeout(ctxT(t), 100*time.Millisecond)
		err := r.Remove(ctx, "shop", v1.Revision, tc.grace)
		cancel()
		if err == nil || err.Error() != tc.want {
			t.Errorf("grace %s: err = %v, want %s", tc.grace, err, tc.want)
		}
	}
}

func TestRemoveNothingLeft(t *testing.T) {
	r, _ := newCluster(t)
	if err := r.Remove(ctxT(t), "shop", "shop--abcd1234", 0); err != nil {
		t.Fatalf("removing a revision that is already gone: %v", err)
	}
}

func TestRemoveErrors(t *testing.T) {
	forbidden := func(res string) error {
		return apierrors.NewForbidden(schema.GroupResource{Resource: res}, "", errors.New("no"))
	}
	for _, tc := range []struct {
		name, verb, res string
		err             error
		want            string
	}{
		{"Deployment", "delete", "deployments", forbidden("deployments"), "cannot delete the Deployment shop--abcd1234 (context kind-test, namespace apps): the cluster refused it (forbidden)"},
		{"pods", "delete-collection", "pods", forbidden("pods"), "cannot delete the pods of shop--abcd1234 (context kind-test, namespace apps): the cluster refused it (forbidden)"},
		{"Secret", "delete", "secrets", forbidden("secrets"), "cannot delete the Secret shop--abcd1234 (context kind-test, namespace apps): the cluster refused it (forbidden)"},
		// Not "0 pod(s) still there" after a minute of refused lists.
		{"pods unreadable", "list", "pods", forbidden("pods"), "cannot read the pods of shop--abcd1234 (context kind-test, namespace apps): the cluster refused it (forbidden)"},
		// The garbage collector deletes them; only the wait for the pods is longer.
		{"ReplicaSets: not an error", "delete-collection", "replicasets", forbidden("replicasets"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rel := secretRelease()
			r, cs := newCluster(t, revisionObjects(rel, 0)...)
			cs.PrependReactor(tc.verb, tc.res, func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, tc.err })
			ctx, cancel := context.WithTimeout(ctxT(t), 5*time.Second)
			defer cancel()
			err := r.Remove(ctx, "shop", rel.Revision, 0)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %s…", err, tc.want)
			}
		})
	}
}

func TestPurge(t *testing.T) {
	mine := secretRelease()
	sibling := release("cart", "12345678", 1) // another app of the same state
	sibling.Secrets = map[string][]byte{"K": []byte("v")}
	theirs := secretRelease() // the same app of another state directory
	theirs.Revision = "shop--feedf00d"
	var theirSecret corev1.Secret
	mustConvert(RevisionObjects(theirs, Options{Namespace: testNS, StateID: "feedf00d"}).Secret, &theirSecret)
	foreign := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "shop-tls", Namespace: testNS, Labels: map[string]string{LabelApp: "shop"}}}
	objs := append(revisionObjects(mine, 0), revisionObjects(sibling, 0)...)
	objs = append(objs, deployment(theirs, Options{Namespace: testNS, StateID: "feedf00d"}), &theirSecret, foreign,
		service("shop", mine.Revision, testState), service("cart", sibling.Revision, testState), func() runtime.Object {
			s := service("shop", theirs.Revision, "feedf00d")
			s.Name = "shop-other"
			return s
		}())
	// A look-alike with the app's and state's labels that pyship did not apply.
	lookalike := service("shop", mine.Revision, testState)
	lookalike.Name = "shop-by-hand"
	applied(objs...)
	objs = append(objs, lookalike)
	r, cs := newCluster(t, objs...)
	if err := r.Purge(ctxT(t), "shop"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		gvr  schema.GroupVersionResource
		kind string
		want []string
	}{
		{appsv1.SchemeGroupVersion.WithResource("deployments"), "Deployment", []string{sibling.Revision, theirs.Revision}},
		{corev1.SchemeGroupVersion.WithResource("secrets"), "Secret", []string{sibling.Revision, theirs.Revision, "shop-tls"}},
		{corev1.SchemeGroupVersion.WithResource("services"), "Service", []string{"cart", "shop-by-hand", "shop-other"}},
	} {
		if got := names(t, cs, c.gvr, c.kind); !slices.Equal(got, c.want) {
			t.Errorf("%s left: %v, want %v", c.gvr.Resource, got, c.want)
		}
	}
}

func TestPurgeErrors(t *testing.T) {
	for _, tc := range []struct {
		verb, res, want string
	}{
		{"list", "deployments", "cannot list the Deployments of shop"},
		{"list", "secrets", "cannot list the Secrets of shop"},
		{"list", "services", "cannot list the Services of shop"},
		{"delete", "services", "cannot delete Service shop"},
	} {
		t.Run(tc.verb+" "+tc.res, func(t *testing.T) {
			r, cs := newCluster(t, applied(service("shop", "shop--v1", testState))...)
			cs.PrependReactor(tc.verb, tc.res, func(k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: tc.res}, "", errors.New("no"))
			})
			err := r.Purge(ctxT(t), "shop")
			if want := tc.want + " (context kind-test, namespace apps): the cluster refused it (forbidden)"; err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("err = %v, want %s…", err, want)
			}
		})
	}
}

// applied marks objects as applied by pyship's field manager, as the API server records
// a server-side apply (the fake records none for objects it is seeded with).
func applied(objs ...runtime.Object) []runtime.Object {
	for _, o := range objs {
		if m, err := meta.Accessor(o); err == nil {
			m.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: FieldManager, Operation: metav1.ManagedFieldsOperationApply}})
		}
	}
	return objs
}

func TestPurgeAlreadyGone(t *testing.T) {
	r, cs := newCluster(t, applied(service("shop", "shop--v1", testState))...)
	cs.PrependReactor("delete", "services", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewNotFound(schema.GroupResource{Resource: "services"}, "shop")
	})
	if err := r.Purge(ctxT(t), "shop"); err != nil {
		t.Fatal(err)
	}
}
