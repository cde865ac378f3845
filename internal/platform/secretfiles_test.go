package platform

import (
	"slices"
	"testing"

	"github.com/pyship/pyship/internal/engine"
)

// A revision's secret copy is removed only when no container of it exists, in any
// state; other apps' copies (even with a name that starts alike) are left alone.
func TestOrphanSecretDirs(t *testing.T) {
	dirs := []string{"web--aaaaaaaa", "web--bbbbbbbb", "web--cccccccc", "web-x--dddddddd", "api--eeeeeeee", ".tmp"}
	cs := []engine.Summary{
		{Labels: map[string]string{LabelRevision: "web--aaaaaaaa"}, State: "running"},
		{Labels: map[string]string{LabelRevision: "web--cccccccc"}, State: "exited"}, // restartable
	}
	got := orphanSecretDirs("web", dirs, cs)
	if !slices.Equal(got, []string{"web--bbbbbbbb"}) {
		t.Errorf("orphans of web: %v", got)
	}
	if got := orphanSecretDirs("web-x", dirs, nil); !slices.Equal(got, []string{"web-x--dddddddd"}) {
		t.Errorf("orphans of web-x: %v", got)
	}
}
