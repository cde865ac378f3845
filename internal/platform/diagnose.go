package platform

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/pyship/pyship/internal/engine"
)

var hints = []struct {
	re   *regexp.Regexp
	hint string
}{
	{regexp.MustCompile(`ModuleNotFoundError: No module named '([^']+)'`), "the image has no module $1: add its distribution to the project's dependencies (or fix the import)"},
	{regexp.MustCompile(`SyntaxError`), "the app's code has a syntax error (see the logs)"},
	{regexp.MustCompile(`(?:KeyError|ImproperlyConfigured|environ)\S*:? '?([A-Z][A-Z0-9_]+)'?`), "the app reads $1, which is not set: pyship env set (or pyship secret set) $1"},
	{regexp.MustCompile(`Address already in use`), "the port is already in use inside the container"},
	{regexp.MustCompile(`(?i)exec: "?([^"\s:]+)"?: executable file not found`), "the command $1 is not in the image: is the server in the dependencies?"},
	{regexp.MustCompile(`Failed to find attribute '([^']+)' in '([^']+)'`), "the entry point names $2:$1, which does not exist"},
}

// CrashDiagnosis explains a replica that exited or restarts, from its state and logs.
func CrashDiagnosis(st engine.State, logs string) string {
	what := fmt.Sprintf("it exited with code %d", st.ExitCode)
	if st.OOMKilled {
		what = "it was killed for using too much memory"
	}
	if st.RestartCount > 0 && st.Running {
		what = fmt.Sprintf("it crashed and restarted %d time(s)", st.RestartCount)
	}
	if h := logHint(logs); h != "" {
		return what + ": " + h
	}
	return what
}

// logHint is what an app's output says went wrong, whatever runs it ("" when it says
// nothing pyship recognises).
func logHint(logs string) string {
	for _, h := range hints {
		if m := h.re.FindStringSubmatchIndex(logs); m != nil {
			return string(h.re.ExpandString(nil, h.hint, logs, m))
		}
	}
	return ""
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// LogHint is what an app's output says went wrong, for runtimes outside this package
// (Kubernetes): the same hints whatever runs the app.
func LogHint(logs string) string { return logHint(logs) }
