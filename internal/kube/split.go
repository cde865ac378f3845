package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// A Service has no weights: kube-proxy sends each new connection to one of its Ready
// endpoints at random, all alike. A split is therefore made the way Argo Rollouts
// makes one without a mesh: the Service selects every pod of the app, and each
// revision gets a number of pods in proportion to its weight: the fewest pods that
// put every revision within splitTolerance percentage points of its weight (50/50
// with 2 pods, 90/10 with 10), else the nearest that splitMaxPods pods allow (a 1 %
// revision gets 1 pod of 20: 5 %). A split never runs fewer pods than the app's
// largest revision asks for, so no revision loses capacity to it.

// AnnotationTraffic on an app's Service holds the split it was asked for, as JSON
// (revision → percent): the pods' ratio is an approximation of it.
const AnnotationTraffic = "pyship.traffic"

const (
	splitTolerance = 2.5 // percentage points between a revision's weight and its share of pods
	splitMaxPods   = 20  // a split that needs more pods than this takes the nearest with 20
	// splitReadyTimeout bounds the wait for the pods a split adds.
	splitReadyTimeout = 3 * time.Minute
)

// SplitPods is how many pods each revision of a split runs: at least minPods in all
// and one per revision with a weight, as few as keep every revision's share of pods
// within splitTolerance points of its weight (largest remainders, ties by name).
func SplitPods(weights map[string]int, minPods int) map[string]int {
	var revs []string
	total := 0
	for rev, w := range weights {
		if w > 0 {
			revs = append(revs, rev)
			total += w
		}
	}
	sort.Strings(revs)
	if len(revs) == 0 || total == 0 {
		return map[string]int{}
	}
	lo := max(minPods, len(revs))
	var best map[string]int
	bestErr := math.Inf(1)
	for n := lo; n <= max(lo, splitMaxPods); n++ {
		counts := apportion(revs, weights, total, n)
		worst := 0.0
		for _, rev := range revs {
			worst = max(worst, math.Abs(float64(counts[rev])*100/float64(n)-float64(weights[rev])*100/float64(total)))
		}
		if worst <= splitTolerance {
			return counts
		}
		if worst < bestErr {
			best, bestErr = counts, worst
		}
	}
	return best
}

// apportion gives n pods to revs by largest remainder, each revision at least one.
func apportion(revs []string, weights map[string]int, total, n int) map[string]int {
	counts := map[string]int{}
	type rem struct {
		rev  string
		frac float64
	}
	var rems []rem
	given := 0
	for _, rev := range revs {
		exact := float64(weights[rev]) * float64(n) / float64(total)
		c := max(1, int(exact))
		counts[rev] = c
		given += c
		rems = append(rems, rem{rev, exact - float64(c)})
	}
	sort.SliceStable(rems, func(i, j int) bool { return rems[i].frac > rems[j].frac })
	for i := 0; given < n; i = (i + 1) % len(rems) {
		counts[rems[i].rev]++
		given++
	}
	// A revision forced up to one pod can leave too many: take them back from the
	// revisions that have the most above their exact share.
	for given > n {
		worst, over := "", math.Inf(-1)
		for _, rev := range revs {
			if counts[rev] <= 1 {
				continue
			}
			if d := float64(counts[rev]) - float64(weights[rev])*float64(n)/float64(total); d > over {
				worst, over = rev, d
			}
		}
		if worst == "" {
			break
		}
		counts[worst]--
		given--
	}
	return counts
}

// member is one revision of a split, as the cluster has it.
type member struct {
	rev     string
	dep     *appsv1.Deployment
	spec    int // the replicas its spec asks for (at least 1)
	autoscl bool
}

// members are the Deployments of app's revisions in weights (those above 0), from
// deps (this state directory's, by name); a revision with no Deployment cannot take
// traffic.
func members(app, ns string, weights map[string]int, deps map[string]*appsv1.Deployment) ([]member, error) {
	var out []member
	for _, rev := range slices.Sorted(mapsKeys(weights)) {
		if weights[rev] <= 0 {
			continue
		}
		d, ok := deps[rev]
		if !ok || d.Labels[LabelApp] != app {
			return nil, fmt.Errorf("%s: revision %s has no Deployment in namespace %s: it cannot take traffic", app, rev, ns)
		}
		m := member{rev: rev, dep: d, spec: 1}
		if spec, ok := parseSpec(d.Annotations[AnnotationSpec]); ok {
			m.spec = max(1, spec.Replicas)
			m.autoscl = spec.MaxReplicas > m.spec
		} else if d.Spec.Replicas != nil {
			m.spec = max(1, int(*d.Spec.Replicas))
		}
		out = append(out, m)
	}
	return out, nil
}

// deployments are this state directory's Deployments in the namespace, by name: read
// once per Route, for every app it routes.
func (r *Runtime) deployments(ctx context.Context) (map[string]*appsv1.Deployment, error) {
	list, err := r.CS.AppsV1().Deployments(r.ns()).List(ctx, metav1.ListOptions{LabelSelector: r.stateSelector("")})
	if err != nil {
		return nil, r.explain(err, "list Deployments")
	}
	out := make(map[string]*appsv1.Deployment, len(list.Items))
	for i := range list.Items {
		out[list.Items[i].Name] = &list.Items[i]
	}
	return out, nil
}

// planSplit checks that app's split can be made and says how many pods each member
// runs. An autoscaler would undo the ratio as it scales one revision alone.
func planSplit(app string, ms []member, weights map[string]int) (map[string]int, error) {
	minPods := 1
	for _, m := range ms {
		if m.autoscl {
			return nil, fmt.Errorf("%s: revision %s scales itself (--max-replicas): a split on Kubernetes is a ratio of pods, which an autoscaler would change; give one REVISION=100, or deploy it without --max-replicas first", app, m.rev)
		}
		minPods = max(minPods, m.spec)
	}
	return SplitPods(weights, minPods), nil
}

// scale sets a revision's Deployment to n pods (a merge patch of spec.replicas alone:
// the rest of what pyship applied stays as it is).
func (r *Runtime) scale(ctx context.Context, rev string, n int) error {
	body, _ := json.Marshal(map[string]any{"spec": map[string]any{"replicas": n}})
	_, err := r.CS.AppsV1().Deployments(r.ns()).Patch(ctx, rev, types.MergePatchType, body, metav1.PatchOptions{FieldManager: FieldManager})
	if err != nil {
		return r.explain(err, fmt.Sprintf("scale %s to %d pods", rev, n))
	}
	return nil
}

// waitPods waits until rev's Deployment has n Ready pods, so that a split takes
// effect when traffic moves rather than as pods trickle in.
func (r *Runtime) waitPods(ctx context.Context, rev string, n int) error {
	ctx, cancel := context.WithTimeout(ctx, splitReadyTimeout)
	defer cancel()
	for {
		d, err := r.CS.AppsV1().Deployments(r.ns()).Get(ctx, rev, metav1.GetOptions{})
		if err == nil && int(d.Status.ReadyReplicas) >= n && d.Status.ObservedGeneration >= d.Generation {
			return nil
		}
		if err != nil && ctx.Err() == nil {
			return r.explain(err, "read the Deployment "+rev)
		}
		ready := 0
		if d != nil {
			ready = int(d.Status.ReadyReplicas)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("revision %s has %d of %d pods Ready after %s: the split was not made (pyship status shows its pods)", rev, ready, n, splitReadyTimeout)
		case <-time.After(r.poll()):
		}
	}
}

// routeSplit makes app's split: the members' pods first (grown and Ready), then the
// Service selects every pod of the app, then the app's other revisions stop (their
// pods leave the Service as they terminate, after their in-flight requests).
func (r *Runtime) routeSplit(ctx context.Context, app string, ms []member, pods, weights map[string]int, deps map[string]*appsv1.Deployment, o Options) error {
	var shrink []member
	for _, m := range ms {
		have := 0
		if m.dep.Spec.Replicas != nil {
			have = int(*m.dep.Spec.Replicas)
		}
		switch n := pods[m.rev]; {
		case n > have:
			if err := r.scale(ctx, m.rev, n); err != nil {
				return err
			}
			if err := r.waitPods(ctx, m.rev, n); err != nil {
				r.scale(context.WithoutCancel(ctx), m.rev, have)
				return err
			}
		case n < have:
			shrink = append(shrink, m)
		}
	}
	ann, _ := json.Marshal(positive(weights))
	svc := ServiceObject(app, "", o)
	svc.Spec.Selector = map[string]string{LabelApp: app}
	svc.WithAnnotations(map[string]string{AnnotationTraffic: string(ann)})
	if _, err := r.CS.CoreV1().Services(r.ns()).Apply(ctx, svc, applyOpts()); err != nil {
		return r.explain(err, "split the Service "+app+" between "+strings.Join(slices.Sorted(mapsKeys(pods)), ", "))
	}
	for _, m := range shrink {
		if err := r.scale(ctx, m.rev, pods[m.rev]); err != nil {
			return err
		}
	}
	for _, d := range deps {
		if _, in := pods[d.Name]; in || d.Labels[LabelApp] != app || (d.Spec.Replicas != nil && *d.Spec.Replicas == 0) {
			continue
		}
		if err := r.scale(ctx, d.Name, 0); err != nil {
			return err
		}
	}
	return nil
}

// routeOne points the Service at rev alone. A revision a split had shrunk is grown
// back to its own count (and Ready) before it takes all the traffic; one a split had
// grown goes back after.
func (r *Runtime) routeOne(ctx context.Context, app, rev string, deps map[string]*appsv1.Deployment, o Options) error {
	var m *member
	if ms, err := members(app, r.ns(), map[string]int{rev: 100}, deps); err == nil && !ms[0].autoscl && ms[0].dep.Spec.Replicas != nil {
		// (No Deployment: a Service for a revision that render made, or that a test
		// seeded; an autoscaler owns its count. Neither has a count to put back.)
		m = &ms[0]
	}
	if m != nil && int(*m.dep.Spec.Replicas) < m.spec {
		if err := r.scale(ctx, rev, m.spec); err != nil {
			return err
		}
		if err := r.waitPods(ctx, rev, m.spec); err != nil {
			return err
		}
	}
	if _, err := r.CS.CoreV1().Services(r.ns()).Apply(ctx, ServiceObject(app, rev, o), applyOpts()); err != nil {
		return r.explain(err, "point the Service "+app+" at "+rev)
	}
	if m != nil && int(*m.dep.Spec.Replicas) > m.spec {
		return r.scale(ctx, rev, m.spec)
	}
	return nil
}

func positive(w map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range w {
		if v > 0 {
			out[k] = v
		}
	}
	return out
}
