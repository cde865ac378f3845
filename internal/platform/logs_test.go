package platform

import (
	"encoding/json"
	"testing"
)

// A log line prints as text with the short revision, or with JSON as one object whose
// keys are field names and whose revision is the full name.
func TestLogLineFormat(t *testing.T) {
	l := LogLine{Time: "2026-01-02T15:04:05.000000001Z", Revision: "shop--3f2a9c1d", Replica: "1", Message: `GET / "200"`}
	text := LogOptions{}.format(l)
	if want := "2026-01-02T15:04:05.000000001Z [" + short(l.Revision) + "/1] GET / \"200\""; text != want {
		t.Errorf("text %q, want %q", text, want)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(LogOptions{JSON: true}.format(l)), &got); err != nil {
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
