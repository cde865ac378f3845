package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"time"
)

// Status is what the admin endpoint reports: the table version in use and in-flight
// requests per replica address (what deploys wait on to drain).
type Status struct {
	Version  int64            `json:"version"`
	Inflight map[string]int64 `json:"inflight"`
	// Routes is the table in use: what traffic really goes where, which pyship reads
	// back when its state is lost.
	Routes *Routes `json:"routes,omitempty"`
	// StateDir identifies the directory the routes come from (device and inode as the
	// gateway sees it): pyship compares it with its own state directory to notice a
	// gateway watching a directory that was deleted and made again.
	StateDir string `json:"state_dir,omitempty"`
	// Traffic is each app's last minute of requests (apps with none left out).
	Traffic map[string]AppTraffic `json:"traffic,omitempty"`
}

// DirID is a directory's device and inode, the same seen through a bind mount.
func DirID(dir string) string {
	st, err := os.Stat(dir)
	if err != nil {
		return ""
	}
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return fmt.Sprintf("%d:%d", s.Dev, s.Ino)
	}
	return ""
}

// Serve runs the gateway until ctx ends: the proxy on listen, the admin endpoint on
// admin, and a watcher that installs routesPath whenever it changes. Notices (a limit
// reached) go to log; opts change the gateway's defaults.
func Serve(ctx context.Context, routesPath, listen, admin string, log io.Writer, opts ...Option) error {
	// The access log goes to a file beside the routes, buffered: a line per request on
	// the container's stdout would make the engine's log driver the bottleneck.
	access, err := os.OpenFile(dirOf(routesPath)+"/access.log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	var aw io.Writer = io.Discard
	if err == nil {
		defer access.Close()
		bw := newFlushingWriter(ctx, access)
		defer bw.Flush()
		aw = bw
	} else {
		fmt.Fprintf(log, "access log: %v (not written)\n", err)
	}
	g := New(aw, append([]Option{WithNotices(log)}, opts...)...)
	r, err := ReadRoutes(routesPath)
	if err != nil {
		return err
	}
	g.Load(r)
	pl, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	al, err := net.Listen("tcp", admin)
	if err != nil {
		pl.Close()
		return fmt.Errorf("gateway admin: %w", err)
	}
	fmt.Fprintf(log, "pyship gateway on http://%s (admin %s), routes from %s\n", pl.Addr(), al.Addr(), routesPath)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(Status{Version: g.Version(), Inflight: g.Inflight(), Routes: g.Routes(), StateDir: DirID(dirOf(routesPath)), Traffic: g.Traffic()})
	})
	// The admin endpoint answers small requests on loopback, under the proxy's
	// limits: without an idle timeout a keep-alive connection stayed for ever.
	adminSrv := &http.Server{Handler: mux, ReadHeaderTimeout: g.limits.HeaderTimeout, ReadTimeout: g.limits.HeaderTimeout,
		WriteTimeout: g.limits.WriteTimeout, IdleTimeout: g.limits.IdleTimeout}
	errc := make(chan error, 2)
	go func() { errc <- g.Serve(pl) }()
	go func() { errc <- adminSrv.Serve(al) }()
	go watch(ctx, routesPath, g, log)
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	g.Shutdown(sctx)
	adminSrv.Shutdown(sctx)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// watch polls the routes file: a stat every 50 ms costs nothing and works on every
// filesystem and bind mount, where inotify events can be missed.
func watch(ctx context.Context, path string, g *Gateway, log io.Writer) {
	var lastMod time.Time
	var lastSize int64 = -1
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st, err := os.Stat(path)
		if err != nil {
			continue
		}
		if st.ModTime().Equal(lastMod) && st.Size() == lastSize {
			continue
		}
		r, err := ReadRoutes(path)
		if err != nil {
			fmt.Fprintf(log, "routes: %v (keeping the previous table)\n", err)
			continue
		}
		lastMod, lastSize = st.ModTime(), st.Size()
		if r.Version != g.Version() {
			g.Load(r)
			fmt.Fprintf(log, "routes: version %d installed (%d apps)\n", r.Version, len(r.Apps))
		}
	}
}

// Query asks a running gateway's admin endpoint for its status.
func Query(ctx context.Context, admin string) (*Status, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+admin+"/status", nil)
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var s Status
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return nil, err
	}
	return &s, nil
}

// flushingWriter buffers access lines and flushes them every 200 ms.
type flushingWriter struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func newFlushingWriter(ctx context.Context, w io.Writer) *flushingWriter {
	f := &flushingWriter{w: bufio.NewWriterSize(w, 64<<10)}
	go func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				f.Flush()
			}
		}
	}()
	return f
}

func (f *flushingWriter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.w.Write(p)
}

// Flush writes out what is buffered.
func (f *flushingWriter) Flush() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.w.Flush()
}
