package platform

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pyship/pyship/internal/store"
)

// A log line prints as text with the short revision, or with JSON as one object whose
// keys are field names and whose revision is the full name.
func TestLogLineFormat(t *testing.T) {
	l := LogLine{Time: "2026-01-02T15:04:05.000000001Z", Revision: "shop--3f2a9c1d", Replica: "1", Message: `GET / "200"`}
	text := LogOptions{}.Format(l)
	if want := "2026-01-02T15:04:05.000000001Z [" + short(l.Revision) + "/1] GET / \"200\""; text != want {
		t.Errorf("text %q, want %q", text, want)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(LogOptions{JSON: true}.Format(l)), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"time": l.Time, "revision": l.Revision, "replica": "1", "message": l.Message}
	if len(got) != len(want) {
		t.Errorf("JSON line %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("JSON %s = %q, want %q", k, got[k], v)
		}
	}
}

// Logs merges the replicas' lines by time, each prefixed with its revision's hash and
// its replica number; a revision can be picked by its hash.
func TestLogs(t *testing.T) {
	p, f := newPlatform(t)
	a := newApp(t, p, "sha256:v1")
	a.Revisions = []store.Revision{{Name: "web--aaaa"}, {Name: "web--bbbb"}}
	replicasOf(f, "web", "web--aaaa", nil, 1, "running", "running")
	replicasOf(f, "web", "web--bbbb", nil, 2, "running")
	f.logs["pyship-web--aaaa-0"] = []string{"2026-01-01T00:00:01Z a0 first", "2026-01-01T00:00:04Z a0 last"}
	f.logs["pyship-web--aaaa-1"] = []string{"2026-01-01T00:00:02Z a1"}
	f.logs["pyship-web--bbbb-0"] = []string{"2026-01-01T00:00:03Z b0", "untimed"}
	var out strings.Builder
	if err := p.Logs(context.Background(), a, LogOptions{}, &out); err != nil {
		t.Fatal(err)
	}
	want := ` [bbbb/0] untimed
2026-01-01T00:00:01Z [aaaa/0] a0 first
2026-01-01T00:00:02Z [aaaa/1] a1
2026-01-01T00:00:03Z [bbbb/0] b0
2026-01-01T00:00:04Z [aaaa/0] a0 last
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("logs (-want +got):\n%s", diff)
	}
	out.Reset()
	if err := p.Logs(context.Background(), a, LogOptions{Revision: "bbbb"}, &out); err != nil || strings.Contains(out.String(), "aaaa") || !strings.Contains(out.String(), "b0") {
		t.Errorf("one revision: %q %v", out.String(), err)
	}
	if err := p.Logs(context.Background(), a, LogOptions{Revision: "cccc"}, &out); err == nil || !strings.Contains(err.Error(), "no revision cccc") {
		t.Errorf("unknown revision: %v", err)
	}
}
