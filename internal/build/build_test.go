package build

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/pyship/pyship/internal/plan"
	"github.com/pyship/pyship/internal/testutil"
)

var dists = []testutil.Dist{
	{Name: "flask", Version: "2.2.2", Files: map[string]string{"flask/__init__.py": "def main(): pass\n"}, Requires: []string{"werkzeug>=2.2"}, Scripts: map[string]string{"flask": "flask:main"}},
	{Name: "werkzeug", Version: "2.2.2", Files: map[string]string{"werkzeug/__init__.py": ""}},
	{Name: "werkzeug", Version: "2.1.0", Files: map[string]string{"werkzeug/__init__.py": ""}},
	{Name: "gunicorn", Version: "20.1.0", Files: map[string]string{"gunicorn/__init__.py": ""}, Scripts: map[string]string{"gunicorn": "gunicorn.app.wsgiapp:run"}},
}

func project(t *testing.T, extra map[string]string) (string, *plan.Plan) {
	t.Helper()
	files := map[string]string{
		"app.py":           "from flask import Flask\napp = Flask(__name__)\n",
		"requirements.txt": "flask\n",
		".env":             "SECRET_KEY=do-not-ship\n",
		"static/x.css":     "body{}",
	}
	for k, v := range extra {
		files[k] = v
	}
	dir := testutil.WriteProject(t, files)
	p, err := plan.Detect(os.DirFS(dir), plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return dir, p
}

func options(t *testing.T, dir string, p *plan.Plan, base, index string) Options {
	return Options{Dir: dir, Plan: p, Base: "oci:" + base, Index: IndexOptions{IndexURL: index}, CacheDir: t.TempDir(), Epoch: DefaultEpoch}
}

func layerFiles(t *testing.T, l Layer) map[string]*tar.Header {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out := map[string]*tar.Header{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = h
	}
}

func TestReproducibleAndLayered(t *testing.T) {
	base := testutil.FakeBase(t, "amd64")
	index := testutil.Index(t, dists, nil)
	dir, p := project(t, nil)
	ctx := context.Background()
	a, err := Build(ctx, options(t, dir, p, base, index))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Build(ctx, options(t, dir, p, base, index)) // a fresh cache
	if err != nil {
		t.Fatal(err)
	}
	ia, _ := a.Images[0].V1(ctx)
	ib, _ := b.Images[0].V1(ctx)
	da, _ := ia.Digest()
	db, _ := ib.Digest()
	if da != db {
		t.Fatalf("two builds: %s and %s", da, db)
	}
	img := a.Images[0]
	if len(img.Layers) != 2 || img.Layers[0].Kind != "dependencies" || img.Layers[1].Kind != "app" {
		t.Fatalf("layers: %+v", img.Layers)
	}
	var got []string
	for _, w := range img.Wheels {
		got = append(got, w.Name+"=="+w.Version)
	}
	if strings.Join(got, " ") != "flask==2.2.2 gunicorn==20.1.0 werkzeug==2.2.2" {
		t.Errorf("wheels %v", got)
	}
	deps := layerFiles(t, img.Layers[0])
	for name, want := range map[string]string{
		"opt/venv/bin/python":  "/usr/bin/python3.11",
		"opt/venv/bin/python3": "python",
		"opt/venv/lib64":       "lib",
	} {
		if h := deps[name]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != want {
			t.Errorf("%s: %+v, want a link to %s", name, h, want)
		}
	}
	for _, name := range []string{"opt/venv/pyvenv.cfg", "opt/venv/bin/flask", "opt/venv/bin/gunicorn", "opt/venv/lib/python3.11/site-packages/flask/__init__.py"} {
		h := deps[name]
		if h == nil {
			t.Errorf("%s missing from the dependency layer", name)
			continue
		}
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || !h.ModTime.Equal(DefaultEpoch) {
			t.Errorf("%s: owner %d:%d %q, mtime %v", name, h.Uid, h.Gid, h.Uname, h.ModTime)
		}
	}
	if deps["opt/venv/bin/flask"].Mode != 0o755 {
		t.Errorf("console script mode %o", deps["opt/venv/bin/flask"].Mode)
	}
	app := layerFiles(t, img.Layers[1])
	if app["app/app.py"] == nil || app["app/app.py"].Mode != 0o644 || app["app/.env"] != nil {
		t.Errorf("app layer: app.py %+v, .env %+v", app["app/app.py"], app["app/.env"])
	}
	c := img.Config.Config
	if c.User != "10001:10001" || c.WorkingDir != "/app" || strings.Join(c.Cmd, " ") != `/bin/sh -c exec gunicorn --bind "0.0.0.0:${PORT}" --worker-class gthread --threads 4 --keep-alive 75 --access-logfile - app:app` {
		t.Errorf("config: user %q dir %q cmd %q", c.User, c.WorkingDir, c.Cmd)
	}
	env := strings.Join(c.Env, " ")
	for _, want := range []string{"PATH=/opt/venv/bin:/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", "PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1", "PORT=5000"} {
		if !strings.Contains(env, want) {
			t.Errorf("env lacks %s: %v", want, c.Env)
		}
	}
	if _, ok := c.ExposedPorts["5000/tcp"]; !ok || c.Labels["org.opencontainers.image.base.digest"] == "" {
		t.Errorf("ports %v labels %v", c.ExposedPorts, c.Labels)
	}
	if !img.Config.Created.Time.Equal(DefaultEpoch) {
		t.Errorf("created %v", img.Config.Created)
	}
}

func TestCodeOnlyChangeReusesDependencies(t *testing.T) {
	base := testutil.FakeBase(t, "amd64")
	index := testutil.Index(t, dists, nil)
	dir, p := project(t, nil)
	o := options(t, dir, p, base, index)
	ctx := context.Background()
	first, err := Build(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "app.py"), []byte("from flask import Flask\napp = Flask('changed')\n"), 0o644)
	second, err := Build(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	l1, l2 := first.Images[0].Layers, second.Images[0].Layers
	if l1[0].DigestHex != l2[0].DigestHex || !l2[0].Cached {
		t.Errorf("dependency layer rebuilt: %+v → %+v", l1[0], l2[0])
	}
	if l1[1].DigestHex == l2[1].DigestHex || l2[1].Cached {
		t.Errorf("app layer not rebuilt: %+v → %+v", l1[1], l2[1])
	}
}

func TestMultiPlatform(t *testing.T) {
	base := testutil.FakeBase(t, "amd64", "arm64")
	index := testutil.Index(t, dists, nil)
	dir, p := project(t, nil)
	o := options(t, dir, p, base, index)
	o.Platforms = []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}}
	res, err := Build(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Images) != 2 || res.Images[0].Base.Target.Machine() != "x86_64" || res.Images[1].Base.Target.Machine() != "aarch64" || res.Images[1].Config.Architecture != "arm64" {
		t.Fatalf("%+v", res.Images)
	}
}

func TestFaults(t *testing.T) {
	ctx := context.Background()
	base := testutil.FakeBase(t, "amd64")
	index := testutil.Index(t, dists, nil)
	cases := []struct {
		name  string
		setup func(o *Options)
		extra map[string]string
		want  string
	}{
		{"unknown package", nil, map[string]string{"requirements.txt": "flask\nno-such-dist>=1\n"}, "no-such-dist"},
		{"conflict", nil, map[string]string{"requirements.txt": "flask\nwerkzeug<2.2\n"}, "flask 2.2.2 needs werkzeug>=2.2"},
		{"index down", func(o *Options) { o.Index.IndexURL = "http://127.0.0.1:1/simple" }, nil, "127.0.0.1:1"},
		{"hash mismatch", func(o *Options) {
			o.Index.IndexURL = testutil.Index(t, dists, func(f string, b []byte) []byte {
				if strings.HasPrefix(f, "werkzeug-2.2.2") {
					return append(append([]byte{}, b...), 0)
				}
				return b
			})
		}, nil, "hash mismatch"},
		{"no python", func(o *Options) {
			dir := t.TempDir()
			lp, _ := layout.Write(dir, empty.Index)
			img, _ := mutate.AppendLayers(empty.Image, testutil.Layer(t, map[string]string{"var/lib/dpkg/status": testutil.DpkgStatus}))
			cfg, _ := img.ConfigFile()
			cfg = cfg.DeepCopy()
			cfg.OS, cfg.Architecture = "linux", "amd64"
			img, _ = mutate.ConfigFile(img, cfg)
			lp.AppendImage(img)
			o.Base = "oci:" + dir
		}, nil, "no Python interpreter"},
		{"lock for another platform", nil, map[string]string{"pylock.toml": "lock-version = \"1.0\"\nenvironments = [\"platform_machine == 'aarch64'\"]\n"}, "lock again"},
		{"direct URL", nil, map[string]string{"requirements.txt": "flask\nfoo @ https://example.com/foo-1.0.tar.gz\n"}, "requirements.txt:2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir, p := project(t, c.extra)
			o := options(t, dir, p, base, index)
			if c.setup != nil {
				c.setup(&o)
			}
			_, err := Build(ctx, o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		dir, p := project(t, nil)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		o := options(t, dir, p, base, index)
		if _, err := Build(cctx, o); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
		left, _ := filepath.Glob(filepath.Join(o.CacheDir, "layers", "*.tmp"))
		if len(left) != 0 {
			t.Errorf("temporary files left: %v", left)
		}
	})
}

func TestStaticRoot(t *testing.T) {
	rt := plan.Runtime{WorkDir: "/app"}
	for expr, want := range map[string]string{
		`BASE_DIR / "staticfiles"`:              "/app/staticfiles",
		`os.path.join(BASE_DIR, 'static_root')`: "/app/static_root",
		`"/var/www/static"`:                     "/var/www/static",
		`env("STATIC_ROOT")`:                    "",
		`BASE_DIR.parent / "x"`:                 "",
		`BASE_DIR / "a" / "b"`:                  "/app/a/b",
	} {
		p := &plan.Plan{Django: &plan.DjangoPlan{Collectstatic: true, StaticRoot: expr, ManagePy: "manage.py"}}
		if got := staticRoot(p, rt); got != want {
			t.Errorf("%s → %q, want %q", expr, got, want)
		}
	}
}
