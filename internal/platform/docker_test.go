package platform

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pyship/pyship/internal/engine"
	"github.com/pyship/pyship/internal/store"
)

// A container's labels are all the state machine learns of a replica on the local
// engine, and all recovery has once the state directory is lost.
func TestReplicaOf(t *testing.T) {
	spec := store.Spec{Image: "sha256:abc", Port: 8000, Probe: "/", Replicas: 2, Env: map[string]string{"A": "1"}, Secrets: map[string]string{"TOKEN": "hmac-sha256:00"}}
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	labels := map[string]string{LabelApp: "web", LabelRevision: "web--1234", LabelReplica: "1", "pyship.hostport": "40001", LabelSpecJSON: specLabel(spec)}
	wantSpec := spec
	wantSpec.Secrets = map[string]string{"TOKEN": ""} // labels are public: names only
	for _, tc := range []struct {
		desc, state string
		labels      map[string]string
		want        Replica
	}{
		{"running", "running", labels, Replica{Running: true, Serving: true, Spec: &wantSpec}},
		{"restarting: running, not serving", "restarting", labels, Replica{Running: true, Spec: &wantSpec}},
		{"exited", "exited", labels, Replica{Spec: &wantSpec}},
		{"no published port: not serving", "running", without(labels, "pyship.hostport"), Replica{Running: true, Spec: &wantSpec}},
		{"an older pyship's: no spec", "running", without(labels, LabelSpecJSON), Replica{Running: true, Serving: true}},
		{"an unreadable spec", "running", with(labels, LabelSpecJSON, "{"), Replica{Running: true, Serving: true}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			got := replicaOf(engine.Summary{ID: "c1", Name: "pyship-web--1234-1", Labels: tc.labels, State: tc.state, Created: created})
			want := tc.want
			want.ID, want.Name, want.App, want.Revision, want.Index, want.State, want.Created = "c1", "pyship-web--1234-1", "web", "web--1234", "1", tc.state, created
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("replicaOf (-want +got):\n%s", diff)
			}
		})
	}
}

func without(m map[string]string, k string) map[string]string {
	out := map[string]string{}
	for kk, v := range m {
		if kk != k {
			out[kk] = v
		}
	}
	return out
}

func with(m map[string]string, k, v string) map[string]string {
	out := without(m, k)
	out[k] = v
	return out
}
