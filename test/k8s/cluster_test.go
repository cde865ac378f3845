// Package k8s tests against a real Kubernetes cluster that test/k8s/cluster-up.sh starts on this
// machine (kube-apiserver, controller-manager, scheduler, and with NODE=real a kubelet, kube-proxy
// and containerd): bash test/k8s/run.sh builds, starts, runs these tests and tears it all down.
package k8s

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// testCluster is the cluster run.sh started, as described by cluster-up.sh's cluster.env.
type testCluster struct {
	cfg         *rest.Config
	kubeconfig  string // its file, for pyship --kubeconfig
	cs          kubernetes.Interface
	realNode    bool
	registry    string // host:port of the loopback registry the node pulls from (real node only)
	serviceCIDR *net.IPNet
}

// cluster returns the test cluster, or skips: these tests need one started by run.sh, which a
// plain `go test ./...` does not do (its node changes the host's iptables and network).
func cluster(t *testing.T) *testCluster {
	t.Helper()
	kubeconfig := os.Getenv("PYSHIP_K8S_KUBECONFIG")
	if kubeconfig == "" {
		t.Skip("no test cluster: bash test/k8s/run.sh starts one and runs these tests " +
			"(PYSHIP_TEST_K8S=1 bash scripts/test.sh does so after the others; its node changes host networking)")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatalf("kubeconfig %s: %v", kubeconfig, err)
	}
	cfg.Timeout = 30 * time.Second
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := &testCluster{cfg: cfg, kubeconfig: kubeconfig, cs: cs, realNode: os.Getenv("PYSHIP_K8S_NODE") == "real", registry: os.Getenv("PYSHIP_K8S_REGISTRY")}
	if s := os.Getenv("PYSHIP_K8S_SERVICE_CIDR"); s != "" {
		if _, c.serviceCIDR, err = net.ParseCIDR(s); err != nil {
			t.Fatalf("PYSHIP_K8S_SERVICE_CIDR: %v", err)
		}
	}
	return c
}

// namespace returns a fresh namespace name for one test, deleted (and waited for, so that a real
// node has torn its pods down) when the test ends.
func (c *testCluster) namespace(t *testing.T, prefix string) string {
	t.Helper()
	ns := fmt.Sprintf("%s-%06x", prefix, rand.IntN(1<<24))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		err := c.cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
		if err != nil {
			if !apierrors.IsNotFound(err) {
				t.Errorf("delete namespace %s: %v", ns, err)
			}
			return
		}
		for ctx.Err() == nil {
			if _, err := c.cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); apierrors.IsNotFound(err) {
				return
			}
			time.Sleep(250 * time.Millisecond)
		}
		t.Errorf("namespace %s still there after 2 minutes", ns)
	})
	return ns
}

// poll calls cond every interval until it returns true, an error, or ctx ends; the last
// condition error is part of the timeout error so a failure says what it was waiting on.
func poll(ctx context.Context, interval time.Duration, cond func() (bool, error)) error {
	var last error
	for {
		done, err := cond()
		if done {
			return err
		}
		last = err
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("%w (last: %v)", ctx.Err(), last)
			}
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}
