package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	coreac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/pyship/pyship/internal/platform"
	"github.com/pyship/pyship/internal/store"
)

// Runtime is platform.Runtime on one namespace of a cluster.
type Runtime struct {
	CS      kubernetes.Interface
	Config  *rest.Config // for messages (the server's address); may be nil
	Target  store.Target
	StateID string
	// ImageUser reads the numeric user an image runs as (from its config in the
	// registry); nil or an error leaves it to the image.
	ImageUser func(ctx context.Context, ref string) (uid, gid int64, err error)
	Grace     int64 // seconds between SIGTERM and SIGKILL (default 30)
	// Poll is how often Ready and Remove look at the cluster (default 250 ms).
	Poll time.Duration
}

var _ platform.Runtime = (*Runtime)(nil)

func (r *Runtime) ns() string { return r.Target.Namespace }

func (r *Runtime) poll() time.Duration {
	if r.Poll > 0 {
		return r.Poll
	}
	return 250 * time.Millisecond
}

func (r *Runtime) options(ctx context.Context, rel platform.Release) Options {
	o := Options{Namespace: r.ns(), StateID: r.StateID, Grace: r.Grace}
	if r.ImageUser != nil && rel.Spec.ImageRef != "" {
		if uid, gid, err := r.ImageUser(ctx, rel.Spec.ImageRef); err == nil {
			o.UID, o.GID = uid, gid
		}
	}
	return o
}

func applyOpts() metav1.ApplyOptions {
	return metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
}

// Start applies the revision's Secret and Deployment. Its pods take no traffic until
// Route points the app's Service at the revision.
func (r *Runtime) Start(ctx context.Context, rel platform.Release) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	if err := r.ensureNamespace(ctx); err != nil {
		return err
	}
	if err := r.checkOwner(ctx, rel.App); err != nil {
		return err
	}
	o := r.options(ctx, rel)
	objs := RevisionObjects(rel, o)
	if objs.Secret != nil {
		// An immutable Secret cannot change; one of the same name holds the same
		// values (the name hashes their digests), so it is left as it is. Invalid with
		// no such Secret is a Secret the cluster refuses (a bad key): said now, not as a
		// pod that waits for a missing Secret.
		_, err := r.CS.CoreV1().Secrets(r.ns()).Apply(ctx, objs.Secret, applyOpts())
		if err != nil && apierrors.IsInvalid(err) {
			if _, gerr := r.CS.CoreV1().Secrets(r.ns()).Get(ctx, rel.Revision, metav1.GetOptions{}); gerr == nil {
				err = nil
			}
		}
		if err != nil {
			return r.explain(err, "create the Secret of "+rel.Revision)
		}
	}
	if _, err := r.CS.AppsV1().Deployments(r.ns()).Apply(ctx, objs.Deployment, applyOpts()); err != nil {
		return r.explain(err, "create the Deployment of "+rel.Revision)
	}
	if hpa := HPAObject(rel, o); hpa != nil {
		if _, err := r.CS.AutoscalingV2().HorizontalPodAutoscalers(r.ns()).Apply(ctx, hpa, applyOpts()); err != nil {
			return r.explain(err, "create the HorizontalPodAutoscaler of "+rel.Revision)
		}
	}
	return nil
}

// checkOwner refuses to deploy app over what another pyship state directory (another
// user's machine, a CI runner) or another tool made under the same names in the
// namespace: server-side apply with force would silently take them over, and each
// side's down would then delete the other's app.
func (r *Runtime) checkOwner(ctx context.Context, app string) error {
	svc, err := r.CS.CoreV1().Services(r.ns()).Get(ctx, app, metav1.GetOptions{})
	switch {
	case err == nil && svc.Labels[LabelManagedBy] != "pyship":
		return &Error{Msg: fmt.Sprintf("namespace %s (context %s) already has a Service %s that pyship did not make: deploy the app under another --app name, or into another --namespace", r.ns(), r.Target.Context, app)}
	case err == nil && svc.Labels[LabelState] != r.StateID:
		return &Error{Msg: fmt.Sprintf("app %s in namespace %s (context %s) was deployed from another pyship state directory (another machine or user); deploy from there, remove it there with pyship down, or use another --app name", app, r.ns(), r.Target.Context)}
	case err != nil && !apierrors.IsNotFound(err):
		return r.explain(err, "read the Service "+app)
	}
	deps, err := r.CS.AppsV1().Deployments(r.ns()).List(ctx, metav1.ListOptions{LabelSelector: LabelApp + "=" + app})
	if err != nil {
		return r.explain(err, "list the Deployments of app "+app)
	}
	for _, d := range deps.Items {
		if d.Labels[LabelState] != r.StateID {
			return &Error{Msg: fmt.Sprintf("app %s in namespace %s (context %s) has revisions deployed from another pyship state directory (%s); deploy from there, remove it there with pyship down, or use another --app name", app, r.ns(), r.Target.Context, d.Name)}
		}
	}
	return nil
}

// ensureNamespace creates the target namespace when it does not exist, as a first
// deploy to a new cluster expects; one that exists is left as it is.
func (r *Runtime) ensureNamespace(ctx context.Context) error {
	_, err := r.CS.CoreV1().Namespaces().Get(ctx, r.ns(), metav1.GetOptions{})
	if err == nil || apierrors.IsForbidden(err) {
		// Forbidden: a user limited to its namespace cannot read Namespaces; the
		// namespaced calls that follow tell whether it exists.
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return r.explain(err, "read namespace "+r.ns())
	}
	_, err = r.CS.CoreV1().Namespaces().Apply(ctx, coreac.Namespace(r.ns()).WithLabels(map[string]string{LabelManagedBy: "pyship"}), applyOpts())
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return r.explain(err, "create namespace "+r.ns())
	}
	return nil
}

// Route points each app's Service at the revision with all of its traffic, or, for a
// split, at every pod of the app with pods in proportion to the weights (split.go).
// Every split is checked before any Service moves: one that cannot be made must not
// leave the apps sorted before it switched.
func (r *Runtime) Route(ctx context.Context, apps map[string]platform.Traffic) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout+splitReadyTimeout)
	defer cancel()
	type plan struct {
		members []member
		pods    map[string]int
	}
	deps, err := r.deployments(ctx)
	if err != nil {
		return err
	}
	serving, splits := map[string]string{}, map[string]plan{}
	for _, app := range slices.Sorted(mapsKeys(apps)) {
		w := positive(apps[app].Weights)
		switch len(w) {
		case 0:
		case 1:
			for rev := range w {
				serving[app] = rev
			}
		default:
			ms, err := members(app, r.ns(), w, deps)
			if err != nil {
				return err
			}
			pods, err := planSplit(app, ms, w)
			if err != nil {
				return err
			}
			splits[app] = plan{ms, pods}
		}
	}
	for _, app := range slices.Sorted(mapsKeys(apps)) {
		o := Options{Namespace: r.ns(), StateID: r.StateID}
		if sp, ok := splits[app]; ok {
			if err := r.routeSplit(ctx, app, sp.members, sp.pods, apps[app].Weights, deps, o); err != nil {
				return err
			}
		} else if rev := serving[app]; rev != "" {
			if err := r.routeOne(ctx, app, rev, deps, o); err != nil {
				return err
			}
		} else {
			// Nothing serves yet: no Service until a revision is Ready, so that a
			// client sees "no such service" and not a Service with no endpoints.
			continue
		}
		if host := apps[app].Host; host != "" {
			if _, err := r.CS.NetworkingV1().Ingresses(r.ns()).Apply(ctx, IngressObject(app, host, o), applyOpts()); err != nil {
				return r.explain(err, "route "+host+" to "+app+" (Ingress)")
			}
		}
	}
	// The Ingresses of apps that no longer have a host, or are gone.
	ings, err := r.CS.NetworkingV1().Ingresses(r.ns()).List(ctx, metav1.ListOptions{LabelSelector: r.stateSelector("")})
	if err != nil {
		return r.explain(err, "list Ingresses")
	}
	for _, in := range ings.Items {
		if t, ok := apps[in.Labels[LabelApp]]; ok && t.Host != "" {
			continue
		}
		if err := r.CS.NetworkingV1().Ingresses(r.ns()).Delete(ctx, in.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return r.explain(err, "delete the Ingress "+in.Name)
		}
	}
	// The Services of apps this state directory no longer has go.
	list, err := r.CS.CoreV1().Services(r.ns()).List(ctx, metav1.ListOptions{LabelSelector: r.stateSelector("")})
	if err != nil {
		return r.explain(err, "list Services")
	}
	for _, s := range list.Items {
		if _, ok := apps[s.Labels[LabelApp]]; ok {
			continue
		}
		err := r.CS.CoreV1().Services(r.ns()).Delete(ctx, s.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return r.explain(err, "delete the Service "+s.Name)
		}
	}
	return nil
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// stateSelector selects what this state directory made (of one app, if app is set).
func (r *Runtime) stateSelector(app string) string {
	set := labels.Set{LabelManagedBy: "pyship"}
	if r.StateID != "" {
		set[LabelState] = r.StateID
	}
	if app != "" {
		set[LabelApp] = app
	}
	return set.String()
}

// Routed is the revision the app's Service selects.
func (r *Runtime) Routed(ctx context.Context, app string) (map[string]int, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	s, err := r.CS.CoreV1().Services(r.ns()).Get(ctx, app, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, r.explain(err, "read the Service "+app)
	}
	if rev := s.Spec.Selector[LabelRevision]; rev != "" && rev != "none" {
		return map[string]int{rev: 100}, nil
	}
	if raw, ok := s.Annotations[AnnotationTraffic]; ok && s.Spec.Selector[LabelApp] == app {
		var w map[string]int
		if err := json.Unmarshal([]byte(raw), &w); err != nil {
			return nil, fmt.Errorf("the Service %s has an unreadable %s annotation (%v): pyship traffic %s REVISION=100 rewrites it", app, AnnotationTraffic, err, app)
		}
		return w, nil
	}
	return nil, nil
}

// Drain waits until the app's Service no longer sends new requests to revs' pods: its
// EndpointSlices list none of them. Requests already in flight finish during the
// pods' preStop delay and grace period (Remove).
func (r *Runtime) Drain(ctx context.Context, app string, revs []string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		slices_, err := r.CS.DiscoveryV1().EndpointSlices(r.ns()).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + app})
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("the Service %s still lists pods of %s after %s", app, strings.Join(revs, ", "), timeout)
			}
			return r.explain(err, "read the endpoints of "+app)
		}
		old := 0
		for _, s := range slices_.Items {
			for _, e := range s.Endpoints {
				if e.TargetRef != nil && slices.ContainsFunc(revs, func(rev string) bool { return strings.HasPrefix(e.TargetRef.Name, rev+"-") }) {
					old++
				}
			}
		}
		if old == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the Service %s still lists %d pod(s) of %s after %s", app, old, strings.Join(revs, ", "), timeout)
		case <-time.After(r.poll()):
		}
	}
}

// Remove deletes the revision's Deployment, ReplicaSets and Secret and waits until its
// pods are gone: each gets the preStop delay and grace to finish, or none when grace
// is 0.
func (r *Runtime) Remove(ctx context.Context, app, rev string, grace time.Duration) error {
	cctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	bg := metav1.DeletePropagationBackground
	err := r.CS.AppsV1().Deployments(r.ns()).Delete(cctx, rev, metav1.DeleteOptions{PropagationPolicy: &bg})
	if err != nil && !apierrors.IsNotFound(err) {
		return r.explain(err, "delete the Deployment "+rev)
	}
	sel := labels.Set(selector(app, rev)).String()
	// The ReplicaSets go now rather than when the garbage collector gets to them: one
	// still there would replace the pods deleted below, and the replacements would
	// get the full grace. A user who may not delete them (a Role that names only
	// Deployments) leaves them to the garbage collector.
	err = r.CS.AppsV1().ReplicaSets(r.ns()).DeleteCollection(cctx, metav1.DeleteOptions{PropagationPolicy: &bg}, metav1.ListOptions{LabelSelector: sel})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsForbidden(err) {
		return r.explain(err, "delete the ReplicaSets of "+rev)
	}
	if grace == 0 {
		zero := int64(0)
		err := r.CS.CoreV1().Pods(r.ns()).DeleteCollection(cctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, metav1.ListOptions{LabelSelector: sel})
		if err != nil && !apierrors.IsNotFound(err) {
			return r.explain(err, "delete the pods of "+rev)
		}
	}
	err = r.CS.CoreV1().Secrets(r.ns()).Delete(cctx, rev, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return r.explain(err, "delete the Secret "+rev)
	}
	err = r.CS.AutoscalingV2().HorizontalPodAutoscalers(r.ns()).Delete(cctx, rev, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return r.explain(err, "delete the HorizontalPodAutoscaler "+rev)
	}
	// The pods are deleted by the garbage collector once their ReplicaSet is; wait,
	// bounded, so that down and a finished deploy leave nothing running.
	wait := time.Duration(r.grace()+drainDelay)*time.Second + 30*time.Second
	if grace == 0 {
		wait = 30 * time.Second
	}
	wctx, wcancel := context.WithTimeout(ctx, wait)
	defer wcancel()
	left := 0
	for {
		pods, err := r.CS.CoreV1().Pods(r.ns()).List(wctx, metav1.ListOptions{LabelSelector: sel})
		if err == nil && len(pods.Items) == 0 {
			return nil
		}
		if err != nil && wctx.Err() == nil {
			return r.explain(err, "read the pods of "+rev)
		}
		if err == nil {
			left = len(pods.Items)
		}
		select {
		case <-wctx.Done():
			return fmt.Errorf("%d pod(s) of %s still there after %s", left, rev, wait)
		case <-time.After(r.poll()):
		}
	}
}

func (r *Runtime) grace() int64 {
	if r.Grace > 0 {
		return r.Grace
	}
	return 30
}

// List lists the app's pods (every app's, for app "") that this state directory made.
func (r *Runtime) List(ctx context.Context, app string) ([]platform.Replica, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	deps, err := r.CS.AppsV1().Deployments(r.ns()).List(ctx, metav1.ListOptions{LabelSelector: r.stateSelector(app)})
	if err != nil {
		return nil, r.explain(err, "list the Deployments"+ofApp(app))
	}
	specs := map[string]*store.Spec{}
	for _, d := range deps.Items {
		if s, ok := parseSpec(d.Annotations[AnnotationSpec]); ok {
			specs[d.Name] = &s
		}
	}
	pods, err := r.CS.CoreV1().Pods(r.ns()).List(ctx, metav1.ListOptions{LabelSelector: r.stateSelector(app)})
	if err != nil {
		return nil, r.explain(err, "list the pods"+ofApp(app))
	}
	var out []platform.Replica
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil || p.Labels[LabelApp] == "" {
			continue // terminating, or a one-off command's pod: not a replica
		}
		rev := p.Labels[LabelRevision]
		restarts := 0
		for _, c := range p.Status.ContainerStatuses {
			restarts += int(c.RestartCount)
		}
		out = append(out, platform.Replica{
			Restarts: restarts,
			ID:       p.Name, Name: p.Name, App: p.Labels[LabelApp], Revision: rev,
			Index:   strings.TrimPrefix(p.Name, rev+"-"),
			State:   podState(&p),
			Running: p.Status.Phase == corev1.PodRunning || p.Status.Phase == corev1.PodPending,
			Serving: podReady(&p),
			Created: p.CreationTimestamp.Time,
			Spec:    specs[rev],
		})
	}
	slices.SortFunc(out, func(a, b platform.Replica) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// ofApp names the app a listing is for in a message (" of app shop"), if one.
func ofApp(app string) string {
	if app == "" {
		return ""
	}
	return " of app " + app
}

func parseSpec(raw string) (store.Spec, bool) {
	var s store.Spec
	if raw == "" {
		return s, false
	}
	if err := jsonUnmarshal([]byte(raw), &s); err != nil {
		return s, false
	}
	return s, true
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podState is the pod's state as kubectl get pods shows it: the waiting or
// terminated reason of its container, else its phase.
func podState(p *corev1.Pod) string {
	for _, c := range p.Status.ContainerStatuses {
		switch {
		case c.State.Waiting != nil && c.State.Waiting.Reason != "":
			return c.State.Waiting.Reason
		case c.State.Terminated != nil && c.State.Terminated.Reason != "":
			return c.State.Terminated.Reason
		case c.State.Running != nil && !c.Ready:
			return "running, not ready"
		}
	}
	if unschedulable(p) != nil {
		return corev1.PodReasonUnschedulable // kubectl says Pending, which does not say why
	}
	return strings.ToLower(string(p.Status.Phase))
}

// Logs copies one pod's output, each line led by its RFC 3339 timestamp.
func (r *Runtime) Logs(ctx context.Context, rep platform.Replica, o platform.LogOptions, w io.Writer) error {
	lo := &corev1.PodLogOptions{Container: containerName, Timestamps: true, Follow: o.Follow}
	if o.Tail > 0 {
		n := int64(o.Tail)
		lo.TailLines = &n
	}
	if o.Since != "" {
		t, err := sinceTime(o.Since, time.Now())
		if err != nil {
			return err
		}
		lo.SinceTime = &metav1.Time{Time: t}
	}
	rc, err := r.CS.CoreV1().Pods(r.ns()).GetLogs(rep.ID, lo).Stream(ctx)
	if err != nil {
		if apierrors.IsNotFound(err) || apierrors.IsBadRequest(err) {
			return nil // gone, or not started yet: no output to show
		}
		return r.explain(err, "read the logs of "+rep.Name)
	}
	defer rc.Close()
	_, err = io.Copy(w, rc)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// sinceTime reads --since as a duration before now or a time (RFC 3339, Unix seconds).
func sinceTime(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), nil
	}
	return time.Time{}, fmt.Errorf("--since %q: use a duration (10m) or a time (RFC 3339, Unix seconds)", s)
}

// Secret reads a secret value back from the revision's Secret.
func (r *Runtime) Secret(ctx context.Context, app, rev, key string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	s, err := r.CS.CoreV1().Secrets(r.ns()).Get(ctx, rev, metav1.GetOptions{})
	if err != nil {
		return nil, r.explain(err, "read the Secret "+rev)
	}
	v, ok := s.Data[key]
	if !ok {
		return nil, fmt.Errorf("the Secret %s has no key %s", rev, key)
	}
	return v, nil
}

// Purge deletes whatever this state directory made for app that is left: Deployments
// without pods, the Secrets of failed revisions, autoscalers, the Service and Ingress.
// An object is deleted only if it carries the app's and this state directory's labels
// and pyship applied it (its field manager): a look-alike someone else made stays.
func (r *Runtime) Purge(ctx context.Context, app string) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	lo := metav1.ListOptions{LabelSelector: r.stateSelector(app)}
	bg := metav1.DeletePropagationBackground
	do := metav1.DeleteOptions{PropagationPolicy: &bg}
	ns := r.ns()
	type kind struct {
		name string
		list func() ([]metav1.ObjectMeta, error)
		del  func(name string) error
	}
	metas := func(n int, at func(i int) metav1.ObjectMeta) []metav1.ObjectMeta {
		out := make([]metav1.ObjectMeta, n)
		for i := range out {
			out[i] = at(i)
		}
		return out
	}
	kinds := []kind{
		{"Deployment", func() ([]metav1.ObjectMeta, error) {
			l, err := r.CS.AppsV1().Deployments(ns).List(ctx, lo)
			if err != nil {
				return nil, err
			}
			return metas(len(l.Items), func(i int) metav1.ObjectMeta { return l.Items[i].ObjectMeta }), nil
		}, func(n string) error { return r.CS.AppsV1().Deployments(ns).Delete(ctx, n, do) }},
		{"HorizontalPodAutoscaler", func() ([]metav1.ObjectMeta, error) {
			l, err := r.CS.AutoscalingV2().HorizontalPodAutoscalers(ns).List(ctx, lo)
			if err != nil {
				return nil, err
			}
			return metas(len(l.Items), func(i int) metav1.ObjectMeta { return l.Items[i].ObjectMeta }), nil
		}, func(n string) error { return r.CS.AutoscalingV2().HorizontalPodAutoscalers(ns).Delete(ctx, n, do) }},
		{"Secret", func() ([]metav1.ObjectMeta, error) {
			l, err := r.CS.CoreV1().Secrets(ns).List(ctx, lo)
			if err != nil {
				return nil, err
			}
			return metas(len(l.Items), func(i int) metav1.ObjectMeta { return l.Items[i].ObjectMeta }), nil
		}, func(n string) error { return r.CS.CoreV1().Secrets(ns).Delete(ctx, n, do) }},
		{"Ingress", func() ([]metav1.ObjectMeta, error) {
			l, err := r.CS.NetworkingV1().Ingresses(ns).List(ctx, lo)
			if err != nil {
				return nil, err
			}
			return metas(len(l.Items), func(i int) metav1.ObjectMeta { return l.Items[i].ObjectMeta }), nil
		}, func(n string) error { return r.CS.NetworkingV1().Ingresses(ns).Delete(ctx, n, do) }},
		{"Service", func() ([]metav1.ObjectMeta, error) {
			l, err := r.CS.CoreV1().Services(ns).List(ctx, lo)
			if err != nil {
				return nil, err
			}
			return metas(len(l.Items), func(i int) metav1.ObjectMeta { return l.Items[i].ObjectMeta }), nil
		}, func(n string) error { return r.CS.CoreV1().Services(ns).Delete(ctx, n, do) }},
	}
	for _, k := range kinds {
		items, err := k.list()
		if err != nil {
			return r.explain(err, "list the "+k.name+"s of "+app)
		}
		for _, m := range items {
			if !appliedByPyship(m.ManagedFields) {
				continue
			}
			if err := k.del(m.Name); err != nil && !apierrors.IsNotFound(err) {
				return r.explain(err, "delete "+k.name+" "+m.Name)
			}
		}
	}
	return nil
}

// appliedByPyship says whether pyship's field manager applied fields of an object.
func appliedByPyship(fields []metav1.ManagedFieldsEntry) bool {
	for _, f := range fields {
		if f.Manager == FieldManager && f.Operation == metav1.ManagedFieldsOperationApply {
			return true
		}
	}
	return false
}
