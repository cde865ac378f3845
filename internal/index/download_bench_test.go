package index

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkDownload measures a 64 MiB download from a local server into the cache:
// the cost of the size limit, the stall watchdog and the os.Root writes.
func BenchmarkDownload(b *testing.B) {
	body := make([]byte, 64<<20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	defer srv.Close()
	f := File{Filename: "big-1.0-py3-none-any.whl", URL: srv.URL + "/big-1.0-py3-none-any.whl"}
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		c := &Client{CacheDir: b.TempDir()}
		if _, _, err := c.Download(context.Background(), f, ""); err != nil {
			b.Fatal(err)
		}
	}
}
