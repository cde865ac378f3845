package gateway

import (
	"strings"
	"sync"
	"time"
)

// AppTraffic is what an app's requests did over the last minute, as the gateway
// counted them: the dashboard's requests per second and error rate.
type AppTraffic struct {
	Requests  int64   `json:"requests"`   // answered in the last 60 s
	Errors    int64   `json:"errors"`     // of them, 5xx (the app's or the gateway's)
	PerSecond float64 `json:"per_second"` // Requests / 60
	ErrorRate float64 `json:"error_rate"` // Errors / Requests (0 with no request)
}

// window counts one app's answers in one-second buckets, the last 60 of them. Each
// app has its own lock: requests to different apps never wait on each other.
type window struct {
	mu      sync.Mutex
	buckets [60]struct{ sec, total, errs int64 }
}

// traffic counts answers per app, on the proxy's path of every request. Apps come from
// the routing table (a revision's name), so the map is bounded by the apps the
// gateway routes.
type traffic struct {
	apps sync.Map // app → *window
}

// add counts one answer of rev's app.
func (t *traffic) add(rev string, status int, now time.Time) {
	i := strings.LastIndex(rev, "--")
	if i <= 0 {
		return // no route: not an app's request
	}
	app := rev[:i]
	v, ok := t.apps.Load(app)
	if !ok {
		v, _ = t.apps.LoadOrStore(app, &window{})
	}
	w := v.(*window)
	sec := now.Unix()
	w.mu.Lock()
	b := &w.buckets[sec%60]
	if b.sec != sec {
		b.sec, b.total, b.errs = sec, 0, 0
	}
	b.total++
	if status >= 500 {
		b.errs++
	}
	w.mu.Unlock()
}

// snapshot is each app's last minute at now; apps with no request in it are left out.
func (t *traffic) snapshot(now time.Time) map[string]AppTraffic {
	sec := now.Unix()
	out := map[string]AppTraffic{}
	t.apps.Range(func(k, v any) bool {
		w := v.(*window)
		var a AppTraffic
		w.mu.Lock()
		for _, b := range w.buckets {
			if b.sec > sec-60 && b.sec <= sec {
				a.Requests += b.total
				a.Errors += b.errs
			}
		}
		w.mu.Unlock()
		if a.Requests > 0 {
			a.PerSecond = float64(a.Requests) / 60
			a.ErrorRate = float64(a.Errors) / float64(a.Requests)
			out[k.(string)] = a
		}
		return true
	})
	return out
}
