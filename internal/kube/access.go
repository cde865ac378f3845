package kube

import (
	"context"
	"fmt"
	"strings"
	"sync"

	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Permission is what pyship does to one kind of object in an app's namespace.
type Permission struct {
	Group    string // "" for the core group
	Resource string // "pods/log" for a subresource
	Verbs    []string
}

// name is the resource as RBAC and kubectl write it: deployments.apps, pods/log.
func (p Permission) name() string {
	if p.Group == "" {
		return p.Resource
	}
	return p.Resource + "." + p.Group
}

// Permissions are every call the Runtime makes in the namespace, and nothing more
// (access_test.go holds the two together). A server-side apply of an object that does
// not exist yet is authorized as create as well as patch. Reading and creating the
// namespace itself is not among them: a user limited to one namespace cannot, and
// needs no more than that the namespace exists.
var Permissions = []Permission{
	{"apps", "deployments", []string{"get", "list", "create", "patch", "delete"}},
	{"apps", "replicasets", []string{"deletecollection"}},
	{"", "pods", []string{"get", "list", "create", "patch", "delete", "deletecollection"}},
	{"", "pods/log", []string{"get"}},
	{"", "secrets", []string{"get", "list", "create", "patch", "delete"}},
	{"", "services", []string{"get", "list", "create", "patch", "delete"}},
	{"networking.k8s.io", "ingresses", []string{"get", "list", "create", "patch", "delete"}},
	{"discovery.k8s.io", "endpointslices", []string{"list"}},
	{"", "events", []string{"list"}},
	{"autoscaling", "horizontalpodautoscalers", []string{"get", "list", "create", "patch", "delete"}},
}

// Role is the namespaced Role that grants pyship's Permissions: bound to a user (or
// a service account), it lets that user deploy to ns and no more.
func Role(ns, name string) *rbacv1.Role {
	r := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	for _, p := range Permissions {
		r.Rules = append(r.Rules, rbacv1.PolicyRule{APIGroups: []string{p.Group}, Resources: []string{p.Resource}, Verbs: p.Verbs})
	}
	return r
}

// roleAdvice says what Role a user needs in ns, in one line.
func roleAdvice(ns string) string {
	parts := make([]string, len(Permissions))
	for i, p := range Permissions {
		parts[i] = p.name() + " " + strings.Join(p.Verbs, ",")
	}
	return fmt.Sprintf("pyship needs a Role in namespace %s, bound to the kubeconfig's user, that allows: %s", ns, strings.Join(parts, "; "))
}

// CheckAccess asks the API server, before a deploy builds, pushes or changes anything,
// whether the kubeconfig's user may do all that pyship does in the namespace: one
// SelfSubjectAccessReview per verb, sent together. A missing permission then fails the
// deploy up front, with everything that is missing, rather than half-way through a
// rollout; an unreachable or untrusted server and refused credentials fail here too.
func (r *Runtime) CheckAccess(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	type check struct {
		p       Permission
		verb    string
		allowed bool
		err     error
	}
	var checks []*check
	for _, p := range Permissions {
		for _, v := range p.Verbs {
			checks = append(checks, &check{p: p, verb: v})
		}
	}
	// The first review alone: a server that does not answer, or refuses the
	// credentials, is reported once, not once per verb.
	first := checks[0]
	first.allowed, first.err = r.review(ctx, first.p, first.verb)
	if first.err != nil {
		if apierrors.IsForbidden(first.err) || apierrors.IsNotFound(first.err) {
			// A cluster where users may not review their own access: the calls
			// themselves will say what is refused; that the server answers and takes
			// the credentials is checked with the first one a deploy makes.
			_, err := r.CS.AppsV1().Deployments(r.ns()).List(ctx, metav1.ListOptions{Limit: 1, LabelSelector: r.stateSelector("")})
			if err != nil {
				return r.explain(err, "list Deployments")
			}
			return nil
		}
		return r.explain(first.err, "deploy")
	}
	var wg sync.WaitGroup
	for _, c := range checks[1:] {
		wg.Go(func() { c.allowed, c.err = r.review(ctx, c.p, c.verb) })
	}
	wg.Wait()
	var missing []string
	for i := 0; i < len(checks); {
		p, verbs := checks[i].p, []string{}
		for ; i < len(checks) && checks[i].p.name() == p.name(); i++ {
			if err := checks[i].err; err != nil {
				return r.explain(err, "deploy")
			}
			if !checks[i].allowed {
				verbs = append(verbs, checks[i].verb)
			}
		}
		if len(verbs) > 0 {
			missing = append(missing, strings.Join(verbs, ",")+" "+p.name())
		}
	}
	if len(missing) == 0 {
		return nil
	}
	who := "the kubeconfig's user"
	if u := r.whoAmI(ctx); u != "" {
		who = fmt.Sprintf("user %q", u)
	}
	return &Error{Kind: Forbidden, Msg: fmt.Sprintf("cannot deploy to namespace %s (context %s): the cluster refused it (forbidden): %s may not %s there; %s",
		r.ns(), r.Target.Context, who, strings.Join(missing, "; "), roleAdvice(r.ns()))}
}

func (r *Runtime) review(ctx context.Context, p Permission, verb string) (bool, error) {
	resource, sub, _ := strings.Cut(p.Resource, "/")
	sar := &authzv1.SelfSubjectAccessReview{Spec: authzv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authzv1.ResourceAttributes{
		Namespace: r.ns(), Verb: verb, Group: p.Group, Resource: resource, Subresource: sub}}}
	out, err := r.CS.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	return out.Status.Allowed, nil
}

// whoAmI is the user the cluster takes the kubeconfig's credentials for ("" if it
// does not say), so that a refusal names whom to grant the Role.
func (r *Runtime) whoAmI(ctx context.Context) string {
	out, err := r.CS.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return ""
	}
	return out.Status.UserInfo.Username
}
