package kube

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestStartRefusesAnotherOwner: an app whose Service or revisions another state directory
// made, or whose Service name another tool took, is not taken over by a forced apply.
func TestStartRefusesAnotherOwner(t *testing.T) {
	rel := secretRelease()
	other := release("shop", "feedf00d", 1)
	for _, tc := range []struct {
		name string
		objs []runtime.Object
		want string // "" to succeed
	}{
		{"nothing there", nil, ""},
		{"our own Service", []runtime.Object{service("shop", "shop--00000000", testState)}, ""},
		{"another state's Service", []runtime.Object{service("shop", "shop--00000000", "feedf00d")}, "deployed from another pyship state directory"},
		{"another tool's Service", []runtime.Object{&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: testNS}}}, "a Service shop that pyship did not make"},
		{"another state's revision", []runtime.Object{deployment(other, Options{Namespace: testNS, StateID: "feedf00d"})}, "has revisions deployed from another pyship state directory (shop--feedf00d)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, cs := newCluster(t, tc.objs...)
			err := r.Start(ctxT(t), rel)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if _, gerr := cs.AppsV1().Deployments(testNS).Get(ctxT(t), rel.Revision, metav1.GetOptions{}); gerr == nil {
				t.Errorf("the refused Start made the Deployment %s", rel.Revision)
			}
		})
	}
}
