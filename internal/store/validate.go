package store

import (
	"fmt"
	"net/url"
	"strings"
)

// MaxReplicas bounds an app's replicas on one engine (Container Apps allows up to 300
// per revision across a cluster; one machine's engine is not a cluster).
const MaxReplicas = 20

// SettingError is a setting that failed validation; it names the flag the user gives it
// with, and the value when it cannot be a secret.
type SettingError struct {
	Setting string // the flag: --port, --replicas, --probe
	Msg     string
}

func (e *SettingError) Error() string { return e.Setting + ": " + e.Msg }

// Validate checks an app's settings. Put refuses an app that fails it, so a bad value
// never reaches the state: `deploy --probe healthz` was stored, panicked, and made every
// later command on the app panic too.
func (a *App) Validate() error {
	if err := ValidName(a.Name); err != nil {
		return err
	}
	if err := ValidPort(a.Port); err != nil {
		return err
	}
	if err := ValidReplicas(a.Replicas); err != nil {
		return err
	}
	return ValidProbe(a.Probe)
}

// ValidPort is a TCP port the app listens on.
func ValidPort(port int) error {
	if port < 1 || port > 65535 {
		return &SettingError{"--port", fmt.Sprintf("%d is not a TCP port (1-65535)", port)}
	}
	return nil
}

// ValidReplicas is a replica count.
func ValidReplicas(n int) error {
	if n < 1 || n > MaxReplicas {
		return &SettingError{"--replicas", fmt.Sprintf("%d: use 1-%d", n, MaxReplicas)}
	}
	return nil
}

// ValidProbe is an HTTP path with an optional query, as the probe requests it from the
// replica's own address: absolute, no scheme, host or fragment, printable ASCII.
func ValidProbe(probe string) error {
	bad := func(why string) error {
		return &SettingError{"--probe", fmt.Sprintf("%q %s; give a path such as /healthz", probe, why)}
	}
	if !strings.HasPrefix(probe, "/") || strings.HasPrefix(probe, "//") {
		return bad("is not a path starting with /")
	}
	if len(probe) > 1024 {
		return bad("is longer than 1024 characters")
	}
	for _, c := range probe {
		if c <= ' ' || c >= 0x7f {
			return bad("has a space, a control or a non-ASCII character")
		}
	}
	u, err := url.ParseRequestURI(probe)
	if err != nil || u.Host != "" || u.Scheme != "" || u.Fragment != "" || strings.Contains(probe, "#") {
		return bad("is not a plain request path")
	}
	return nil
}

// MaxAutoscale bounds --max-replicas: a typo must not ask a cluster for 10^6 pods.
const MaxAutoscale = 1000

// ValidAutoscale checks --max-replicas against the minimum (--replicas) and
// --cpu-percent; max 0 is a fixed count.
func ValidAutoscale(min, max, cpu int) error {
	if max == 0 {
		if cpu != 0 {
			return &SettingError{"--cpu-percent", "needs --max-replicas (autoscaling)"}
		}
		return nil
	}
	if max < min || max > MaxAutoscale {
		return &SettingError{"--max-replicas", fmt.Sprintf("%d: use %d (the --replicas minimum) to %d", max, min, MaxAutoscale)}
	}
	if cpu < 0 || cpu > 100 {
		return &SettingError{"--cpu-percent", fmt.Sprintf("%d: use 1-100 (0: the default, 70)", cpu)}
	}
	return nil
}
