package kube

import (
	"encoding/json"
	"maps"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/pyship/pyship/internal/platform"
)

func TestSplitPods(t *testing.T) {
	for _, tc := range []struct {
		weights map[string]int
		min     int
		want    map[string]int
	}{
		{map[string]int{"a": 50, "b": 50}, 2, map[string]int{"a": 1, "b": 1}},
		{map[string]int{"a": 50, "b": 50}, 3, map[string]int{"a": 2, "b": 2}},
		{map[string]int{"a": 90, "b": 10}, 2, map[string]int{"a": 7, "b": 1}}, // 87.5/12.5
		{map[string]int{"a": 80, "b": 20}, 2, map[string]int{"a": 4, "b": 1}},
		{map[string]int{"a": 99, "b": 1}, 2, map[string]int{"a": 19, "b": 1}},
		{map[string]int{"a": 34, "b": 33, "c": 33}, 1, map[string]int{"a": 1, "b": 1, "c": 1}},
		{map[string]int{"a": 100, "b": 0}, 2, map[string]int{"a": 2}},
		{map[string]int{}, 2, map[string]int{}},
	} {
		if got := SplitPods(tc.weights, tc.min); !maps.Equal(got, tc.want) {
			t.Errorf("SplitPods(%v, %d) = %v, want %v", tc.weights, tc.min, got, tc.want)
		}
	}
}

// TestSplitPodsProperties: for any weights, every revision with a weight gets a pod,
// the split runs at least the minimum and at most splitMaxPods (or the minimum), and
// between two revisions no share of pods is more than 5 points from its weight (one
// pod of 20), within splitTolerance when that takes fewer than 20.
func TestSplitPodsProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		n := 2 + rng.IntN(3)
		if i%2 == 0 {
			n = 2
		}
		w := map[string]int{}
		left := 100
		for j := 0; j < n-1; j++ {
			v := 1 + rng.IntN(left-(n-1-j))
			w[string(rune('a'+j))] = v
			left -= v
		}
		w[string(rune('a'+n-1))] = left
		minPods := 1 + rng.IntN(4)
		got := SplitPods(w, minPods)
		total := 0
		for _, c := range got {
			total += c
		}
		if len(got) != n || total < minPods {
			t.Fatalf("SplitPods(%v, %d) = %v", w, minPods, got)
		}
		if total > max(minPods, splitMaxPods) {
			t.Fatalf("SplitPods(%v, %d) = %v: too many pods", w, minPods, got)
		}
		tol := float64(splitTolerance)
		if total == splitMaxPods {
			tol = 5
		}
		for rev, c := range got {
			if c < 1 || (n == 2 && math.Abs(float64(c)*100/float64(total)-float64(w[rev])) > tol) {
				t.Fatalf("SplitPods(%v, %d) = %v: %s's share is off", w, minPods, got, rev)
			}
		}
	}
}

// splitCluster is a namespace with shop's revisions v0, v1 (serving) and v2, two pods
// each, and a controller that makes every Deployment's pods Ready as soon as it asks.
func splitCluster(t *testing.T, autoscaled bool) (*Runtime, *fake.Clientset) {
	t.Helper()
	o := Options{Namespace: testNS, StateID: testState}
	var objs []runtime.Object
	for _, h := range []string{"v0", "v1", "v2"} {
		rel := release("shop", h, 2)
		if autoscaled && h == "v2" {
			rel.Spec.MaxReplicas = 5
		}
		objs = append(objs, deployment(rel, o))
	}
	objs = append(objs, service("shop", "shop--v1", testState))
	r, cs := newCluster(t, objs...)
	cs.PrependReactor("get", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		o, err := cs.Tracker().Get(appsv1.SchemeGroupVersion.WithResource("deployments"), testNS, a.(k8stesting.GetAction).GetName())
		if err != nil {
			return true, nil, err
		}
		d := o.(*appsv1.Deployment).DeepCopy()
		d.Status.ReadyReplicas = *d.Spec.Replicas
		return true, d, nil
	})
	return r, cs
}

func replicas(t *testing.T, cs *fake.Clientset) map[string]int {
	t.Helper()
	list, err := cs.Tracker().List(appsv1.SchemeGroupVersion.WithResource("deployments"), appsv1.SchemeGroupVersion.WithKind("Deployment"), testNS)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, d := range list.(*appsv1.DeploymentList).Items {
		out[d.Name] = int(*d.Spec.Replicas)
	}
	return out
}

// TestRouteSplit: a split grows the revisions' pods to the ratio, then the Service
// selects the app's pods and records the weights, and the app's other revision stops;
// 100% to one revision again puts its own count back before the Service moves to it.
func TestRouteSplit(t *testing.T) {
	r, cs := splitCluster(t, false)
	w := map[string]int{"shop--v1": 80, "shop--v2": 20}
	if err := r.Route(ctxT(t), map[string]platform.Traffic{"shop": {Weights: w}}); err != nil {
		t.Fatal(err)
	}
	if got, want := replicas(t, cs), map[string]int{"shop--v0": 0, "shop--v1": 4, "shop--v2": 1}; !maps.Equal(got, want) {
		t.Errorf("pods after the split: %v, want %v", got, want)
	}
	s, err := cs.CoreV1().Services(testNS).Get(ctxT(t), "shop", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(s.Spec.Selector, map[string]string{LabelApp: "shop"}) {
		t.Errorf("split selector %v", s.Spec.Selector)
	}
	var ann map[string]int
	if err := json.Unmarshal([]byte(s.Annotations[AnnotationTraffic]), &ann); err != nil || !maps.Equal(ann, w) {
		t.Errorf("annotation %q", s.Annotations[AnnotationTraffic])
	}
	if got, err := r.Routed(ctxT(t), "shop"); err != nil || !maps.Equal(got, w) {
		t.Errorf("Routed = %v, %v", got, err)
	}
	// The order matters: pods grow before the Service moves, and the other revision
	// shrinks after it.
	var steps []string
	for _, a := range cs.Actions() {
		if p, ok := a.(k8stesting.PatchActionImpl); ok {
			steps = append(steps, p.GetResource().Resource+"/"+p.GetName())
		}
	}
	if got := strings.Join(steps, " "); got != "deployments/shop--v1 services/shop deployments/shop--v2 deployments/shop--v0" {
		t.Errorf("patches in order: %s", got)
	}

	// All to v2: grown back to its 2 pods first; v1 keeps its 4 until it is retired.
	cs.ClearActions()
	if err := r.Route(ctxT(t), map[string]platform.Traffic{"shop": {Weights: map[string]int{"shop--v1": 0, "shop--v2": 100}}}); err != nil {
		t.Fatal(err)
	}
	if got := selected(t, r, "shop"); got != "shop--v2" {
		t.Errorf("Service selects %q", got)
	}
	if got := replicas(t, cs)["shop--v2"]; got != 2 {
		t.Errorf("v2 runs %d pods after it took all the traffic, want its own 2", got)
	}
	s, _ = cs.CoreV1().Services(testNS).Get(ctxT(t), "shop", metav1.GetOptions{})
	if _, ok := s.Annotations[AnnotationTraffic]; ok {
		t.Errorf("the split's annotation stayed: %v", s.Annotations)
	}
	if got, err := r.Routed(ctxT(t), "shop"); err != nil || !maps.Equal(got, map[string]int{"shop--v2": 100}) {
		t.Errorf("Routed = %v, %v", got, err)
	}
}

// TestRouteSplitRefused: a revision with an autoscaler, or with no Deployment, cannot be
// part of a split; nothing changes.
func TestRouteSplitRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		weights map[string]int
		want    string
	}{
		{"autoscaled", map[string]int{"shop--v1": 50, "shop--v2": 50}, "shop: revision shop--v2 scales itself (--max-replicas)"},
		{"gone", map[string]int{"shop--v1": 50, "shop--v9": 50}, "shop: revision shop--v9 has no Deployment in namespace apps"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, cs := splitCluster(t, true)
			err := r.Route(ctxT(t), map[string]platform.Traffic{"shop": {Weights: tc.weights}})
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %s…", err, tc.want)
			}
			for _, a := range cs.Actions() {
				if v := a.GetVerb(); v != "get" && v != "list" {
					t.Errorf("a refused split did %s %s", v, a.GetResource().Resource)
				}
			}
			if got := selected(t, r, "shop"); got != "shop--v1" {
				t.Errorf("Service selects %q", got)
			}
		})
	}
}
