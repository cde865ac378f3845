package dashboard

import (
	"fmt"
	"sort"

	"github.com/pyship/pyship/internal/store"
)

// Changes says what a revision changed from the one before it (prev nil: the first),
// for people: the code, each setting by name and value, each secret by name only
// (a new value shows as "changed", never the value), the scale, the probe.
func Changes(prev *store.Spec, cur store.Spec) []string {
	if prev == nil {
		return []string{"first revision"}
	}
	var out []string
	if prev.Image != cur.Image {
		out = append(out, "code: image "+shortImage(cur.Image))
	}
	for _, k := range unionKeys(prev.Env, cur.Env) {
		old, had := prev.Env[k]
		v, has := cur.Env[k]
		switch {
		case !had:
			out = append(out, fmt.Sprintf("env %s=%s added", k, v))
		case !has:
			out = append(out, fmt.Sprintf("env %s removed", k))
		case old != v:
			out = append(out, fmt.Sprintf("env %s=%s", k, v))
		}
	}
	for _, k := range unionKeys(prev.Secrets, cur.Secrets) {
		_, had := prev.Secrets[k]
		_, has := cur.Secrets[k]
		switch {
		case !had:
			out = append(out, "secret "+k+" added")
		case !has:
			out = append(out, "secret "+k+" removed")
		case prev.Secrets[k] != cur.Secrets[k]:
			out = append(out, "secret "+k+" changed")
		}
	}
	if prev.Replicas != cur.Replicas || prev.MaxReplicas != cur.MaxReplicas {
		s := fmt.Sprintf("scale %d→%d", prev.Replicas, cur.Replicas)
		if cur.MaxReplicas > 0 {
			s += fmt.Sprintf(" (up to %d)", cur.MaxReplicas)
		}
		out = append(out, s)
	}
	if prev.Probe != cur.Probe {
		out = append(out, "probe "+cur.Probe)
	}
	if prev.Port != cur.Port {
		out = append(out, fmt.Sprintf("port %d", cur.Port))
	}
	if len(out) == 0 {
		out = append(out, "no change (a rollback or redeploy)")
	}
	return out
}

func unionKeys(a, b map[string]string) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range []map[string]string{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

// shortImage is an image ID cut to its first 12 hex digits.
func shortImage(id string) string {
	const p = "sha256:"
	if len(id) > len(p)+12 && id[:len(p)] == p {
		return id[len(p) : len(p)+12]
	}
	return id
}
