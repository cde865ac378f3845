package k8s

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func (c *testCluster) countPods(ctx context.Context, t *testing.T, ns, selector string) int {
	t.Helper()
	pods, err := c.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	return len(pods.Items)
}

// waitLivePods waits up to a minute until selector matches want pods that are not
// terminating (a scaled-down pod lingers through its preStop delay), and says how
// many there are then.
func (c *testCluster) waitLivePods(ctx context.Context, t *testing.T, ns, selector string, want int) int {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		pods, err := c.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, p := range pods.Items {
			if p.DeletionTimestamp == nil {
				n++
			}
		}
		if n == want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func configMap(ns, name string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Data: map[string]string{"k": "v"}}
}

// countAppObjects counts the objects of each kind pyship could have made that match
// selector.
func (c *testCluster) countAppObjects(ctx context.Context, t *testing.T, ns, selector string) map[string]int {
	t.Helper()
	lo := metav1.ListOptions{LabelSelector: selector}
	n := map[string]int{}
	if l, err := c.cs.AppsV1().Deployments(ns).List(ctx, lo); err == nil {
		n["Deployments"] = len(l.Items)
	} else {
		t.Fatal(err)
	}
	if l, err := c.cs.AppsV1().ReplicaSets(ns).List(ctx, lo); err == nil {
		n["ReplicaSets"] = len(l.Items)
	} else {
		t.Fatal(err)
	}
	if l, err := c.cs.CoreV1().Pods(ns).List(ctx, lo); err == nil {
		n["Pods"] = len(l.Items)
	} else {
		t.Fatal(err)
	}
	if l, err := c.cs.CoreV1().Secrets(ns).List(ctx, lo); err == nil {
		n["Secrets"] = len(l.Items)
	} else {
		t.Fatal(err)
	}
	if l, err := c.cs.CoreV1().Services(ns).List(ctx, lo); err == nil {
		n["Services"] = len(l.Items)
	} else {
		t.Fatal(err)
	}
	if l, err := c.cs.NetworkingV1().Ingresses(ns).List(ctx, lo); err == nil {
		n["Ingresses"] = len(l.Items)
	} else {
		t.Fatal(err)
	}
	if l, err := c.cs.AutoscalingV2().HorizontalPodAutoscalers(ns).List(ctx, lo); err == nil {
		n["HorizontalPodAutoscalers"] = len(l.Items)
	} else {
		t.Fatal(err)
	}
	return n
}

// assertOnlySecretHolds checks that value (plain or base64) is in exactly one kind of
// object of the namespace, the app's Secrets, and that those are immutable.
func (c *testCluster) assertOnlySecretHolds(ctx context.Context, t *testing.T, ns, value string) {
	t.Helper()
	b64 := base64.StdEncoding.EncodeToString([]byte(value))
	holds := func(v any) bool {
		b, _ := json.Marshal(v)
		return strings.Contains(string(b), value) || strings.Contains(string(b), b64)
	}
	lo := metav1.ListOptions{}
	secrets, err := c.cs.CoreV1().Secrets(ns).List(ctx, lo)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, s := range secrets.Items {
		if holds(s) {
			found++
			if s.Immutable == nil || !*s.Immutable {
				t.Errorf("Secret %s holds the value and is not immutable", s.Name)
			}
		}
	}
	if found == 0 {
		t.Errorf("no Secret holds the secret value")
	}
	check := func(kind string, items any, err error) {
		if err != nil {
			t.Fatalf("list %s: %v", kind, err)
		}
		if holds(items) {
			t.Errorf("a %s holds the secret value", kind)
		}
	}
	pods, err := c.cs.CoreV1().Pods(ns).List(ctx, lo)
	check("Pod", pods, err)
	deps, err := c.cs.AppsV1().Deployments(ns).List(ctx, lo)
	check("Deployment", deps, err)
	rss, err := c.cs.AppsV1().ReplicaSets(ns).List(ctx, lo)
	check("ReplicaSet", rss, err)
	svcs, err := c.cs.CoreV1().Services(ns).List(ctx, lo)
	check("Service", svcs, err)
	cms, err := c.cs.CoreV1().ConfigMaps(ns).List(ctx, lo)
	check("ConfigMap", cms, err)
	evs, err := c.cs.CoreV1().Events(ns).List(ctx, lo)
	check("Event", evs, err)
	eps, err := c.cs.DiscoveryV1().EndpointSlices(ns).List(ctx, lo)
	check("EndpointSlice", eps, err)
}
