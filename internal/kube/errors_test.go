package kube

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"
)

// refused is what client-go returns when nothing listens at the server's address.
func refused(host string) error {
	return &url.Error{Op: "Get", URL: "https://" + host + "/api/v1/namespaces/apps/pods",
		Err: &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 6443},
			Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}}
}

func TestExplain(t *testing.T) {
	gr := schema.GroupResource{Resource: "secrets"}
	untrusted := &url.Error{Op: "Get", URL: "https://10.0.0.1:6443/api", Err: &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}}
	for _, tc := range []struct {
		name   string
		err    error
		config *rest.Config
		want   string
	}{
		{
			name: "forbidden",
			err:  apierrors.NewForbidden(gr, "shop--abcd1234", errors.New(`User "dev" cannot get resource "secrets" in API group "" in the namespace "apps"`)),
			want: `cannot read the Secret shop--abcd1234 (context kind-test, namespace apps): the cluster refused it (forbidden): secrets "shop--abcd1234" is forbidden: User "dev" cannot get resource "secrets" in API group "" in the namespace "apps"; ` + roleAdvice("apps"),
		},
		{
			name: "unauthorized",
			err:  apierrors.NewUnauthorized("the server has asked for the client to provide credentials"),
			want: "cannot read the Secret shop--abcd1234 (context kind-test, namespace apps): the API server kind-test did not accept the kubeconfig's credentials (unauthorized): they expired or are for another cluster; get them again (az aks get-credentials for AKS) and check with kubectl --context kind-test cluster-info",
		},
		{
			name: "not found",
			err:  apierrors.NewNotFound(gr, "shop--abcd1234"),
			want: `cannot read the Secret shop--abcd1234 (context kind-test, namespace apps): secrets "shop--abcd1234" not found`,
		},
		{
			name:   "connection refused",
			err:    refused("127.0.0.1:6443"),
			config: &rest.Config{Host: "https://127.0.0.1:6443"},
			want:   "cannot read the Secret shop--abcd1234: the API server 127.0.0.1:6443 (context kind-test, namespace apps) does not answer: dial tcp 127.0.0.1:6443: connect: connection refused; is the cluster up, and does the context point at it? (kubectl --context kind-test cluster-info)",
		},
		{
			name: "connection refused, no config: the context names the server",
			err:  refused("127.0.0.1:6443"),
			want: "cannot read the Secret shop--abcd1234: the API server kind-test (context kind-test, namespace apps) does not answer: dial tcp 127.0.0.1:6443: connect: connection refused; is the cluster up, and does the context point at it? (kubectl --context kind-test cluster-info)",
		},
		{
			name:   "refused, as text only",
			err:    errors.New("Get \"https://10.0.0.1:6443/api\": dial tcp 10.0.0.1:6443: connect: connection refused"),
			config: &rest.Config{Host: "10.0.0.1:6443"},
			want:   "cannot read the Secret shop--abcd1234: the API server 10.0.0.1:6443 (context kind-test, namespace apps) does not answer: Get \"https://10.0.0.1:6443/api\": dial tcp 10.0.0.1:6443: connect: connection refused; is the cluster up, and does the context point at it? (kubectl --context kind-test cluster-info)",
		},
		{
			name:   "timeout",
			err:    &url.Error{Op: "Get", URL: "https://10.0.0.1:6443/api", Err: context.DeadlineExceeded},
			config: &rest.Config{Host: "https://10.0.0.1:6443"},
			want:   "cannot read the Secret shop--abcd1234: the API server 10.0.0.1:6443 (context kind-test, namespace apps) does not answer: context deadline exceeded; is the cluster up, and does the context point at it? (kubectl --context kind-test cluster-info)",
		},
		{
			// It answers, with a certificate the kubeconfig does not trust: not
			// "does not answer".
			name:   "untrusted certificate",
			err:    untrusted,
			config: &rest.Config{Host: "https://10.0.0.1:6443"},
			want:   "cannot read the Secret shop--abcd1234: the API server 10.0.0.1:6443 (context kind-test, namespace apps) has a certificate the kubeconfig does not trust (x509: certificate signed by unknown authority): is the context's server the cluster it names, and its certificate-authority current? (kubectl --context kind-test cluster-info)",
		},
		{
			name: "anything else",
			err:  apierrors.NewInternalError(errors.New("etcdserver: request timed out")),
			want: "cannot read the Secret shop--abcd1234 (context kind-test, namespace apps): Internal error occurred: etcdserver: request timed out",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := newCluster(t)
			r.Config = tc.config
			err := r.explain(tc.err, "read the Secret shop--abcd1234")
			if err.Error() != tc.want {
				t.Errorf("explain =\n  %s\nwant\n  %s", err, tc.want)
			}
			if !errors.Is(err, tc.err) {
				t.Error("the explained error does not unwrap to the cause")
			}
		})
	}
}

// TestErrorsKeepSecretsOut: whatever the cluster answers when a revision with secrets
// is started, pyship's error is one line naming the context and namespace, and holds
// no secret value.
func TestErrorsKeepSecretsOut(t *testing.T) {
	gr := schema.GroupResource{Resource: "secrets"}
	for _, cause := range []error{
		apierrors.NewForbidden(gr, "shop--abcd1234", errors.New("no")),
		apierrors.NewUnauthorized("expired"),
		apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, testNS),
		refused("127.0.0.1:6443"),
		apierrors.NewBadRequest("the body is not valid"),
	} {
		for _, res := range []string{"secrets", "deployments"} {
			t.Run(fmt.Sprintf("%s %T", res, cause), func(t *testing.T) {
				r, cs := newCluster(t)
				cs.PrependReactor("patch", res, func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, cause })
				err := r.Start(ctxT(t), secretRelease())
				if err == nil {
					t.Fatal("no error")
				}
				msg := err.Error()
				if strings.Contains(msg, sentinel) || strings.Contains(msg, "digest-of-") {
					t.Errorf("the error holds a secret value or digest: %s", msg)
				}
				if strings.Contains(msg, "\n") {
					t.Errorf("more than one line: %q", msg)
				}
				if !strings.Contains(msg, "context kind-test, namespace apps") {
					t.Errorf("the error does not say where: %s", msg)
				}
			})
		}
	}
}

func TestRootCause(t *testing.T) {
	inner := errors.New("innermost")
	if got := rootCause(fmt.Errorf("a: %w", fmt.Errorf("b: %w", inner))); got != "innermost" {
		t.Errorf("rootCause = %q", got)
	}
	if got := rootCause(inner); got != "innermost" {
		t.Errorf("rootCause = %q", got)
	}
}

func TestServer(t *testing.T) {
	for in, want := range map[string]string{"https://10.0.0.1:6443": "10.0.0.1:6443", "https://aks-dns.hcp.westeurope.azmk8s.io:443/": "aks-dns.hcp.westeurope.azmk8s.io:443", "10.0.0.1:6443": "10.0.0.1:6443"} {
		if got := server(&rest.Config{Host: in}); got != want {
			t.Errorf("server(%q) = %q, want %q", in, got, want)
		}
	}
}
