package build_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pyship/pyship/internal/build"
	"github.com/pyship/pyship/internal/plan"
	"github.com/pyship/pyship/internal/publish"
	"github.com/pyship/pyship/internal/testutil"
)

// These tests attack the build from the index and the lock file, end to end: the same
// path `pyship build --output oci:DIR` takes (build.Build, then publish.Layout).

var gunicorn = testutil.Dist{Name: "gunicorn", Version: "20.1.0", Files: map[string]string{"gunicorn/__init__.py": ""}, Scripts: map[string]string{"gunicorn": "gunicorn.app.wsgiapp:run"}}

// sandbox is one folder holding the project, the cache and the output, the cache
// nested deep enough that a path climbing out of it by up to six levels still lands
// inside the sandbox, where snapshot sees it.
type sandbox struct {
	dir, project, cache, out string
}

func newSandbox(t testing.TB, files map[string]string) sandbox {
	dir := t.TempDir()
	s := sandbox{dir: dir, project: filepath.Join(dir, "project"), cache: filepath.Join(dir, "a", "b", "c", "d", "e", "cache"), out: filepath.Join(dir, "out")}
	os.MkdirAll(filepath.Dir(s.cache), 0o755)
	for name, body := range files {
		p := filepath.Join(s.project, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// snapshot records every entry under the sandbox except the cache's and the
// output's: what the build must leave as it was.
func (s sandbox) snapshot(t testing.TB) string {
	t.Helper()
	var lines []string
	filepath.WalkDir(s.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			lines = append(lines, fmt.Sprintf("%s: %v", p, err))
			return nil
		}
		if p == s.cache || p == s.out {
			return filepath.SkipDir
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		line := fmt.Sprintf("%s %v %d", strings.TrimPrefix(p, s.dir), info.Mode(), info.Size())
		if info.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			sum := sha256.Sum256(b)
			line += " " + hex.EncodeToString(sum[:8])
		}
		lines = append(lines, line)
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

var wsgiProject = map[string]string{
	"requirements.txt": "gunicorn\n",
	"app.py":           "def app(environ, start_response):\n    start_response('200 OK', [])\n    return [b'ok']\n",
}

// buildTo runs the build into an OCI layout at s.out.
func buildTo(ctx context.Context, t testing.TB, s sandbox, base, indexURL string) error {
	p, err := plan.Detect(os.DirFS(s.project), plan.Options{})
	if err != nil {
		return err
	}
	res, err := build.Build(ctx, build.Options{Dir: s.project, Plan: p, Base: "oci:" + base, Index: build.IndexOptions{IndexURL: indexURL}, CacheDir: s.cache, Epoch: build.DefaultEpoch})
	if err != nil {
		return err
	}
	img, err := res.Images[0].V1(ctx)
	if err != nil {
		return err
	}
	_, err = publish.Layout(s.out, img, nil, "app:latest")
	return err
}

// isolate keeps the machine's pip settings out of the build.
func isolate(t testing.TB) {
	t.Setenv("PIP_CONFIG_FILE", os.DevNull)
	t.Setenv("PIP_FIND_LINKS", "")
	t.Setenv("PIP_EXTRA_INDEX_URL", "")
}

// Every hostile shape that fails fast at the build level fails the build, with
// nothing written outside the cache and the output, and no output at all.
func TestHostileIndexBuild(t *testing.T) {
	isolate(t)
	base := testutil.FakeBase(t, "amd64")
	for _, shape := range []testutil.Shape{testutil.TraversalHTML, testutil.TraversalJSON, testutil.HashTraversal, testutil.FileURLHTML, testutil.FileURLJSON, testutil.Oversized} {
		t.Run(string(shape), func(t *testing.T) {
			s := newSandbox(t, wsgiProject)
			secret := filepath.Join(s.dir, "home", gunicorn.Filename())
			os.MkdirAll(filepath.Dir(secret), 0o755)
			os.WriteFile(secret, testutil.Wheel(t, gunicorn), 0o600)
			before := s.snapshot(t)
			h := testutil.HostileIndexLinking(t, shape, gunicorn, "file://"+secret)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := buildTo(ctx, t, s, base, h.URL)
			if err == nil {
				t.Fatal("the build succeeded")
			}
			if ctx.Err() != nil {
				t.Fatalf("the build ran into the test's deadline: %v", err)
			}
			if after := s.snapshot(t); after != before {
				t.Errorf("written outside the cache and output:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			if _, err := os.Stat(s.out); !os.IsNotExist(err) {
				t.Errorf("a failed build wrote %s", s.out)
			}
		})
	}
}

// A committed pylock.toml whose wheel name climbs out of the cache is refused with the
// lock's name; the same lock with an honest name builds (the control).
func TestPylockTraversalBuild(t *testing.T) {
	isolate(t)
	base := testutil.FakeBase(t, "amd64")
	whl := testutil.Wheel(t, gunicorn)
	sum := sha256.Sum256(whl)
	srv := testutil.RawIndex(t, "text/html", []byte("<a href=\"../../files/x\">x</a>"), whl)
	root := strings.TrimSuffix(srv, "/simple")
	for _, c := range []struct {
		name string
		ok   bool
	}{{gunicorn.Filename(), true}, {gunicorn.Filename() + "/../../../../../../../planted.whl", false}} {
		lock := fmt.Sprintf("lock-version = \"1.0\"\ncreated-by = \"test\"\n[[packages]]\nname = \"gunicorn\"\nversion = \"20.1.0\"\n[[packages.wheels]]\nname = %q\nurl = \"%s/files/%s\"\nhashes = {sha256 = \"%s\"}\n", c.name, root, gunicorn.Filename(), hex.EncodeToString(sum[:]))
		files := map[string]string{"pylock.toml": lock}
		for k, v := range wsgiProject {
			files[k] = v
		}
		s := newSandbox(t, files)
		before := s.snapshot(t)
		err := buildTo(context.Background(), t, s, base, srv)
		if c.ok != (err == nil) {
			t.Fatalf("%s: err = %v", c.name, err)
		}
		if !c.ok && !strings.Contains(err.Error(), "pylock.toml") {
			t.Errorf("the error does not name the lock: %v", err)
		}
		if after := s.snapshot(t); after != before {
			t.Errorf("%s: written outside the cache and output:\nbefore:\n%s\nafter:\n%s", c.name, before, after)
		}
	}
}

// FuzzBuildFromIndex drives the whole build from a fuzzed index page (HTML or PEP 691
// JSON, served for every project) and fuzzed wheel bytes (served for every file) into
// an OCI layout: whatever they hold, nothing panics, the build ends, and nothing is
// written outside the cache and the output. In the page, {sha256} and {size} are the
// wheel's and {dir} is the sandbox, so seeds can be valid or aim at local files.
// Each run is a whole build, so minimising an input takes long: fuzz with
// -fuzzminimizetime=3s (and -parallel=1 on a small machine).
func FuzzBuildFromIndex(f *testing.F) {
	good := testutil.Wheel(f, gunicorn)
	name := gunicorn.Filename()
	link := func(text, href string) string {
		return fmt.Sprintf("<!DOCTYPE html><html><body><a href=\"%s#sha256={sha256}\">%s</a></body></html>", href, text)
	}
	jsonPage := func(filename, url, sha string) string {
		return fmt.Sprintf(`{"meta":{"api-version":"1.1"},"name":"gunicorn","files":[{"filename":%q,"url":%q,"hashes":{"sha256":%q},"size":{size}}]}`, filename, url, sha)
	}
	bad := testutil.Wheel(f, testutil.Dist{Name: "gunicorn", Version: "20.1.0", Files: map[string]string{"../../../../../../../escape.py": "x", "gunicorn/__init__.py": ""}})
	for _, seed := range []struct {
		json  bool
		page  string
		wheel []byte
	}{
		{false, link(name, "../../files/"+name), good},
		{true, jsonPage(name, "../../files/"+name, "{sha256}"), good},
		{false, link(name+testutil.Traversal, "../../files/"+name), good},
		{true, jsonPage(name+testutil.Traversal, "../../files/"+name, "{sha256}"), good},
		{true, jsonPage(name, "../../files/"+name, "../../../../outside"), good},
		{false, link(name, "file:///dev/zero"), good},
		{true, jsonPage(name, "file://{dir}/project/app.py", "{sha256}"), good},
		{false, link(name, "../../files/"+name), []byte("PK\x03\x04 not a zip")},
		{false, link(name, "../../files/"+name), bad},
		{true, `{"meta":{"api-version":"1.1"},"files":[{"filename":"` + name + `","url":"../../files/x","hashes":{"sha256":"{sha256}"},"size":1}]}`, good},
	} {
		f.Add(seed.json, []byte(seed.page), seed.wheel)
	}
	base := testutil.FakeBase(f, "amd64")
	isolate(f)
	// A bound for fuzzed sizes, so that a regression cannot fill the disk.
	f.Setenv("PYSHIP_MAX_DOWNLOAD", "16M")
	f.Fuzz(func(t *testing.T, json bool, page, wheel []byte) {
		s := newSandbox(t, wsgiProject)
		before := s.snapshot(t)
		ctype := "text/html"
		if json {
			ctype = "application/vnd.pypi.simple.v1+json"
		}
		page = []byte(strings.ReplaceAll(string(page), "{dir}", s.dir))
		srv := testutil.RawIndex(t, ctype, page, wheel)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		err := buildTo(ctx, t, s, base, srv)
		if ctx.Err() != nil {
			t.Fatalf("the build did not end: %v", err)
		}
		if after := s.snapshot(t); after != before {
			t.Fatalf("written outside the cache and output (err %v):\nbefore:\n%s\nafter:\n%s", err, before, after)
		}
		_, statErr := os.Stat(filepath.Join(s.out, "index.json"))
		if (err == nil) != (statErr == nil) {
			t.Fatalf("build error %v, but the output's index.json: %v", err, statErr)
		}
	})
}
