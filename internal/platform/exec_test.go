package platform

import (
	"context"
	"slices"
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

// Exec runs in the live revision with its settings and secrets, and passes the exit
// code through.
func TestExec(t *testing.T) {
	p, f := newPlatform(t)
	a := newApp(t, p, "sha256:v1")
	a.Env["MODE"] = "one"
	d, _ := p.Store.SetSecret("web", "TOKEN", []byte("s3cret"))
	a.Secrets["TOKEN"] = d
	v1 := deploy(t, p, a, "sha256:v1")
	code, err := p.Exec(context.Background(), a, ExecOptions{Argv: []string{"python", "manage.py", "migrate"}})
	if err != nil || code != 3 {
		t.Fatalf("Exec = %d, %v; want the command's 3", code, err)
	}
	rel := f.execs[0]
	if rel.Revision != v1 || !slices.Equal(rel.Env, []string{"MODE=one", "PORT=8000"}) || string(rel.Secrets["TOKEN"]) != "s3cret" {
		t.Errorf("release %+v", rel)
	}
	if _, err := p.Exec(context.Background(), a, ExecOptions{}); err == nil {
		t.Error("Exec with no command")
	}
	if _, err := p.Exec(context.Background(), a, ExecOptions{Argv: []string{"true"}, Revision: "nope"}); err == nil {
		t.Error("Exec in an unknown revision")
	}
}
