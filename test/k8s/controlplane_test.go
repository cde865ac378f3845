package k8s

import (
	"context"
	"net"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsac "k8s.io/client-go/applyconfigurations/apps/v1"
	coreac "k8s.io/client-go/applyconfigurations/core/v1"
	metaac "k8s.io/client-go/applyconfigurations/meta/v1"
)

// fieldManager is the name pyship applies as: the objects it owns are the ones whose fields this
// manager set.
const fieldManager = "pyship"

// appObjects are the apply configurations of one app revision as a deploy would send them.
type appObjects struct {
	secret     *coreac.SecretApplyConfiguration
	deployment *appsac.DeploymentApplyConfiguration
	service    *coreac.ServiceApplyConfiguration
}

func webApp(ns, app, image string, replicas int32) appObjects {
	labels := map[string]string{"pyship.app": app}
	podLabels := map[string]string{"pyship.app": app, "pyship.revision": "1"}
	return appObjects{
		secret: coreac.Secret(app+"-env", ns).WithLabels(labels).
			WithType(corev1.SecretTypeOpaque).
			WithData(map[string][]byte{"GREETING": []byte("hello")}),
		deployment: appsac.Deployment(app, ns).WithLabels(labels).
			WithSpec(appsac.DeploymentSpec().
				WithReplicas(replicas).
				WithSelector(metaac.LabelSelector().WithMatchLabels(podLabels)).
				WithTemplate(coreac.PodTemplateSpec().WithLabels(podLabels).
					WithSpec(coreac.PodSpec().
						WithContainers(coreac.Container().WithName("web").WithImage(image).
							WithPorts(coreac.ContainerPort().WithName("http").WithContainerPort(8080)).
							WithEnvFrom(coreac.EnvFromSource().WithSecretRef(coreac.SecretEnvSource().WithName(app + "-env"))))))),
		service: coreac.Service(app, ns).WithLabels(labels).
			WithSpec(coreac.ServiceSpec().WithSelector(podLabels).
				WithPorts(coreac.ServicePort().WithName("http").WithPort(80).WithTargetPort(intstr.FromString("http")))),
	}
}

func (c *testCluster) apply(ctx context.Context, t *testing.T, ns string, o appObjects) {
	t.Helper()
	opts := metav1.ApplyOptions{FieldManager: fieldManager, Force: true}
	if _, err := c.cs.CoreV1().Namespaces().Apply(ctx, coreac.Namespace(ns).WithLabels(map[string]string{"pyship.test": "k8s"}), opts); err != nil {
		t.Fatalf("apply namespace: %v", err)
	}
	if _, err := c.cs.CoreV1().Secrets(ns).Apply(ctx, o.secret, opts); err != nil {
		t.Fatalf("apply secret: %v", err)
	}
	if _, err := c.cs.AppsV1().Deployments(ns).Apply(ctx, o.deployment, opts); err != nil {
		t.Fatalf("apply deployment: %v", err)
	}
	if _, err := c.cs.CoreV1().Services(ns).Apply(ctx, o.service, opts); err != nil {
		t.Fatalf("apply service: %v", err)
	}
}

// managedByPyship says whether the manager pyship set fields of the object by apply.
func managedByPyship(m []metav1.ManagedFieldsEntry) bool {
	for _, f := range m {
		if f.Manager == fieldManager && f.Operation == metav1.ManagedFieldsOperationApply {
			return true
		}
	}
	return false
}

// TestControlPlaneServerSideApply: what a deploy sends (Namespace, Secret, Deployment, Service),
// server-side applied as "pyship" to a real API server, is read back as sent; re-applying the
// same objects changes nothing (no new generation, no new resourceVersion, so no rollout);
// deleting by the app's label removes the app's objects and nothing else.
func TestControlPlaneServerSideApply(t *testing.T) {
	c := cluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sv, err := c.cs.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("API server %s", sv.GitVersion)
	ns := c.namespace(t, "pyship-cp")
	// Never pulled: the pods stay Pending (no node matches their selector, even on a cluster
	// with a real node), which is all this test needs.
	const image = "127.0.0.1:5/pyship-test/web@sha256:0000000000000000000000000000000000000000000000000000000000000000"
	app := func(replicas int32) appObjects {
		o := webApp(ns, "web", image, replicas)
		o.deployment.Spec.Template.Spec.WithNodeSelector(map[string]string{"pyship.test/no-such-node": "true"})
		return o
	}
	c.apply(ctx, t, ns, app(2))

	sec, err := c.cs.CoreV1().Secrets(ns).Get(ctx, "web-env", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(sec.Data["GREETING"]) != "hello" || !managedByPyship(sec.ManagedFields) {
		t.Errorf("secret read back: data %q, managed fields %+v", sec.Data, sec.ManagedFields)
	}
	dep, err := c.cs.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *dep.Spec.Replicas != 2 || dep.Spec.Template.Spec.Containers[0].Image != image || !managedByPyship(dep.ManagedFields) {
		t.Errorf("deployment read back: replicas %d, image %s, managed fields %+v", *dep.Spec.Replicas, dep.Spec.Template.Spec.Containers[0].Image, dep.ManagedFields)
	}
	svc, err := c.cs.CoreV1().Services(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ip := net.ParseIP(svc.Spec.ClusterIP)
	if ip == nil || (c.serviceCIDR != nil && !c.serviceCIDR.Contains(ip)) || !managedByPyship(svc.ManagedFields) {
		t.Errorf("service read back: cluster IP %q (range %v), managed fields %+v", svc.Spec.ClusterIP, c.serviceCIDR, svc.ManagedFields)
	}
	// The controller-manager runs: the Deployment gets its ReplicaSet.
	err = poll(ctx, 200*time.Millisecond, func() (bool, error) {
		rs, err := c.cs.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: "pyship.app=web"})
		return err == nil && len(rs.Items) == 1, err
	})
	if err != nil {
		t.Fatalf("no ReplicaSet for the deployment: %v", err)
	}

	// Re-apply of the same objects: a no-op for the API server.
	c.apply(ctx, t, ns, app(2))
	again, err := c.cs.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Generation != dep.Generation || again.Spec.Template.Spec.Containers[0].Image != image {
		t.Errorf("re-apply: generation %d -> %d", dep.Generation, again.Generation)
	}
	secAgain, err := c.cs.CoreV1().Secrets(ns).Get(ctx, "web-env", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if secAgain.ResourceVersion != sec.ResourceVersion {
		t.Errorf("re-apply rewrote the secret: resourceVersion %s -> %s", sec.ResourceVersion, secAgain.ResourceVersion)
	}
	// A real change does make a new generation (so the check above can fail).
	c.apply(ctx, t, ns, app(3))
	changed, err := c.cs.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if changed.Generation == dep.Generation || *changed.Spec.Replicas != 3 {
		t.Errorf("apply with 3 replicas: generation %d -> %d, replicas %d", dep.Generation, changed.Generation, *changed.Spec.Replicas)
	}

	// Something in the namespace that is not the app's.
	other, err := c.cs.CoreV1().ConfigMaps(ns).Apply(ctx, coreac.ConfigMap("not-pyships", ns).WithData(map[string]string{"k": "v"}),
		metav1.ApplyOptions{FieldManager: "someone-else"})
	if err != nil {
		t.Fatal(err)
	}
	// Delete by label, as `down` will.
	sel := metav1.ListOptions{LabelSelector: "pyship.app=web"}
	bg := metav1.DeletePropagationBackground
	del := metav1.DeleteOptions{PropagationPolicy: &bg}
	if err := c.cs.AppsV1().Deployments(ns).DeleteCollection(ctx, del, sel); err != nil {
		t.Fatal(err)
	}
	if err := c.cs.CoreV1().Secrets(ns).DeleteCollection(ctx, del, sel); err != nil {
		t.Fatal(err)
	}
	svcs, err := c.cs.CoreV1().Services(ns).List(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range svcs.Items {
		if err := c.cs.CoreV1().Services(ns).Delete(ctx, s.Name, del); err != nil {
			t.Fatal(err)
		}
	}
	// The garbage collector removes the ReplicaSet and pods the Deployment owned.
	err = poll(ctx, 200*time.Millisecond, func() (bool, error) {
		d, err1 := c.cs.AppsV1().Deployments(ns).List(ctx, sel)
		s, err2 := c.cs.CoreV1().Secrets(ns).List(ctx, sel)
		v, err3 := c.cs.CoreV1().Services(ns).List(ctx, sel)
		r, err4 := c.cs.AppsV1().ReplicaSets(ns).List(ctx, sel)
		for _, err := range []error{err1, err2, err3, err4} {
			if err != nil {
				return false, err
			}
		}
		return len(d.Items)+len(s.Items)+len(v.Items)+len(r.Items) == 0, nil
	})
	if err != nil {
		t.Errorf("objects labelled pyship.app=web remain after delete: %v", err)
	}
	if kept, err := c.cs.CoreV1().ConfigMaps(ns).Get(ctx, "not-pyships", metav1.GetOptions{}); err != nil || kept.UID != other.UID {
		t.Errorf("delete by label took an object that is not the app's: %v", err)
	}
}
