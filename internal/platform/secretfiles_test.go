package platform

import (
	"errors"
	"slices"
	"testing"

	"github.com/pyship/pyship/internal/engine"
	"github.com/pyship/pyship/internal/store"
)

// The secret files are the image user's own (0400 in a 0500 folder), under /run/secrets
// too only on request, and a name that is not a plain one never becomes a path.
func TestSecretEntries(t *testing.T) {
	values := map[string][]byte{"B": []byte("b-value"), "A": []byte("a-value")}
	got, err := secretEntries(values, false, 10001, 10002)
	if err != nil {
		t.Fatal(err)
	}
	want := []engine.Entry{
		{Path: "/run/pyship", Dir: true, Mode: 0o755},
		{Path: "/run/pyship/secrets", Dir: true, Mode: 0o500, UID: 10001, GID: 10002},
		{Path: "/run/pyship/secrets/A", Mode: 0o400, UID: 10001, GID: 10002, Data: []byte("a-value")},
		{Path: "/run/pyship/secrets/B", Mode: 0o400, UID: 10001, GID: 10002, Data: []byte("b-value")},
	}
	if !slices.EqualFunc(got, want, equalEntry) {
		t.Errorf("entries:\n%+v\nwant\n%+v", got, want)
	}
	got, err = secretEntries(values, true, 33, 33)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range got {
		paths = append(paths, e.Path)
		if e.Path != "/run/pyship" && (e.UID != 33 || e.GID != 33) {
			t.Errorf("%s belongs to %d:%d", e.Path, e.UID, e.GID)
		}
	}
	if !slices.Equal(paths, []string{"/run/pyship", "/run/pyship/secrets", "/run/pyship/secrets/A", "/run/pyship/secrets/B", "/run/secrets", "/run/secrets/A", "/run/secrets/B"}) {
		t.Errorf("with secret files on: %v", paths)
	}
	for _, bad := range []string{"../../etc/passwd", "a/b", "..", ""} {
		if _, err := secretEntries(map[string][]byte{bad: []byte("x")}, false, 1, 1); !errors.Is(err, store.ErrSecretName) {
			t.Errorf("name %q: %v", bad, err)
		}
	}
}

func equalEntry(a, b engine.Entry) bool {
	return a.Path == b.Path && a.Dir == b.Dir && a.Mode == b.Mode && a.UID == b.UID && a.GID == b.GID && string(a.Data) == string(b.Data)
}

// An older pyship's copy under run/ goes only when no container of its revision is
// left, in any state.
func TestUnusedSecretCopies(t *testing.T) {
	dirs := []string{"web--aaaaaaaa", "web--bbbbbbbb", "web--cccccccc", "api--eeeeeeee"}
	cs := []engine.Summary{
		{Labels: map[string]string{LabelRevision: "web--aaaaaaaa"}, State: "running"},
		{Labels: map[string]string{LabelRevision: "web--cccccccc"}, State: "exited"}, // restartable
	}
	if got := unusedSecretCopies(dirs, cs); !slices.Equal(got, []string{"web--bbbbbbbb", "api--eeeeeeee"}) {
		t.Errorf("unused: %v", got)
	}
}
