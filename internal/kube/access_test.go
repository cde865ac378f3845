package kube

import (
	"context"
	"errors"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/pyship/pyship/internal/platform"
	"github.com/pyship/pyship/internal/store"
)

// Permissions lists what the Runtime's calls need in the namespace, exactly: run every
// Runtime step against client-go's fake clientset, record each call's verb and
// resource, and compare with the table. A call added without its permission (a deploy
// the access check lets through that then fails half-way) or a permission no call
// needs (a Role asking more than pyship uses) fails here.
func TestPermissionsMatchTheRuntimesCalls(t *testing.T) {
	cs := fake.NewClientset()
	used := map[string]bool{}
	cs.PrependReactor("*", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetNamespace() == "" {
			return false, nil, nil // the namespace itself: optional, not in the Role
		}
		res := a.GetResource()
		name := Permission{Group: res.Group, Resource: res.Resource}.name()
		if a.GetSubresource() != "" {
			name = Permission{Group: res.Group, Resource: res.Resource + "/" + a.GetSubresource()}.name()
		}
		verb := strings.ReplaceAll(a.GetVerb(), "-", "") // the fake's delete-collection
		used[verb+" "+name] = true
		if p, ok := a.(k8stesting.PatchAction); ok && p.GetPatchType() == types.ApplyPatchType {
			used["create "+name] = true // an apply may create the object
		}
		return false, nil, nil
	})
	ctx := context.Background()
	r := &Runtime{CS: cs, Target: store.Target{Kind: store.Kubernetes, Context: "c", Namespace: "ns"}, StateID: "s1", Poll: time.Millisecond}
	rel := platform.Release{App: "web", Revision: "web--1", Secrets: map[string][]byte{"TOKEN": []byte("v")},
		Spec: store.Spec{Image: "sha256:1", ImageRef: "r/web@sha256:1", Port: 8000, Probe: "/", Replicas: 1, MaxReplicas: 3, Secrets: map[string]string{"TOKEN": "d"}}}
	steps := []struct {
		name string
		do   func() error
	}{
		{"Start", func() error { return r.Start(ctx, rel) }},
		{"Route", func() error {
			return r.Route(ctx, map[string]platform.Traffic{"web": {Weights: map[string]int{"web--1": 100}, Host: "web.example.test"}})
		}},
		{"DryRun", func() error { _, err := r.DryRun(ctx, rel, "web.example.test"); return err }},
		{"Exec", func() error {
			// The fake runs no pod: the command's wait ends with the context, after the
			// pod was made, read and deleted.
			ectx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			defer cancel()
			r.Exec(ectx, rel, platform.ExecOptions{Argv: []string{"true"}})
			return nil
		}},
		{"Routed", func() error { _, err := r.Routed(ctx, "web"); return err }},
		{"Drain", func() error { return r.Drain(ctx, "web", []string{"web--0"}, time.Second) }},
		{"List", func() error { _, err := r.List(ctx, "web"); return err }},
		{"Logs", func() error {
			return r.Logs(ctx, platform.Replica{ID: "web--1-abc", Name: "web--1-abc"}, platform.LogOptions{}, io.Discard)
		}},
		{"Secret", func() error { _, err := r.Secret(ctx, "web", "web--1", "TOKEN"); return err }},
		{"events", func() error { r.eventsOf(ctx, "Pod", "web--1-abc"); return nil }},
		{"Remove", func() error { return r.Remove(ctx, "web", "web--1", 0) }},
		{"Route to none", func() error { return r.Route(ctx, map[string]platform.Traffic{}) }},
		{"Purge", func() error { return r.Purge(ctx, "web") }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
	}
	table := map[string]bool{}
	for _, p := range Permissions {
		for _, v := range p.Verbs {
			table[v+" "+p.name()] = true
		}
	}
	for _, k := range slices.Sorted(maps.Keys(used)) {
		if !table[k] {
			t.Errorf("the Runtime calls %q, which Permissions lacks", k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(table)) {
		if !used[k] {
			t.Errorf("Permissions has %q, which no Runtime call needs", k)
		}
	}
}

// CheckAccess with some verbs refused names each one, the namespace, the user the
// cluster took the credentials for, and the Role to grant; with all allowed it passes.
func TestCheckAccess(t *testing.T) {
	for _, tc := range []struct {
		name  string
		allow func(*authzv1.ResourceAttributes) bool
		want  []string // in the message; none: no error
	}{
		{"all allowed", func(*authzv1.ResourceAttributes) bool { return true }, nil},
		{"read pods only", func(a *authzv1.ResourceAttributes) bool {
			return a.Resource == "pods" && a.Subresource == "" && (a.Verb == "get" || a.Verb == "list")
		}, []string{
			"cannot deploy to namespace team-a (context dev)", "forbidden",
			`user "system:serviceaccount:team-a:viewer" may not get,list,create,patch,delete deployments.apps; deletecollection replicasets.apps; create,patch,delete,deletecollection pods; get pods/log;`,
			"pyship needs a Role in namespace team-a", "horizontalpodautoscalers.autoscaling get,list,create,patch,delete",
		}},
		{"no autoscalers", func(a *authzv1.ResourceAttributes) bool { return a.Resource != "horizontalpodautoscalers" },
			[]string{"may not get,list,create,patch,delete horizontalpodautoscalers.autoscaling there;"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := fake.NewClientset()
			cs.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
				sar := a.(k8stesting.CreateAction).GetObject().(*authzv1.SelfSubjectAccessReview)
				if sar.Spec.ResourceAttributes.Namespace != "team-a" {
					t.Errorf("review in namespace %q", sar.Spec.ResourceAttributes.Namespace)
				}
				sar.Status.Allowed = tc.allow(sar.Spec.ResourceAttributes)
				return true, sar, nil
			})
			cs.PrependReactor("create", "selfsubjectreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
				return true, &authnv1.SelfSubjectReview{Status: authnv1.SelfSubjectReviewStatus{UserInfo: authnv1.UserInfo{Username: "system:serviceaccount:team-a:viewer"}}}, nil
			})
			r := &Runtime{CS: cs, Target: store.Target{Kind: store.Kubernetes, Context: "dev", Namespace: "team-a"}}
			err := r.CheckAccess(context.Background())
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ke *Error
			if err == nil || !errors.As(err, &ke) || ke.Kind != Forbidden {
				t.Fatalf("got %v, want a Forbidden *Error", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message lacks %q:\n%s", w, err)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("message is not one line:\n%s", err)
			}
		})
	}
}
