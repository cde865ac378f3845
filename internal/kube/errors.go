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

// explain turns an API error into one line that says what pyship was doing, on which
// cluster and namespace, and what to do about it.
func (r *Runtime) explain(err error, doing string) error {
	where := fmt.Sprintf("context %s, namespace %s", r.Target.Context, r.ns())
	switch {
	case apierrors.IsForbidden(err):
		return &Error{Err: err, Msg: fmt.Sprintf("cannot %s (%s): the cluster refused it (forbidden): %s; the kubeconfig's user needs a Role in the namespace allowing pyship's objects (Deployments, ReplicaSets, Pods, pods/log, Services, Secrets, EndpointSlices)", doing, where, apiMessage(err))}
	case apierrors.IsUnauthorized(err):
		return &Error{Err: err, Msg: fmt.Sprintf("cannot %s (%s): the cluster did not accept the kubeconfig's credentials (unauthorized): log in again (az aks get-credentials for AKS)", doing, where)}
	case isUntrusted(err):
		return &Error{Err: err, Msg: fmt.Sprintf("cannot %s: the API server %s (%s) presents a certificate the kubeconfig does not trust: %s; is this the right context (--context), and is the kubeconfig's certificate-authority-data the cluster's?", doing, r.host(), where, rootCause(err))}
	case isUnreachable(err):
		return &Error{Err: err, Msg: fmt.Sprintf("cannot %s: the API server %s (%s) does not answer: %s; is the cluster up, and is this the right context (--context)?", doing, r.host(), where, rootCause(err))}
	case apierrors.IsNotFound(err):
		return &Error{Err: err, Msg: fmt.Sprintf("cannot %s (%s): %s", doing, where, apiMessage(err))}
	}
	return &Error{Err: err, Msg: fmt.Sprintf("cannot %s (%s): %s", doing, where, apiMessage(err))}
}

// host names the API server for messages: its address, else the context's name.
func (r *Runtime) host() string {
	if r.Config != nil {
		return server(r.Config)
	}
	return r.Target.Context
}

// isUntrusted is a server that answered with a certificate that does not verify: it is
// up, so "does not answer" (every *url.Error) would send the user the wrong way.
func isUntrusted(err error) bool {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci)
}

// Error is a failed call to the cluster, explained.
type Error struct {
	Msg string
	Err error
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

// rootCause is the innermost error's text: "dial tcp 127.0.0.1:1: connect: connection
// refused" rather than the URL of the call.
func rootCause(err error) string {
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
