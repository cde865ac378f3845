// Command loadgen sends GET requests at a fixed rate and prints latency percentiles.
// The loop is open: a slow answer does not delay the next request, and each latency
// counts from the moment its request was due, so a stall shows in the percentiles
// instead of being hidden by the client waiting (wrk's closed loop, at saturation,
// measures mostly queueing). bench/gateway.sh uses it for the gateway's added latency
// at a given load.
//
//	go run ./bench/loadgen -url http://127.0.0.1:8080/ -host web.localhost -rate 500 -duration 10s
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"
)

type result struct {
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

func main() {
	url := flag.String("url", "", "URL to GET")
	host := flag.String("host", "", "Host header (default the URL's)")
	rate := flag.Float64("rate", 100, "requests per second")
	duration := flag.Duration("duration", 10*time.Second, "how long to send")
	conns := flag.Int("conns", 64, "most requests in flight at once")
	asJSON := flag.Bool("json", false, "print JSON")
	flag.Parse()
	if *url == "" || *rate <= 0 {
		fmt.Fprintln(os.Stderr, "loadgen: -url and a positive -rate are required")
		os.Exit(2)
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *conns, DisableCompression: true}}
	slots := make(chan struct{}, *conns)
	var mu sync.Mutex
	var lat []time.Duration
	errs := 0
	var firstErrs []string
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
		go func(due time.Time) {
			defer wg.Done()
			defer func() { <-slots }()
			req, _ := http.NewRequest(http.MethodGet, *url, nil)
			if *host != "" {
				req.Host = *host
			}
			resp, err := client.Do(req)
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
			ok := why == ""
			d := time.Since(due)
			mu.Lock()
			if ok {
				lat = append(lat, d)
			} else {
				errs++
				if len(firstErrs) < 3 {
					firstErrs = append(firstErrs, why)
				}
			}
			mu.Unlock()
		}(due)
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		i := int(p * float64(len(lat)-1))
		return float64(lat[i].Microseconds()) / 1000
	}
	r := result{Rate: *rate, Sent: n, Errors: errs, P50: pct(0.50), P90: pct(0.90), P99: pct(0.99), P999: pct(0.999), Max: pct(1), Achieved: float64(len(lat)) / elapsed.Seconds(), FirstErrors: firstErrs}
	if *asJSON {
		json.NewEncoder(os.Stdout).Encode(r)
		return
	}
	fmt.Printf("rate %.0f/s  sent %d  errors %d  p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  p99.9 %.2f ms  max %.2f ms\n", r.Rate, r.Sent, r.Errors, r.P50, r.P90, r.P99, r.P999, r.Max)
	for _, e := range firstErrs {
		fmt.Println("  error:", e)
	}
}
