package platform

import (
	"strings"
	"testing"

	"github.com/pyship/pyship/internal/engine"
)

func TestCrashDiagnosis(t *testing.T) {
	for logs, want := range map[string]string{
		"Traceback...\nModuleNotFoundError: No module named 'flask_cors'\n": "no module flask_cors",
		"  File \"/app/app.py\", line 2\nSyntaxError: invalid syntax":       "syntax error",
		"django.core.exceptions.ImproperlyConfigured: 'DJANGO_SECRET_KEY'":  "DJANGO_SECRET_KEY",
		"Failed to find attribute 'application' in 'app'.":                  "app:application",
		"something else": "exited with code 3",
	} {
		got := CrashDiagnosis(engine.State{ExitCode: 3}, logs)
		if !strings.Contains(got, want) {
			t.Errorf("%q → %q, want %q", logs, got, want)
		}
	}
	if got := CrashDiagnosis(engine.State{OOMKilled: true}, ""); !strings.Contains(got, "memory") {
		t.Errorf("oom: %s", got)
	}
}

func TestHexIP(t *testing.T) {
	for in, want := range map[string]string{
		"0100007F": "127.0.0.1", "00000000": "0.0.0.0",
		"00000000000000000000000001000000": "::1", "00000000000000000000000000000000": "::",
		"0000000000000000FFFF00000100007F": "127.0.0.1",
	} {
		if got := hexIP(in); got != want {
			t.Errorf("%s → %s, want %s", in, got, want)
		}
	}
}
