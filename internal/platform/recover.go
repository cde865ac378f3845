package platform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sort"

	"github.com/pyship/pyship/internal/store"
)

// LabelSpecJSON carries a replica's whole revision spec, secret digests left out (a
// digest of a short secret can be guessed, and labels are public to anyone who can
// run docker inspect): the containers alone are enough to rebuild the app's record.
const LabelSpecJSON = "pyship.spec.json"

func specLabel(spec store.Spec) string {
	names := map[string]string{}
	for k := range spec.Secrets {
		names[k] = ""
	}
	spec.Secrets = names
	b, _ := json.Marshal(spec)
	return string(b)
}

// parseSpecLabel reads a LabelSpecJSON label; ok is false for a missing or unreadable
// one (a replica of an older pyship).
func parseSpecLabel(raw string) (spec store.Spec, ok bool) {
	if raw == "" || json.Unmarshal([]byte(raw), &spec) != nil {
		return store.Spec{}, false
	}
	return spec, true
}

// App reads an app from the store or, when the store does not know it but the runtime
// runs its replicas (the state file was deleted, or lost with a home directory), from
// what the replicas carry (the local engine: their labels): they are the ground truth,
// and deploying again over them without their record would orphan replicas that still
// serve.
func (p *Platform) App(ctx context.Context, name string) (*store.App, error) {
	a, err := p.Store.Get(name)
	if !errors.Is(err, store.ErrNoApp) {
		return a, err
	}
	reps, lerr := p.rt().List(ctx, name)
	if lerr != nil || len(reps) == 0 {
		return nil, err
	}
	return p.recover(ctx, name, reps)
}

// RecoverAll rebuilds the record of every app the runtime runs and the store lacks.
func (p *Platform) RecoverAll(ctx context.Context) error {
	reps, err := p.rt().List(ctx, "")
	if err != nil {
		return err
	}
	byApp := map[string][]Replica{}
	for _, r := range reps {
		byApp[r.App] = append(byApp[r.App], r)
	}
	for name, cs := range byApp {
		if _, err := p.Store.Get(name); !errors.Is(err, store.ErrNoApp) {
			continue
		}
		if _, err := p.recover(ctx, name, cs); err != nil {
			return err
		}
	}
	return nil
}

func (p *Platform) recover(ctx context.Context, name string, cs []Replica) (*store.App, error) {
	if err := store.ValidName(name); err != nil {
		return nil, err
	}
	a := &store.App{Name: name, Env: map[string]string{}, Secrets: map[string]string{}, Target: p.Target}
	byRev := map[string][]Replica{}
	for _, c := range cs {
		byRev[c.Revision] = append(byRev[c.Revision], c)
	}
	lost := map[string]bool{}
	values := map[string][]byte{} // revision/secret → value
	running := map[string]bool{}
	for rev, cs := range byRev {
		if cs[0].Spec == nil {
			p.logf("%s: no readable %s label (made by an older pyship?); left to the engine", cs[0].Name, LabelSpecJSON)
			continue
		}
		spec := *cs[0].Spec
		spec.Secrets = maps.Clone(spec.Secrets)
		for k := range spec.Secrets {
			// A running replica's value is the revision's own; the secret file is
			// the latest one set, which may be newer.
			v, err := p.rt().Secret(ctx, name, rev, k)
			if err != nil {
				v, err = p.Store.Secret(name, k)
			}
			if err != nil {
				lost[k] = true
				continue
			}
			values[rev+"/"+k] = v
			spec.Secrets[k] = p.Store.Digest(v)
		}
		r := store.Revision{Name: rev, Spec: spec, State: store.Retired, Reason: "recovered from its containers"}
		for _, c := range cs {
			r.Containers = append(r.Containers, c.ID)
			if r.Created.IsZero() || c.Created.Before(r.Created) {
				r.Created = c.Created
			}
			if c.Running {
				r.State, running[rev] = store.Ready, true
			}
		}
		// The replicas keep their secret files (in their own filesystems, not in
		// the state directory): a restart after the loss finds them.
		a.Revisions = append(a.Revisions, r)
	}
	if len(a.Revisions) == 0 {
		return nil, fmt.Errorf("%w %q: its containers carry no revision spec", store.ErrNoApp, name)
	}
	sort.Slice(a.Revisions, func(i, j int) bool { return a.Revisions[i].Created.Before(a.Revisions[j].Created) })
	a.Created = a.Revisions[0].Created

	// What the gateway routes is what serves: its table decides the live revision and
	// any split. Without a gateway, the newest running revision is live.
	if routed, err := p.rt().Routed(ctx, name); err == nil {
		w := map[string]int{}
		for rev, n := range routed {
			if running[rev] && n > 0 {
				w[rev] = n
			}
		}
		if len(w) == 1 {
			for rev := range w {
				a.Live = rev
			}
		} else if len(w) > 1 {
			a.Traffic = w
		}
	}
	if a.Live == "" && len(a.Traffic) == 0 {
		for i := len(a.Revisions) - 1; i >= 0; i-- {
			if running[a.Revisions[i].Name] {
				a.Live = a.Revisions[i].Name
				break
			}
		}
	}
	settingsFrom := a.Live
	if settingsFrom == "" {
		for rev := range a.Traffic {
			if settingsFrom == "" || rev > settingsFrom {
				settingsFrom = rev
			}
		}
	}
	if settingsFrom == "" {
		settingsFrom = a.Revisions[len(a.Revisions)-1].Name
	}
	s := a.Revision(settingsFrom).Spec
	a.Image, a.ImageRef, a.Cmd, a.Port, a.Probe, a.Replicas, a.SecretFiles = s.Image, s.ImageRef, s.Cmd, s.Port, s.Probe, s.Replicas, s.SecretFiles
	a.MaxReplicas, a.CPUPercent = s.MaxReplicas, s.CPUPercent
	for k, v := range s.Env {
		a.Env[k] = v
	}
	for k, v := range s.Secrets {
		a.Secrets[k] = v
		if _, err := p.Store.Secret(name, k); err != nil && values[settingsFrom+"/"+k] != nil {
			if _, err := p.Store.SetSecret(name, k, values[settingsFrom+"/"+k]); err != nil {
				return nil, err
			}
		}
	}
	if err := p.Store.Put(a); err != nil {
		return nil, err
	}
	p.logf("%s: not in the state file; recovered from its %d container(s): %d revision(s), serving %s", name, len(cs), len(a.Revisions), serving(a))
	for _, k := range sortedKeys(lost) {
		p.logf("%s: the value of secret %s was lost with the state; its replicas keep theirs, and the next change needs it set again (pyship secret set %s %s)", name, k, name, k)
	}
	return a, nil
}

func serving(a *store.App) string {
	if a.Live != "" {
		return a.Live
	}
	b, _ := json.Marshal(a.Traffic)
	return string(b)
}
