package platform

import (
	"strings"
	"testing"

	"github.com/pyship/pyship/internal/store"
)

func TestExecRevision(t *testing.T) {
	app := &store.App{Name: "shop", Live: "shop--a", Revisions: []store.Revision{{Name: "shop--a"}, {Name: "shop--b"}, {Name: "shop--c"}}}
	if r, err := execRevision(app, ""); err != nil || r.Name != "shop--a" {
		t.Errorf("live: %v %v", r, err)
	}
	if r, err := execRevision(app, "b"); err != nil || r.Name != "shop--b" {
		t.Errorf("named by its hash: %v %v", r, err)
	}
	app.Live, app.Traffic = "", map[string]int{"shop--b": 30, "shop--c": 70}
	if r, err := execRevision(app, ""); err != nil || r.Name != "shop--c" {
		t.Errorf("split: %v %v, want the largest share", r, err)
	}
	if _, err := execRevision(app, "shop--zz"); err == nil || !strings.Contains(err.Error(), "no revision") {
		t.Errorf("unknown revision: %v", err)
	}
	if _, err := execRevision(&store.App{Name: "new"}, ""); err == nil || !strings.Contains(err.Error(), "deploy it first") {
		t.Errorf("nothing serves: %v", err)
	}
}
