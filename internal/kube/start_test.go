package kube

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	k8stesting "k8s.io/client-go/testing"
)

func TestStartAppliesSecretAndDeployment(t *testing.T) {
	r, cs := newCluster(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: testNS}})
	var asked []string
	r.ImageUser = func(_ context.Context, ref string) (int64, int64, error) {
		asked = append(asked, ref)
		return 10001, 10001, nil
	}
	rel := secretRelease()
	ctx := ctxT(t)
	for range 2 { // a second Start of the same revision (rollback) is a no-op apply
		if err := r.Start(ctx, rel); err != nil {
			t.Fatal(err)
		}
	}
	if len(asked) == 0 || asked[0] != rel.Spec.ImageRef {
		t.Errorf("ImageUser asked about %q, want %s", asked, rel.Spec.ImageRef)
	}
	d, err := cs.AppsV1().Deployments(testNS).Get(ctx, rel.Revision, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sc := d.Spec.Template.Spec.Containers[0].SecurityContext
	if sc.RunAsUser == nil || *sc.RunAsUser != 10001 {
		t.Errorf("runAsUser = %v, want the image's 10001", deref(sc.RunAsUser))
	}
	s, err := cs.CoreV1().Secrets(testNS).Get(ctx, rel.Revision, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(s.Data["API_KEY"]) != sentinel || s.Immutable == nil || !*s.Immutable {
		t.Errorf("Secret = %+v", s)
	}
	for _, obj := range []metav1.Object{d, s} {
		if !managedBy(obj, FieldManager) {
			t.Errorf("%s: managed fields %v, want applied by %s", obj.GetName(), obj.GetManagedFields(), FieldManager)
		}
	}
	for _, a := range cs.Actions() {
		if a.GetResource().Resource == "namespaces" && a.GetVerb() != "get" {
			t.Errorf("an existing namespace was changed: %s", a.GetVerb())
		}
	}
}

func TestStartImageUserUnknown(t *testing.T) {
	r, cs := newCluster(t)
	r.ImageUser = func(context.Context, string) (int64, int64, error) { return 0, 0, errors.New("registry says no") }
	rel := release("shop", "abcd1234", 1)
	if err := r.Start(ctxT(t), rel); err != nil {
		t.Fatal(err)
	}
	d, _ := cs.AppsV1().Deployments(testNS).Get(ctxT(t), rel.Revision, metav1.GetOptions{})
	if sc := d.Spec.Template.Spec.Containers[0].SecurityContext; sc.RunAsUser != nil {
		t.Errorf("runAsUser %d though the image's user is unknown", *sc.RunAsUser)
	}
	if _, err := cs.CoreV1().Secrets(testNS).Get(ctxT(t), rel.Revision, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a Secret for a revision without secrets: %v", err)
	}
}

func TestStartNamespace(t *testing.T) {
	nsGVR := schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	for _, tc := range []struct {
		name      string
		existing  bool
		getErr    error // of the namespace Get
		createErr error // of the namespace apply
		wantErr   string
		created   bool
	}{
		{name: "absent: created", created: true},
		{name: "present: left alone", existing: true},
		{name: "no right to read namespaces: left to the namespaced calls", getErr: apierrors.NewForbidden(nsGVR.GroupResource(), testNS, errors.New("no"))},
		{name: "credentials refused", getErr: apierrors.NewUnauthorized("token expired"), wantErr: "cannot read namespace apps (context kind-test, namespace apps): the API server kind-test did not accept"},
		{name: "no right to create it", createErr: apierrors.NewForbidden(nsGVR.GroupResource(), testNS, errors.New("no")), wantErr: "cannot create namespace apps (context kind-test, namespace apps): the cluster refused it (forbidden)"},
		{name: "made meanwhile by someone else", createErr: apierrors.NewAlreadyExists(nsGVR.GroupResource(), testNS), created: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var objs []runtime.Object
			if tc.existing {
				objs = append(objs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: testNS, Labels: map[string]string{"team": "a"}}})
			}
			r, cs := newCluster(t, objs...)
			if tc.getErr != nil {
				cs.PrependReactor("get", "namespaces", func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, tc.getErr })
			}
			if tc.createErr != nil {
				cs.PrependReactor("patch", "namespaces", func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, tc.createErr })
			}
			rel := release("shop", "abcd1234", 1)
			err := r.Start(ctxT(t), rel)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q…", err, tc.wantErr)
				}
				if _, gerr := cs.AppsV1().Deployments(testNS).Get(ctxT(t), rel.Revision, metav1.GetOptions{}); !apierrors.IsNotFound(gerr) {
					t.Error("the Deployment was applied though the namespace step failed")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ns, gerr := cs.Tracker().Get(nsGVR, "", testNS)
			switch {
			case tc.created:
				if gerr != nil {
					t.Fatalf("namespace not created: %v", gerr)
				}
				if l := ns.(*corev1.Namespace).Labels; !maps.Equal(l, map[string]string{LabelManagedBy: "pyship"}) {
					t.Errorf("namespace labels %v", l)
				}
			case tc.existing:
				if l := ns.(*corev1.Namespace).Labels; !maps.Equal(l, map[string]string{"team": "a"}) {
					t.Errorf("an existing namespace's labels became %v", l)
				}
			}
			if _, err := cs.AppsV1().Deployments(testNS).Get(ctxT(t), rel.Revision, metav1.GetOptions{}); err != nil {
				t.Errorf("Deployment: %v", err)
			}
		})
	}
}

func TestStartSecretRefused(t *testing.T) {
	invalid := apierrors.NewInvalid(schema.GroupKind{Kind: "Secret"}, "shop--abcd1234",
		field.ErrorList{field.Forbidden(field.NewPath("data"), "field is immutable when `immutable` is set")})
	for _, tc := range []struct {
		name    string
		exists  bool
		err     error
		wantErr string
	}{
		// The same name holds the same values (the name hashes them): the Secret of an
		// earlier Start is the one the revision needs.
		{name: "immutable and already there", exists: true, err: invalid},
		{name: "invalid and not there", err: invalid, wantErr: "cannot create the Secret of shop--abcd1234 (context kind-test, namespace apps): "},
		{name: "forbidden", err: apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "shop--abcd1234", errors.New("no")), wantErr: "cannot create the Secret of shop--abcd1234 (context kind-test, namespace apps): the cluster refused it (forbidden)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rel := secretRelease()
			var objs []runtime.Object
			if tc.exists {
				var s corev1.Secret
				mustConvert(RevisionObjects(rel, Options{Namespace: testNS, StateID: testState}).Secret, &s)
				objs = append(objs, &s)
			}
			r, cs := newCluster(t, objs...)
			cs.PrependReactor("patch", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, tc.err })
			err := r.Start(ctxT(t), rel)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q…", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), sentinel) {
				t.Errorf("the error holds a secret value: %v", err)
			}
			if _, gerr := cs.AppsV1().Deployments(testNS).Get(ctxT(t), rel.Revision, metav1.GetOptions{}); !apierrors.IsNotFound(gerr) {
				t.Error("the Deployment was applied without its Secret")
			}
		})
	}
}

func TestStartDeploymentRefused(t *testing.T) {
	r, cs := newCluster(t)
	cs.PrependReactor("patch", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "deployments"}, "shop--abcd1234", errors.New(`User "dev" cannot patch resource "deployments"`))
	})
	err := r.Start(ctxT(t), secretRelease())
	want := `cannot create the Deployment of shop--abcd1234 (context kind-test, namespace apps): the cluster refused it (forbidden): deployments.apps "shop--abcd1234" is forbidden: User "dev" cannot patch resource "deployments"; ` + roleAdvice("apps")
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("err = %v\nwant %s…", err, want)
	}
	var ke *Error
	if !errors.As(err, &ke) || !apierrors.IsForbidden(err) {
		t.Errorf("err %T does not unwrap to the API status", err)
	}
}

func managedBy(obj metav1.Object, manager string) bool {
	for _, m := range obj.GetManagedFields() {
		if m.Manager == manager && m.Operation == metav1.ManagedFieldsOperationApply {
			return true
		}
	}
	return false
}
