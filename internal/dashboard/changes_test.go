package dashboard

import (
	"strings"
	"testing"

	"github.com/pyship/pyship/internal/store"
)

func TestChanges(t *testing.T) {
	prev := store.Spec{Image: "sha256:" + strings.Repeat("a", 64), Env: map[string]string{"A": "1", "B": "2"}, Secrets: map[string]string{"KEY": "digest1", "OLD": "d"}, Replicas: 1, Probe: "/", Port: 8000}
	cur := store.Spec{Image: "sha256:" + strings.Repeat("b", 64), Env: map[string]string{"A": "1", "B": "3", "C": "x"}, Secrets: map[string]string{"KEY": "digest2", "NEW": "d"}, Replicas: 2, MaxReplicas: 5, Probe: "/healthz", Port: 8000}
	got := strings.Join(Changes(&prev, cur), "; ")
	want := "code: image bbbbbbbbbbbb; env B=3; env C=x added; secret KEY changed; secret NEW added; secret OLD removed; scale 1→2 (up to 5); probe /healthz"
	if got != want {
		t.Errorf("Changes:\n%s\nwant\n%s", got, want)
	}
	if strings.Contains(got, "digest") {
		t.Error("a secret's digest reached the page")
	}
	if got := Changes(nil, cur); len(got) != 1 || got[0] != "first revision" {
		t.Errorf("first: %q", got)
	}
	if got := Changes(&cur, cur); len(got) != 1 || !strings.HasPrefix(got[0], "no change") {
		t.Errorf("same: %q", got)
	}
}
