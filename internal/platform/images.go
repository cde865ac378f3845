package platform

import (
	"context"
	"sort"
	"strings"

	"github.com/pyship/pyship/internal/store"
)

// An image deploy builds carries these labels. They differ from the replicas' own
// (pyship.state, pyship.app): a container inherits its image's labels, and one started
// from the image by hand must not pass for a replica.
const (
	LabelBuildState = "pyship.build.state"
	LabelBuildApp   = "pyship.build.app"
)

// ImageRemoval is what down did with the images pyship built for an app.
type ImageRemoval struct {
	Removed []string `json:"removed"`
	Kept    []string `json:"kept"` // in use by a container, or the engine refused
}

// AppImages are the images pyship built for the app (pyship/NAME:ID): those its
// revisions ran, and those the engine holds labelled as this state directory's builds
// of the app (a failed revision's record is lost with a lost state file; its image is
// not). An image given with --image is the user's and never listed. app may be nil.
func (p *Platform) AppImages(ctx context.Context, app *store.App, name string) ([]string, error) {
	set := map[string]bool{}
	add := func(ref string) {
		if strings.HasPrefix(ref, "pyship/"+name+":") {
			set[ref] = true
		}
	}
	if app != nil {
		add(app.ImageRef)
		for _, r := range app.Revisions {
			add(r.Spec.ImageRef)
		}
	}
	tags, err := p.Engine.ImageTags(ctx, LabelBuildState+"="+p.StateID(), LabelBuildApp+"="+name)
	if err != nil {
		return nil, err
	}
	for _, t := range tags {
		add(t)
	}
	out := make([]string, 0, len(set))
	for ref := range set {
		out = append(out, ref)
	}
	sort.Strings(out)
	return out, nil
}

// RemoveImages removes the given tags, each only when no container uses it (another
// app deployed from the same image keeps it).
func (p *Platform) RemoveImages(ctx context.Context, refs []string) ImageRemoval {
	res := ImageRemoval{Removed: []string{}, Kept: []string{}}
	for _, ref := range refs {
		found, err := p.Engine.RemoveImageIfUnused(ctx, ref)
		switch {
		case err != nil:
			res.Kept = append(res.Kept, ref)
			p.logf("kept image %s: %v", ref, err)
		case found:
			res.Removed = append(res.Removed, ref)
		}
	}
	return res
}
