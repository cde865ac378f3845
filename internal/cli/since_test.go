package cli

import (
	"testing"
	"time"
)

// --since takes what docker logs --since takes, and nothing else.
func TestParseSince(t *testing.T) {
	now := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Time{
		"10m":                            now.Add(-10 * time.Minute),
		"1h30m":                          now.Add(-90 * time.Minute),
		"2026-01-02":                     time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC),
		"2026-01-02T15:04:05Z":           time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC),
		"2026-01-02T15:04:05+01:00":      time.Date(2026, 1, 2, 14, 4, 5, 0, time.UTC),
		"2026-01-02T15:04":               time.Date(2026, 1, 2, 15, 4, 0, 0, time.UTC),
		"2026-01-02T15:04:05.5":          time.Date(2026, 1, 2, 15, 4, 5, 5e8, time.UTC),
		"1767366245":                     time.Unix(1767366245, 0),
		"1767366245.25":                  time.Unix(1767366245, 25e7),
		"0":                              time.Unix(0, 0),
		"2026-01-02T15:04:05.123456789Z": time.Date(2026, 1, 2, 15, 4, 5, 123456789, time.UTC),
	} {
		got, err := parseSince(v, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("%q: %v %v, want %v", v, got, err, want)
		}
	}
	for _, bad := range []string{"1x", "", "-10m", "yesterday", "2026-13-01", "2026-01-02T25:00", "1767366245.", "1767366245.1234567890", "+5", "1e9", "10 m"} {
		if _, err := parseSince(bad, now); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
