package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// sinceLayouts are the times docker logs --since accepts besides durations and Unix
// timestamps (the Engine API client's timestamp rules): RFC 3339 with or without
// seconds, fraction and zone, or a date alone. Without a zone the time is local.
var sinceLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02T15Z07:00",
	"2006-01-02T15",
	"2006-01-02Z07:00",
	"2006-01-02",
}

// parseSince checks a --since value as docker logs does and returns the time it
// means. The engine's client did the same parsing only once a replica's stream
// started, and its error was lost with that stream: `--since 1x` printed nothing and
// exited 0.
func parseSince(v string, now time.Time) (time.Time, error) {
	bad := fmt.Errorf("--since %q: give a duration (10m, 1h30m), an RFC 3339 time (2026-01-02T15:04:05Z, 2026-01-02) or a Unix timestamp", v)
	if d, err := time.ParseDuration(v); err == nil && v != "0" {
		if d < 0 {
			return time.Time{}, fmt.Errorf("--since %q: a duration counts back from now, so it is positive", v)
		}
		return now.Add(-d), nil
	}
	for _, layout := range sinceLayouts {
		if t, err := time.ParseInLocation(layout, v, now.Location()); err == nil {
			return t, nil
		}
	}
	// Unix seconds, with an optional fraction of up to 9 digits (docker's form).
	secs, frac, hasFrac := strings.Cut(v, ".")
	if s, err := strconv.ParseInt(secs, 10, 64); err == nil && secs != "" && secs[0] != '+' && secs[0] != '-' {
		if !hasFrac {
			return time.Unix(s, 0), nil
		}
		if frac != "" && len(frac) <= 9 && strings.Trim(frac, "0123456789") == "" {
			ns, _ := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
			return time.Unix(s, ns), nil
		}
	}
	return time.Time{}, bad
}
