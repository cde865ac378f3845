package kube

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Kind sorts the errors of calls to the cluster for scripts (pyship --json gives it as
// the error's code): each has its own remedy.
type Kind string

const (
	// Forbidden: the kubeconfig's user lacks a permission in the namespace.
	Forbidden Kind = "forbidden"
	// Unauthorized: the cluster did not accept the kubeconfig's credentials.
	Unauthorized Kind = "unauthorized"
	// Unreachable: the API server does not answer (down, wrong address, firewall).
	Unreachable Kind = "unreachable"
	// Untrusted: the API server answers with a certificate the kubeconfig does not
	// trust (another cluster at that address, or stale credentials).
	Untrusted Kind = "untrusted"
)

// explain turns an API error into one line that says what pyship was doing, on which
// cluster and namespace, and what to do about it.
func (r *Runtime) explain(err error, doing string) error {
	where := fmt.Sprintf("context %s, namespace %s", r.Target.Context, r.ns())
	host := r.Target.Context
	if r.Config != nil {
		host = server(r.Config)
	}
	// Advice that holds for deploy (where --context could change) and for the later
	// commands (which use the context recorded at the first deploy) alike.
	check := fmt.Sprintf("kubectl --context %s cluster-info", r.Target.Context)
	switch {
	case apierrors.IsForbidden(err):
		return &Error{Kind: Forbidden, Err: err, Msg: fmt.Sprintf("cannot %s (%s): the cluster refused it (forbidden): %s; %s", doing, where, apiMessage(err), roleAdvice(r.ns()))}
	case apierrors.IsUnauthorized(err):
		return &Error{Kind: Unauthorized, Err: err, Msg: fmt.Sprintf("cannot %s (%s): the API server %s did not accept the kubeconfig's credentials (unauthorized): they expired or are for another cluster; get them again (az aks get-credentials for AKS) and check with %s", doing, where, host, check)}
	case isUntrusted(err):
		return &Error{Kind: Untrusted, Err: err, Msg: fmt.Sprintf("cannot %s: the API server %s (%s) has a certificate the kubeconfig does not trust (%s): is the context's server the cluster it names, and its certificate-authority current? (%s)", doing, host, where, rootCause(err), check)}
	case isUnreachable(err):
		return &Error{Kind: Unreachable, Err: err, Msg: fmt.Sprintf("cannot %s: the API server %s (%s) does not answer: %s; is the cluster up, and does the context point at it? (%s)", doing, host, where, rootCause(err), check)}
	}
	return &Error{Err: err, Msg: fmt.Sprintf("cannot %s (%s): %s", doing, where, apiMessage(err))}
}

// Error is a failed call to the cluster, explained.
type Error struct {
	Kind Kind // "" for the other errors
	Msg  string
	Err  error
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

func apiMessage(err error) string {
	var s apierrors.APIStatus
	if errors.As(err, &s) && s.Status().Message != "" {
		return s.Status().Message
	}
	return err.Error()
}

func isUnreachable(err error) bool {
	var ne net.Error
	var ue *url.Error
	var oe *net.OpError
	if errors.As(err, &oe) || errors.As(err, &ue) || (errors.As(err, &ne) && ne.Timeout()) {
		return true
	}
	return strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "no such host")
}

func isUntrusted(err error) bool {
	var ua x509.UnknownAuthorityError
	var host x509.HostnameError
	var inv x509.CertificateInvalidError
	var ver *tls.CertificateVerificationError
	return errors.As(err, &ua) || errors.As(err, &host) || errors.As(err, &inv) || errors.As(err, &ver)
}

// rootCause is the innermost error's text: "dial tcp 127.0.0.1:1: connect: connection
// refused" rather than the URL of the call.
func rootCause(err error) string {
	var ver *tls.CertificateVerificationError
	if errors.As(err, &ver) {
		return ver.Err.Error()
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return oe.Error()
	}
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err.Error()
		}
		err = u
	}
}
