// Command loadgen sends GET requests at a fixed rate and prints latency percentiles.
// The loop is open: a slow answer does not delay the next request, and each latency
// counts from the moment its request was due, so a stall shows in the percentiles
// instead of being hidden by the client waiting (wrk's closed loop, at saturation,
// measures mostly queueing).
//
// Given several targets, it sends each request to the next one in turn, so all of
// them are measured under the same conditions at the same moments: on a shared
// machine whose speed drifts from one minute to the next, one run per target after
// another compares the minutes more than the targets. bench/gateway.sh uses it for
// the gateway's added latency.
//
//	go run ./bench/loadgen -url http://127.0.0.1:8080/ -host web.localhost -rate 500 -duration 10s
//	go run ./bench/loadgen -target direct=http://127.0.0.1:5000/ -target gateway=http://127.0.0.1:8080/@web.localhost -rate 400 -json
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

type result struct {
	Name     string  `json:"name"`
	Rate     float64 `json:"rate"`
	Sent     int     `json:"sent"`
	Errors   int     `json:"errors"`
	P50      float64 `json:"p50_ms"`
	P90      float64 `json:"p90_ms"`
	P99      float64 `json:"p99_ms"`
	P999     float64 `json:"p999_ms"`
	Max      float64 `json:"max_ms"`
	Achieved float64 `json:"achieved_rps"`
	// FirstErrors are the first few failures, to say what they were.
	FirstErrors []string `json:"first_errors,omitempty"`
}

type target struct {
	name, url, host string
	client          *http.Client
	mu              sync.Mutex
	lat             []time.Duration
	sent, errs      int
	firstErrs       []string
}

type targets []*target

func (t *targets) String() string { return "" }

// Set parses NAME=URL or NAME=URL@HOST.
func (t *targets) Set(v string) error {
	name, rest, ok := strings.Cut(v, "=")
	if !ok || name == "" || rest == "" {
		return fmt.Errorf("want NAME=URL[@HOST], got %q", v)
	}
	u, host, _ := strings.Cut(rest, "@")
	*t = append(*t, &target{name: name, url: u, host: host})
	return nil
}

func main() {
	var ts targets
	url := flag.String("url", "", "URL to GET (one target)")
	host := flag.String("host", "", "Host header for -url (default the URL's)")
	flag.Var(&ts, "target", "NAME=URL[@HOST]: a target; repeat it to interleave several")
	rate := flag.Float64("rate", 100, "requests per second, all targets together")
	duration := flag.Duration("duration", 10*time.Second, "how long to send")
	conns := flag.Int("conns", 64, "most requests in flight at once, per target")
	asJSON := flag.Bool("json", false, "print JSON (one object per target)")
	flag.Parse()
	if *url != "" {
		ts = append(ts, &target{name: "target", url: *url, host: *host})
	}
	if len(ts) == 0 || *rate <= 0 {
		fmt.Fprintln(os.Stderr, "loadgen: -url or -target, and a positive -rate, are required")
		os.Exit(2)
	}
	for _, t := range ts {
		t.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *conns, DisableCompression: true}}
	}
	slots := make(chan struct{}, *conns*len(ts))
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / *rate)
	start := time.Now()
	n := int(duration.Seconds() * *rate)
	for i := 0; i < n; i++ {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		slots <- struct{}{} // all in flight: this one waits, and its wait counts
		wg.Add(1)
		go func(t *target, due time.Time) {
			defer wg.Done()
			defer func() { <-slots }()
			req, _ := http.NewRequest(http.MethodGet, t.url, nil)
			if t.host != "" {
				req.Host = t.host
			}
			resp, err := t.client.Do(req)
			why := ""
			if err != nil {
				why = err.Error()
			} else {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode >= 400 {
					why = fmt.Sprintf("%d %.200s", resp.StatusCode, b)
				}
			}
			d := time.Since(due)
			t.mu.Lock()
			defer t.mu.Unlock()
			t.sent++
			if why == "" {
				t.lat = append(t.lat, d)
				return
			}
			t.errs++
			if len(t.firstErrs) < 3 {
				t.firstErrs = append(t.firstErrs, why)
			}
		}(ts[i%len(ts)], due)
	}
	wg.Wait()
	elapsed := time.Since(start)
	enc := json.NewEncoder(os.Stdout)
	for _, t := range ts {
		r := t.result(*rate/float64(len(ts)), elapsed)
		if *asJSON {
			enc.Encode(r)
			continue
		}
		fmt.Printf("%-10s rate %.0f/s  sent %d  errors %d  p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  p99.9 %.2f ms  max %.2f ms\n", r.Name, r.Rate, r.Sent, r.Errors, r.P50, r.P90, r.P99, r.P999, r.Max)
		for _, e := range r.FirstErrors {
			fmt.Println("  error:", e)
		}
	}
}

func (t *target) result(rate float64, elapsed time.Duration) result {
	slices.Sort(t.lat)
	pct := func(p float64) float64 {
		if len(t.lat) == 0 {
			return 0
		}
		return float64(t.lat[int(p*float64(len(t.lat)-1))].Microseconds()) / 1000
	}
	return result{Name: t.name, Rate: rate, Sent: t.sent, Errors: t.errs, P50: pct(0.50), P90: pct(0.90), P99: pct(0.99), P999: pct(0.999), Max: pct(1),
		Achieved: float64(len(t.lat)) / elapsed.Seconds(), FirstErrors: t.firstErrs}
}
