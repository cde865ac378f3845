package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"
)

// benchmarkTarget measures requests through url (with host) from parallel clients and
// reports throughput and the 99th percentile latency. Compare:
//
//	go test -run '^$' -bench 'Direct|Gateway' -benchtime 5s ./internal/gateway
func benchmarkTarget(b *testing.B, url, host string) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(4)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var local []time.Duration
		for pb.Next() {
			req, _ := http.NewRequest("GET", url, nil)
			req.Host = host
			t := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			local = append(local, time.Since(t))
		}
		mu.Lock()
		lat = append(lat, local...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
}

func fastBackend(b *testing.B) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("hello from the replica\n"))
	}))
	b.Cleanup(s.Close)
	return s
}

func BenchmarkDirect(b *testing.B) {
	s := fastBackend(b)
	benchmarkTarget(b, s.URL+"/", "")
}

func BenchmarkGateway(b *testing.B) {
	s := fastBackend(b)
	g := New(io.Discard)
	g.Load(&Routes{Version: 1, Apps: map[string]AppRoutes{"web": {Revisions: map[string][]string{"web--1": {addr2(s)}}, Weights: map[string]int{"web--1": 100}}}})
	benchmarkTarget(b, serve(b, g)+"/", "web.localhost")
}

func addr2(s *httptest.Server) string { return s.Listener.Addr().String() }
