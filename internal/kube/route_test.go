package kube

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"

	"github.com/pyship/pyship/internal/platform"
)

func service(app, rev, state string) *corev1.Service {
	var s corev1.Service
	mustConvert(ServiceObject(app, rev, Options{Namespace: testNS, StateID: state}), &s)
	return &s
}

func selected(t *testing.T, r *Runtime, app string) string {
	t.Helper()
	s, err := r.CS.CoreV1().Services(testNS).Get(ctxT(t), app, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "(no Service)"
	}
	if err != nil {
		t.Fatal(err)
	}
	return s.Spec.Selector[LabelRevision]
}

func to(rev string) platform.Traffic { return platform.Traffic{Weights: map[string]int{rev: 100}} }

func TestRoute(t *testing.T) {
	other := service("blog", "blog--00000001", "feedf00d") // another state directory's
	foreign := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: testNS, Labels: map[string]string{LabelApp: "db"}}}
	for _, tc := range []struct {
		name     string
		before   []runtime.Object
		apps     map[string]platform.Traffic
		want     map[string]string // app → selected revision after Route
		wantErr  string
		unchange bool
	}{
		{
			name: "first switch creates the Service",
			apps: map[string]platform.Traffic{"shop": to("shop--v1")},
			want: map[string]string{"shop": "shop--v1"},
		},
		{
			name:   "a switch moves the selector",
			before: []runtime.Object{service("shop", "shop--v1", testState)},
			apps:   map[string]platform.Traffic{"shop": {Weights: map[string]int{"shop--v1": 0, "shop--v2": 100}}},
			want:   map[string]string{"shop": "shop--v2"},
		},
		{
			name:   "nothing ready: no Service is made, an existing one keeps its revision",
			before: []runtime.Object{service("shop", "shop--v1", testState)},
			apps:   map[string]platform.Traffic{"shop": {Weights: map[string]int{}, Newest: "shop--v2", NewestState: "failed"}, "cart": {}},
			want:   map[string]string{"shop": "shop--v1", "cart": "(no Service)"},
		},
		{
			name:   "an app no longer in the state loses its Service; another state's and a foreign one stay",
			before: []runtime.Object{service("shop", "shop--v1", testState), service("gone", "gone--v1", testState), other, foreign},
			apps:   map[string]platform.Traffic{"shop": to("shop--v1")},
			want:   map[string]string{"shop": "shop--v1", "gone": "(no Service)", "blog": "blog--00000001", "db": ""},
		},
		{
			// Checked for every app before anything is applied: an app sorted before
			// the split one must not have moved.
			name:     "a split of revisions with no Deployment is refused and nothing changes",
			before:   []runtime.Object{service("shop", "shop--v1", testState), service("gone", "gone--v1", testState)},
			apps:     map[string]platform.Traffic{"api": to("api--v1"), "shop": {Weights: map[string]int{"shop--v1": 50, "shop--v2": 50}}},
			want:     map[string]string{"api": "(no Service)", "shop": "shop--v1", "gone": "gone--v1"},
			wantErr:  "shop: revision shop--v1 has no Deployment in namespace apps: it cannot take traffic",
			unchange: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, cs := newCluster(t, tc.before...)
			err := r.Route(ctxT(t), tc.apps)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %s", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			for app, rev := range tc.want {
				if got := selected(t, r, app); got != rev {
					t.Errorf("Service %s selects %q, want %q", app, got, rev)
				}
			}
			if tc.unchange {
				for _, a := range cs.Actions() {
					if v := a.GetVerb(); v != "get" && v != "list" {
						t.Errorf("a refused Route did %s %s", v, a.GetResource().Resource)
					}
				}
			}
			for _, a := range cs.Actions() {
				if p, ok := a.(k8stesting.PatchActionImpl); ok && p.PatchOptions.FieldManager != FieldManager {
					t.Errorf("applied as %q, want %q", p.PatchOptions.FieldManager, FieldManager)
				}
			}
		})
	}
}

func TestRouteServiceLabels(t *testing.T) {
	r, cs := newCluster(t)
	if err := r.Route(ctxT(t), map[string]platform.Traffic{"shop": to("shop--v1")}); err != nil {
		t.Fatal(err)
	}
	s, err := cs.CoreV1().Services(testNS).Get(ctxT(t), "shop", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(s.Labels, appLabels("shop", testState)) || !managedBy(s, FieldManager) {
		t.Errorf("Service labels %v, managed fields %v", s.Labels, s.ManagedFields)
	}
}

func TestRouteErrors(t *testing.T) {
	svcGR := schema.GroupResource{Resource: "services"}
	for _, tc := range []struct {
		name, verb string
		err        error
		want       string
	}{
		{"apply refused", "patch", apierrors.NewForbidden(svcGR, "shop", errors.New("no")), "cannot point the Service shop at shop--v1 (context kind-test, namespace apps): the cluster refused it (forbidden)"},
		{"list refused", "list", apierrors.NewForbidden(svcGR, "", errors.New("no")), "cannot list Services (context kind-test, namespace apps): the cluster refused it (forbidden)"},
		{"delete refused", "delete", apierrors.NewForbidden(svcGR, "gone", errors.New("no")), "cannot delete the Service gone (context kind-test, namespace apps): the cluster refused it (forbidden)"},
		{"already deleted", "delete", apierrors.NewNotFound(svcGR, "gone"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, cs := newCluster(t, service("gone", "gone--v1", testState))
			cs.PrependReactor(tc.verb, "services", func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, tc.err })
			err := r.Route(ctxT(t), map[string]platform.Traffic{"shop": to("shop--v1")})
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

func TestRouted(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before []runtime.Object
		err    error
		want   map[string]int
		errMsg string
	}{
		{name: "no Service: the router does not know the app"},
		{name: "a serving revision", before: []runtime.Object{service("shop", "shop--v1", testState)}, want: map[string]int{"shop--v1": 100}},
		{name: "nothing serves", before: []runtime.Object{service("shop", "", testState)}},
		{name: "refused", err: apierrors.NewUnauthorized("expired"), errMsg: "cannot read the Service shop (context kind-test, namespace apps): the API server kind-test did not accept the kubeconfig's credentials (unauthorized)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, cs := newCluster(t, tc.before...)
			if tc.err != nil {
				cs.PrependReactor("get", "services", func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, tc.err })
			}
			got, err := r.Routed(ctxT(t), "shop")
			if tc.errMsg != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.errMsg) {
					t.Fatalf("err = %v, want %s…", err, tc.errMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tc.want) || (got == nil) != (tc.want == nil) {
				t.Errorf("Routed = %v, want %v", got, tc.want)
			}
		})
	}
}

func endpointSlice(svc, name string, pods ...string) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: name, Namespace: testNS, Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	for i, p := range pods {
		e := discoveryv1.Endpoint{Addresses: []string{"10.0.0." + string(rune('1'+i))}}
		if p != "" {
			e.TargetRef = &corev1.ObjectReference{Kind: "Pod", Name: p, Namespace: testNS}
		}
		s.Endpoints = append(s.Endpoints, e)
	}
	return s
}

func TestDrainReturnsAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before []runtime.Object
	}{
		{"no EndpointSlice", nil},
		{"only the new revision's pods, an endpoint with no pod, another Service's old pods", []runtime.Object{
			endpointSlice("shop", "shop-a", "shop--v2-7d9f8-aaaaa", ""),
			endpointSlice("other", "other-a", "shop--v1-7d9f8-aaaaa"),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := newCluster(t, tc.before...)
			r.Poll = time.Hour // a second look would hang the test
			if err := r.Drain(ctxT(t), "shop", []string{"shop--v1"}, 10*time.Second); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestDrainWaitsForEndpointsToGo(t *testing.T) {
	r, cs := newCluster(t,
		endpointSlice("shop", "shop-a", "shop--v2-7d9f8-aaaaa", "shop--v1-6c8e7-bbbbb"),
		endpointSlice("shop", "shop-b", "shop--v0-5b7d6-ccccc"))
	done := make(chan error, 1)
	go func() { done <- r.Drain(ctxT(t), "shop", []string{"shop--v0", "shop--v1"}, 10*time.Second) }()
	lists := func() int {
		n := 0
		for _, a := range cs.Actions() {
			if a.GetVerb() == "list" && a.GetResource().Resource == "endpointslices" {
				n++
			}
		}
		return n
	}
	// The endpoints controller takes the old pods out one slice at a time.
	steps := []func(){
		func() {
			cs.Tracker().Update(discoveryv1.SchemeGroupVersion.WithResource("endpointslices"), endpointSlice("shop", "shop-a", "shop--v2-7d9f8-aaaaa"), testNS)
		},
		func() {
			cs.Tracker().Delete(discoveryv1.SchemeGroupVersion.WithResource("endpointslices"), testNS, "shop-b")
		},
	}
	for _, step := range steps {
		seen := lists()
		for lists() < seen+3 {
			select {
			case err := <-done:
				t.Fatalf("Drain returned %v while old pods were still listed", err)
			case <-time.After(time.Millisecond):
			}
		}
		step()
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Drain did not return once no old pod was listed")
	}
}

func TestDrainTimeout(t *testing.T) {
	r, _ := newCluster(t, endpointSlice("shop", "shop-a", "shop--v1-6c8e7-bbbbb", "shop--v1-6c8e7-ccccc"))
	err := r.Drain(ctxT(t), "shop", []string{"shop--v1"}, 50*time.Millisecond)
	want := "the Service shop still lists 2 pod(s) of shop--v1 after 50ms"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
}

func TestDrainError(t *testing.T) {
	r, cs := newCluster(t)
	cs.PrependReactor("list", "endpointslices", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "discovery.k8s.io", Resource: "endpointslices"}, "", errors.New("no"))
	})
	err := r.Drain(ctxT(t), "shop", []string{"shop--v1"}, time.Second)
	if want := "cannot read the endpoints of shop (context kind-test, namespace apps): the cluster refused it (forbidden)"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("err = %v, want %s…", err, want)
	}
}

func TestDrainCanceledDuringList(t *testing.T) {
	r, cs := newCluster(t)
	cs.PrependReactor("list", "endpointslices", func(k8stesting.Action) (bool, runtime.Object, error) {
		time.Sleep(60 * time.Millisecond)
		return true, nil, context.DeadlineExceeded
	})
	err := r.Drain(ctxT(t), "shop", []string{"shop--v1"}, 20*time.Millisecond)
	if want := "the Service shop still lists pods of shop--v1 after 20ms"; err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
}
