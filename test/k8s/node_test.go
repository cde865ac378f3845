package k8s

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	coreac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/pyship/pyship/test/k8s/internal/scratchimage"
)

// pushHello builds cmd/hello as a static binary, packs it FROM scratch to run as uid 10001, pushes
// it to the cluster's loopback registry and returns its digest-pinned reference.
func (c *testCluster) pushHello(ctx context.Context, t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hello")
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "./cmd/hello")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/hello: %v\n%s", err, out)
	}
	img, err := scratchimage.FromBinary(bin, scratchimage.Options{Name: "hello", User: "10001:10001"})
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(c.registry+"/pyship-test/hello:smoke", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img, remote.WithContext(ctx)); err != nil {
		t.Fatalf("push %s: %v", tag, err)
	}
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return tag.Context().Digest(digest.String()).String()
}

// TestNodeSmoke runs a real workload on the real node: an image pushed to the loopback registry,
// pulled by containerd, two replicas behind a readiness probe, a Service reached from the host
// through kube-proxy's rules, and the pods' logs read through the API server (which asks the
// kubelet).
func TestNodeSmoke(t *testing.T) {
	c := cluster(t)
	if !c.realNode {
		t.Skip("the cluster has no node (NODE=real bash test/k8s/run.sh starts one)")
	}
	if c.registry == "" {
		t.Fatal("PYSHIP_K8S_REGISTRY is not set: cluster-up.sh with NODE=real writes it to cluster.env")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	image := c.pushHello(ctx, t)
	ns := c.namespace(t, "pyship-node")
	app := webApp(ns, "hello", image, 2)
	// The securityContext pyship's images are made for: non-root, read-only root, no privileges.
	app.deployment.Spec.Template.Spec.Containers[0].
		WithImagePullPolicy(corev1.PullIfNotPresent).
		WithReadinessProbe(coreac.Probe().WithPeriodSeconds(1).
			WithHTTPGet(coreac.HTTPGetAction().WithPath("/healthz").WithPort(intstr.FromString("http")))).
		WithSecurityContext(coreac.SecurityContext().
			WithRunAsNonRoot(true).WithRunAsUser(10001).WithRunAsGroup(10001).
			WithReadOnlyRootFilesystem(true).WithAllowPrivilegeEscalation(false).
			WithCapabilities(coreac.Capabilities().WithDrop("ALL")))
	start := time.Now()
	c.apply(ctx, t, ns, app)

	err := poll(ctx, 250*time.Millisecond, func() (bool, error) {
		d, err := c.cs.AppsV1().Deployments(ns).Get(ctx, "hello", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		if d.Status.ReadyReplicas == 2 && d.Status.UpdatedReplicas == 2 {
			return true, nil
		}
		return false, fmt.Errorf("%d of 2 replicas ready", d.Status.ReadyReplicas)
	})
	if err != nil {
		c.describePods(t, ns)
		t.Fatalf("deployment never had 2 ready replicas: %v", err)
	}
	t.Logf("TIMING pods Ready: 2 replicas Ready %.1fs after apply", time.Since(start).Seconds())

	pods, err := c.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "pyship.app=hello"})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodRunning {
			names[p.Name] = false
		}
	}
	if len(names) != 2 {
		t.Fatalf("running pods: %v", names)
	}

	svc, err := c.cs.CoreV1().Services(ns).Get(ctx, "hello", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + net.JoinHostPort(svc.Spec.ClusterIP, "80") + "/"
	// No proxy from the environment: the ClusterIP exists only in this host's iptables.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	// kube-proxy programs the Service shortly after its endpoints are ready; then each request
	// is sent to one of the two pods at random: within 60 requests both answer (a miss has
	// odds of 2^-59).
	served := 0
	err = poll(ctx, 100*time.Millisecond, func() (bool, error) {
		resp, err := client.Get(url)
		if err != nil {
			return false, err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if err != nil {
			return false, err
		}
		if resp.StatusCode != http.StatusOK {
			return false, fmt.Errorf("HTTP %d: %s", resp.StatusCode, body)
		}
		pod, ok := strings.CutPrefix(strings.TrimSpace(string(body)), "hello from ")
		if _, known := names[pod]; !ok || !known {
			return true, fmt.Errorf("answer %q names none of the pods %v", body, names)
		}
		names[pod] = true
		served++
		both := true
		for _, hit := range names {
			both = both && hit
		}
		return both || served >= 60, nil
	})
	if err != nil {
		t.Fatalf("GET %s through the Service: %v", url, err)
	}
	for pod, hit := range names {
		if !hit {
			t.Errorf("%d requests through the Service, none reached pod %s", served, pod)
		}
	}
	t.Logf("TIMING service: HTTP 200 from both pods through %s %.1fs after apply (%d requests)", url, time.Since(start).Seconds(), served)

	// Logs through the API server, which fetches them from the kubelet on the node IP.
	for pod, hit := range names {
		raw, err := c.cs.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{}).Do(ctx).Raw()
		if err != nil {
			t.Fatalf("logs of %s: %v", pod, err)
		}
		logs := string(raw)
		if !strings.Contains(logs, "hello: "+pod+" listening on :8080") || (hit && !strings.Contains(logs, "hello: GET / from")) {
			t.Errorf("logs of %s lack its start line or the test's requests:\n%s", pod, logs)
		}
	}
}

// describePods logs what a failing rollout needs to be understood: each pod's phase,
// container states and the namespace's events.
func (c *testCluster) describePods(t *testing.T, ns string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pods, err := c.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Logf("list pods: %v", err)
		return
	}
	for _, p := range pods.Items {
		t.Logf("pod %s: phase %s node %q", p.Name, p.Status.Phase, p.Spec.NodeName)
		for _, s := range p.Status.ContainerStatuses {
			t.Logf("  container %s ready=%v state=%+v", s.Name, s.Ready, s.State)
		}
	}
	events, err := c.cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err == nil {
		for _, e := range events.Items {
			t.Logf("event %s %s: %s", e.InvolvedObject.Name, e.Reason, e.Message)
		}
	}
}
