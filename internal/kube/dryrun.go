package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/pyship/pyship/internal/platform"
)

// Change is what applying one object would do, as the API server computed it
// (server-side dry run: admission, defaults and validation included).
type Change struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Action string `json:"action"` // create, update, unchanged
	// Diff is a unified diff of the object's YAML, live → after apply; a Secret's
	// values are never in it (only their sizes).
	Diff string `json:"diff,omitempty"`
}

// DryRun asks the API server what deploying rel (and routing the app to it, with host)
// would change, without changing anything.
func (r *Runtime) DryRun(ctx context.Context, rel platform.Release, host string) ([]Change, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	o := r.options(ctx, rel)
	objs := RevisionObjects(rel, o)
	opts := applyOpts()
	opts.DryRun = []string{metav1.DryRunAll}
	var out []Change
	add := func(kind, name string, live, after any, getErr, applyErr error) error {
		if applyErr != nil {
			return r.explain(applyErr, fmt.Sprintf("dry-run %s %s", kind, name))
		}
		if getErr != nil && !apierrors.IsNotFound(getErr) {
			return r.explain(getErr, fmt.Sprintf("read %s %s", kind, name))
		}
		c := Change{Kind: kind, Name: name}
		var before string
		if getErr == nil {
			before = cleanYAML(live)
		}
		now := cleanYAML(after)
		switch {
		case getErr != nil:
			c.Action = "create"
		case before == now:
			c.Action = "unchanged"
		default:
			c.Action = "update"
		}
		if c.Action != "unchanged" {
			c.Diff, _ = difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
				A: difflib.SplitLines(before), B: difflib.SplitLines(now),
				FromFile: "live/" + kind + "/" + name, ToFile: "after/" + kind + "/" + name, Context: 3})
		}
		out = append(out, c)
		return nil
	}
	ns := r.ns()
	if objs.Secret != nil {
		live, gerr := r.CS.CoreV1().Secrets(ns).Get(ctx, rel.Revision, metav1.GetOptions{})
		var after any
		var aerr error
		if gerr == nil {
			after = live // immutable and named after its values: the same name holds the same values
		} else {
			after, aerr = r.CS.CoreV1().Secrets(ns).Apply(ctx, objs.Secret, opts)
		}
		if err := add("Secret", rel.Revision, live, after, gerr, aerr); err != nil {
			return nil, err
		}
	}
	{
		live, gerr := r.CS.AppsV1().Deployments(ns).Get(ctx, rel.Revision, metav1.GetOptions{})
		after, aerr := r.CS.AppsV1().Deployments(ns).Apply(ctx, objs.Deployment, opts)
		if err := add("Deployment", rel.Revision, live, after, gerr, aerr); err != nil {
			return nil, err
		}
	}
	if hpa := HPAObject(rel, o); hpa != nil {
		live, gerr := r.CS.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, rel.Revision, metav1.GetOptions{})
		after, aerr := r.CS.AutoscalingV2().HorizontalPodAutoscalers(ns).Apply(ctx, hpa, opts)
		if err := add("HorizontalPodAutoscaler", rel.Revision, live, after, gerr, aerr); err != nil {
			return nil, err
		}
	}
	{
		live, gerr := r.CS.CoreV1().Services(ns).Get(ctx, rel.App, metav1.GetOptions{})
		after, aerr := r.CS.CoreV1().Services(ns).Apply(ctx, ServiceObject(rel.App, rel.Revision, o), opts)
		if err := add("Service", rel.App, live, after, gerr, aerr); err != nil {
			return nil, err
		}
	}
	if host != "" {
		live, gerr := r.CS.NetworkingV1().Ingresses(ns).Get(ctx, rel.App, metav1.GetOptions{})
		after, aerr := r.CS.NetworkingV1().Ingresses(ns).Apply(ctx, IngressObject(rel.App, host, o), opts)
		if err := add("Ingress", rel.App, live, after, gerr, aerr); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// cleanYAML is an object as YAML without what the server keeps for itself (status,
// managed fields, resource versions, timestamps), so that the diff shows intent; a
// Secret's data shows sizes only.
func cleanYAML(obj any) string {
	b, err := json.Marshal(obj)
	if err != nil {
		return ""
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return ""
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		for _, k := range []string{"managedFields", "resourceVersion", "uid", "creationTimestamp", "generation"} {
			delete(md, k)
		}
		if ann, ok := md["annotations"].(map[string]any); ok {
			delete(ann, "deployment.kubernetes.io/revision")
			if len(ann) == 0 {
				delete(md, "annotations")
			}
		}
	}
	for _, k := range []string{"data", "stringData"} {
		if d, ok := m[k].(map[string]any); ok {
			keys := make([]string, 0, len(d))
			for key := range d {
				keys = append(keys, key)
			}
			sort.Strings(keys)
			for _, key := range keys {
				s, _ := d[key].(string)
				d[key] = fmt.Sprintf("(%d bytes, hidden)", len(s)*3/4)
			}
		}
	}
	y, err := yaml.Marshal(m)
	if err != nil {
		return ""
	}
	return strings.TrimRight(string(y), "\n") + "\n"
}
