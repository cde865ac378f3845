package index

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pyship/pyship/internal/testutil"
)

var demo = testutil.Dist{Name: "demo", Version: "1.0", Files: map[string]string{"demo/__init__.py": ""}}

// fast are timeouts short enough for tests of a stalling index.
var fast = Timeouts{Connect: time.Second, TLS: time.Second, Header: 200 * time.Millisecond, Idle: 200 * time.Millisecond}

// sandbox is a folder holding the cache, so that a write that escapes the cache lands
// beside it, where outside() sees it.
func sandbox(t *testing.T) (parent, cache string) {
	parent = t.TempDir()
	cache = filepath.Join(parent, "cache")
	return parent, cache
}

// outside lists what is in parent but not in the cache or in the keep list.
func outside(t *testing.T, parent string, keep ...string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(parent, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(parent, p)
		if rel == "." {
			return nil
		}
		if rel == "cache" {
			return filepath.SkipDir
		}
		for _, k := range keep {
			if rel == k || strings.HasPrefix(k, rel+string(filepath.Separator)) {
				return nil
			}
		}
		out = append(out, rel)
		return nil
	})
	return out
}

// leftovers lists the files in the cache's wheels folder other than complete wheels.
func leftovers(t *testing.T, cache string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(filepath.Join(cache, "wheels"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasSuffix(p, ".whl") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// fetchAll lists the project and downloads every file it offers, as a build would,
// returning the first error.
func fetchAll(ctx context.Context, c *Client) (paths []string, err error) {
	files, err := c.Project(ctx, "demo")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		p, _, err := c.Download(ctx, f, "")
		if err != nil {
			return paths, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// A file name or hash from an index page is a path element at most: a traversal in the
// link text or the PEP 691 filename writes nothing outside the cache, and a "sha256"
// that is a path does not make a file planted outside count as a cached download.
func TestHostileNamesStayInCache(t *testing.T) {
	for _, shape := range []testutil.Shape{testutil.TraversalHTML, testutil.TraversalJSON, testutil.HashTraversal} {
		t.Run(string(shape), func(t *testing.T) {
			h := testutil.HostileIndex(t, shape, demo)
			parent, cache := sandbox(t)
			planted := filepath.Join(parent, "outside", h.Name)
			os.MkdirAll(filepath.Dir(planted), 0o755)
			os.WriteFile(planted, []byte("not the wheel"), 0o644)
			c := &Client{Indexes: []string{h.URL}, CacheDir: cache}
			paths, err := fetchAll(context.Background(), c)
			for _, p := range paths {
				if rel, rerr := filepath.Rel(cache, p); rerr != nil || !filepath.IsLocal(rel) {
					t.Errorf("Download returned %s, outside the cache", p)
				}
			}
			if err == nil && len(paths) > 0 {
				t.Fatalf("the hostile file was used: %v", paths)
			}
			if left := outside(t, parent, filepath.Join("outside", h.Name)); len(left) > 0 {
				t.Errorf("written outside the cache: %v", left)
			}
		})
	}
}

// A wheel name from a lock (pylock.toml's name) reaches Download unparsed by any index
// page: Download itself refuses it.
func TestDownloadRefusesPathNames(t *testing.T) {
	h := testutil.HostileIndex(t, testutil.TraversalHTML, demo)
	for _, name := range []string{h.Name + testutil.Traversal, "../" + h.Name, `..\` + h.Name, "demo-1.0-py3-none-any.whl\x00", ".."} {
		parent, cache := sandbox(t)
		c := &Client{CacheDir: cache}
		f := File{Filename: name, URL: h.Root + "/files/good/" + h.Name}
		_, _, err := c.Download(context.Background(), f, sum(h.Wheel))
		var ne *NameError
		if !errors.As(err, &ne) {
			t.Errorf("%q: err = %v, want a NameError", name, err)
		}
		if left := outside(t, parent); len(left) > 0 {
			t.Errorf("%q: written outside the cache: %v", name, left)
		}
	}
	_, _, err := (&Client{CacheDir: t.TempDir()}).Download(context.Background(), File{Filename: h.Name, URL: h.Root + "/files/good/" + h.Name}, "../../x")
	if err == nil || !strings.Contains(err.Error(), "not a sha256") {
		t.Errorf("a hash that is a path: %v", err)
	}
}

// A remote page may not make pyship read local files: neither a file beside the
// cache (which was copied in) nor /dev/zero (which filled the disk).
func TestRemoteFileURLsRefused(t *testing.T) {
	for _, shape := range []testutil.Shape{testutil.FileURLHTML, testutil.FileURLJSON} {
		t.Run(string(shape), func(t *testing.T) {
			parent, cache := sandbox(t)
			secret := filepath.Join(parent, "home", demo.Filename())
			os.MkdirAll(filepath.Dir(secret), 0o755)
			os.WriteFile(secret, testutil.Wheel(t, demo), 0o600) // even with the right hash
			for _, target := range []string{"file://" + secret, "file:///dev/zero"} {
				h := testutil.HostileIndexLinking(t, shape, demo, target)
				c := &Client{Indexes: []string{h.URL}, CacheDir: cache}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, err := fetchAll(ctx, c)
				cancel()
				if err == nil || !strings.Contains(err.Error(), "http(s)") || !strings.Contains(err.Error(), h.URL) {
					t.Errorf("%s: err = %v, want a refusal naming the page", target, err)
				}
				if got, _ := filepath.Glob(filepath.Join(cache, "wheels", "*", "*")); len(got) > 0 {
					t.Errorf("%s: copied into the cache: %v", target, got)
				}
			}
		})
	}
}

// A file:// URL from a lock is read only inside a --find-links directory the user
// named, and a link there may not lead out of it.
func TestLocalFilesOnlyFromFindLinks(t *testing.T) {
	parent, cache := sandbox(t)
	links := filepath.Join(parent, "links")
	os.MkdirAll(links, 0o755)
	whl := testutil.Wheel(t, demo)
	inside := filepath.Join(links, demo.Filename())
	os.WriteFile(inside, whl, 0o644)
	secret := filepath.Join(parent, "secret", "other-1.0-py3-none-any.whl")
	os.MkdirAll(filepath.Dir(secret), 0o755)
	os.WriteFile(secret, whl, 0o600)
	os.Symlink(secret, filepath.Join(links, "other-1.0-py3-none-any.whl"))
	syscall.Mkfifo(filepath.Join(links, "fifo-1.0-py3-none-any.whl"), 0o644)

	c := &Client{FindLinks: []string{links}, CacheDir: cache}
	ctx := context.Background()
	if _, got, err := c.Download(ctx, File{Filename: demo.Filename(), URL: "file://" + inside}, sum(whl)); err != nil || got != sum(whl) {
		t.Fatalf("a wheel in --find-links: %v", err)
	}
	var le *LocalFileError
	if _, _, err := c.Download(ctx, File{Filename: "other-1.0-py3-none-any.whl", URL: "file://" + secret}, sum(whl)); !errors.As(err, &le) {
		t.Errorf("a file outside --find-links: %v", err)
	}
	if _, _, err := (&Client{CacheDir: cache}).Download(ctx, File{Filename: demo.Filename(), URL: "file://" + inside}, ""); !errors.As(err, &le) {
		t.Errorf("a local file without --find-links: %v", err)
	}
	if _, _, err := c.Download(ctx, File{Filename: "other-1.0-py3-none-any.whl", URL: "file://" + filepath.Join(links, "other-1.0-py3-none-any.whl")}, ""); err == nil {
		t.Errorf("a link out of --find-links was followed")
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := c.Download(ctx, File{Filename: "fifo-1.0-py3-none-any.whl", URL: "file://" + filepath.Join(links, "fifo-1.0-py3-none-any.whl")}, "")
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("a FIFO: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("opening a FIFO named like a wheel blocked")
	}
	files, err := c.Project(ctx, "fifo")
	if err == nil {
		t.Errorf("a FIFO was listed as a file: %+v", files)
	}
	if got, _ := filepath.Glob(filepath.Join(cache, "wheels", "*", "other*")); len(got) > 0 {
		t.Errorf("an outside file reached the cache: %v", got)
	}
}

// A cancelled build stops copying a local file too (Ctrl-C was ignored while
// file:///dev/zero filled the disk), and leaves no temporary file.
func TestCancelStopsLocalCopy(t *testing.T) {
	_, cache := sandbox(t)
	links := t.TempDir()
	big := filepath.Join(links, demo.Filename())
	os.WriteFile(big, make([]byte, 8<<20), 0o644)
	c := &Client{FindLinks: []string{links}, CacheDir: cache}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := c.Download(ctx, File{Filename: demo.Filename(), URL: "file://" + big}, "")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if left := leftovers(t, cache); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
	if got, _ := filepath.Glob(filepath.Join(cache, "wheels", "*", "*")); len(got) > 0 {
		t.Errorf("a cancelled copy was kept: %v", got)
	}
}

// Every download has a size limit: the declared size when there is one, else the cap;
// over it, the download stops at once and leaves no temporary file.
func TestDownloadLimits(t *testing.T) {
	for _, c := range []struct {
		shape    testutil.Shape
		declared bool
	}{{testutil.EndlessBody, false}, {testutil.Oversized, true}} {
		t.Run(string(c.shape), func(t *testing.T) {
			h := testutil.HostileIndex(t, c.shape, demo)
			_, cache := sandbox(t)
			cl := &Client{Indexes: []string{h.URL}, CacheDir: cache, MaxDownload: 1 << 20}
			_, err := fetchAll(context.Background(), cl)
			var le *LimitError
			if !errors.As(err, &le) || le.Declared != c.declared {
				t.Fatalf("err = %v, want a LimitError (declared %v)", err, c.declared)
			}
			if !strings.Contains(err.Error(), h.Root) {
				t.Errorf("the error does not name the URL: %v", err)
			}
			if left := leftovers(t, cache); len(left) > 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
	t.Run("declared over the cap", func(t *testing.T) {
		h := testutil.HostileIndex(t, testutil.TraversalHTML, demo)
		cl := &Client{CacheDir: t.TempDir(), MaxDownload: 10}
		_, _, err := cl.Download(context.Background(), File{Filename: h.Name, URL: h.Root + "/files/good/" + h.Name, Size: 1 << 40}, "")
		var le *LimitError
		if !errors.As(err, &le) || h.Requests("/files/good/"+h.Name) != 0 {
			t.Errorf("err = %v after %d requests", err, h.Requests("/files/good/"+h.Name))
		}
	})
	t.Run("environment", func(t *testing.T) {
		t.Setenv(MaxDownloadEnv, "1K")
		h := testutil.HostileIndex(t, testutil.EndlessBody, demo)
		_, err := fetchAll(context.Background(), &Client{Indexes: []string{h.URL}, CacheDir: t.TempDir()})
		var le *LimitError
		if !errors.As(err, &le) || le.Limit != 1024 {
			t.Errorf("err = %v", err)
		}
		t.Setenv(MaxDownloadEnv, "lots")
		if _, err := fetchAll(context.Background(), &Client{Indexes: []string{h.URL}, CacheDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), MaxDownloadEnv) {
			t.Errorf("a bad %s: %v", MaxDownloadEnv, err)
		}
	})
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1048576": 1 << 20, "512M": 512 << 20, "2g": 2 << 30, "3K": 3 << 10} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("%s: %d %v", in, got, err)
		}
	}
	for _, in := range []string{"", "0", "-1", "1T", "G", "99999999999G"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

// A page that never ends is refused at the page limit, not read whole or truncated.
func TestEndlessPage(t *testing.T) {
	h := testutil.HostileIndex(t, testutil.EndlessPage, demo)
	_, err := (&Client{Indexes: []string{h.URL}, CacheDir: t.TempDir(), MaxPage: 1 << 20}).Project(context.Background(), "demo")
	if err == nil || !strings.Contains(err.Error(), "more than the") || !strings.Contains(err.Error(), h.URL) {
		t.Errorf("err = %v", err)
	}
}

// An index that stops answering, before or after its headers, fails with its URL after
// the bounded retries instead of hanging the build.
func TestStallingIndexTimesOut(t *testing.T) {
	for _, c := range []struct {
		shape testutil.Shape
		path  string
	}{{testutil.HangPage, "/simple/demo/"}, {testutil.StallPage, "/simple/demo/"}, {testutil.StallBody, "/files/stall/" + demo.Filename()}} {
		t.Run(string(c.shape), func(t *testing.T) {
			h := testutil.HostileIndex(t, c.shape, demo)
			_, cache := sandbox(t)
			cl := &Client{Indexes: []string{h.URL}, CacheDir: cache, Timeouts: fast, Retries: 1}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			start := time.Now()
			_, err := fetchAll(ctx, cl)
			var se *StallError
			if !errors.As(err, &se) || ctx.Err() != nil {
				t.Fatalf("err = %v after %s, want a StallError", err, time.Since(start).Round(time.Millisecond))
			}
			if !strings.Contains(err.Error(), h.Root+c.path) || !strings.Contains(err.Error(), "gave up after 2 attempts") {
				t.Errorf("err = %v, want the URL and the attempts", err)
			}
			// The message says two attempts were made; the server may not have seen the
			// second if it timed out before reaching the handler (a loaded machine).
			if n := h.Requests(c.path); n < 1 || n > 2 {
				t.Errorf("%d requests to %s, want at most 2 (one retry)", n, c.path)
			}
			if left := leftovers(t, cache); len(left) > 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}
