// Package build turns a project and its Plan into OCI images without a Docker daemon:
// the base image untouched, the dependencies installed by pyship from wheels into
// layers keyed by their inputs, the app's files last, and a config from the Plan.
// The same inputs give the same bytes on every run.
package build

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/pyship/pyship/internal/base"
	"github.com/pyship/pyship/internal/buildctx"
	"github.com/pyship/pyship/internal/engine"
	"github.com/pyship/pyship/internal/index"
	"github.com/pyship/pyship/internal/layer"
	"github.com/pyship/pyship/internal/plan"
	"github.com/pyship/pyship/internal/scaffold"
)

// DefaultEpoch is the timestamp of every file and of the image when SOURCE_DATE_EPOCH
// is not set: 1980-01-01T00:00:01Z, which zip files and tools that treat 0 as "no time"
// both accept.
var DefaultEpoch = time.Date(1980, 1, 1, 0, 0, 1, 0, time.UTC)

// Options configure a build.
type Options struct {
	Dir       string // the project directory Detect read
	Plan      *plan.Plan
	Base      string        // image reference; default python:<version>-slim
	Platforms []v1.Platform // default: linux/amd64
	Index     IndexOptions
	Pre       bool
	CacheDir  string
	NoCache   bool
	Epoch     time.Time
	Engine    *engine.Client // nil without an engine
	Labels    map[string]string
	Log       func(format string, args ...any)
}

// Layer is one layer pyship added.
type Layer struct {
	*layer.File
	Kind     string   `json:"kind"` // "dependencies" or "app"
	Packages []string `json:"packages,omitempty"`
	Cached   bool     `json:"cached"`
}

// Image is the build for one platform: the base plus pyship's layers and config.
type Image struct {
	Platform v1.Platform
	Base     *base.Base
	Config   *v1.ConfigFile
	Layers   []Layer
	Wheels   []Wheel
}

// Result is a build for every requested platform.
type Result struct {
	Images  []*Image
	Notes   []string
	Timings map[string]time.Duration
}

// DefaultCacheDir is $PYSHIP_CACHE_DIR, else the user's cache dir + /pyship.
func DefaultCacheDir() string {
	if d := os.Getenv("PYSHIP_CACHE_DIR"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "pyship")
	}
	return filepath.Join(os.TempDir(), "pyship-cache")
}

// EpochFromEnv reads SOURCE_DATE_EPOCH.
func EpochFromEnv() (time.Time, error) {
	v := os.Getenv("SOURCE_DATE_EPOCH")
	if v == "" {
		return DefaultEpoch, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds", v)
	}
	return time.Unix(n, 0).UTC(), nil
}

func (o *Options) logf(format string, args ...any) {
	if o.Log != nil {
		o.Log(format, args...)
	}
}

// DefaultBase is the official image for the Plan's Python version.
func DefaultBase(p *plan.Plan) string {
	parts := strings.SplitN(p.PythonVersion, ".", 3)
	v := p.PythonVersion
	if len(parts) >= 2 {
		v = parts[0] + "." + parts[1]
	}
	return "python:" + v + "-slim"
}

// Client makes the index client the build uses.
func (o *Options) Client(in *Inputs) *index.Client {
	return &index.Client{Indexes: in.Indexes, FindLinks: in.FindLinks, CacheDir: o.CacheDir, Log: func(f string, a ...any) {
		if strings.HasPrefix(f, "downloaded") {
			o.logf(f, a...)
		}
	}}
}

// Build builds the image for each platform.
func Build(ctx context.Context, o Options) (*Result, error) {
	if err := Buildable(o.Plan); err != nil {
		return nil, err
	}
	if o.Epoch.IsZero() {
		o.Epoch = DefaultEpoch
	}
	if o.CacheDir == "" {
		o.CacheDir = DefaultCacheDir()
	}
	if o.Base == "" {
		o.Base = DefaultBase(o.Plan)
	}
	if len(o.Platforms) == 0 {
		o.Platforms = []v1.Platform{{OS: "linux", Architecture: "amd64"}}
	}
	res := &Result{Timings: map[string]time.Duration{}}
	in, err := ReadInputs(o.Dir, o.Plan, o.Index, o.Pre)
	if err != nil {
		return nil, err
	}
	res.Notes = in.Notes
	client := o.Client(in)
	for _, pl := range o.Platforms {
		img, err := buildOne(ctx, o, in, client, pl, res.Timings)
		if err != nil {
			if len(o.Platforms) > 1 {
				return nil, fmt.Errorf("%s: %w", pl, err)
			}
			return nil, err
		}
		res.Images = append(res.Images, img)
	}
	return res, nil
}

func since(t map[string]time.Duration, key string, start time.Time) {
	t[key] += time.Since(start)
}

func buildOne(ctx context.Context, o Options, in *Inputs, client *index.Client, pl v1.Platform, timings map[string]time.Duration) (*Image, error) {
	start := time.Now()
	b, err := base.Open(ctx, o.Base, base.Options{Engine: o.Engine, CacheDir: o.CacheDir, Platform: pl, Log: o.Log})
	if err != nil {
		return nil, err
	}
	since(timings, "base", start)
	t := b.Target
	o.logf("base %s (%s): Python %s, %s %s, %s", o.Base, b.Source, t.Python, t.Libc, t.LibcVersion, t.Machine())

	start = time.Now()
	if in.Lock != nil {
		o.logf("installing from %s (no resolution)", in.Lock.File)
	} else if in.lockSource == nil {
		o.logf("resolving %d requirements against %s", len(in.Requirement), strings.Join(redactAll(in.Indexes), ", "))
	}
	wheels, err := in.Choose(ctx, o.Dir, client, t)
	if err != nil {
		return nil, err
	}
	since(timings, "resolve", start)

	start = time.Now()
	if err := download(ctx, client, wheels, 4); err != nil {
		return nil, err
	}
	since(timings, "download", start)

	start = time.Now()
	store := layer.Store{Dir: filepath.Join(o.CacheDir, "layers")}
	img := &Image{Platform: pl, Base: b, Wheels: wheels}
	plans, opened, err := planDeps(group(wheels), t, store, b.LayerType, o.NoCache)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, w := range opened {
			w.Close()
		}
	}()
	type built struct {
		l   Layer
		err error
	}
	out := make([]built, len(plans))
	var wg sync.WaitGroup
	// Layers are compressed in parallel: gzip is the cost of a cold build.
	sem := make(chan struct{}, 2)
	for i, p := range plans {
		wg.Add(1)
		go func(i int, p depsPlan) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			f, cached, err := depsLayer(store, p, b.LayerType, o.Epoch, o.NoCache)
			var names []string
			for _, w := range p.wheels {
				names = append(names, w.Name+"=="+w.Version)
			}
			out[i] = built{Layer{File: f, Kind: "dependencies", Packages: names, Cached: cached}, err}
		}(i, p)
	}
	wg.Wait()
	for _, x := range out {
		if x.err != nil {
			return nil, x.err
		}
		img.Layers = append(img.Layers, x.l)
		o.logf("layer %s: %d packages, %s%s", short(x.l.DigestHex), len(x.l.Packages), size(x.l.SizeBytes), cachedNote(x.l.Cached))
	}
	since(timings, "dependency layers", start)

	start = time.Now()
	ctxDir := filepath.Join(o.Dir, filepath.FromSlash(o.Plan.Context))
	bc, err := buildctx.OpenWithDefault(ctxDir, scaffold.IgnorePatterns())
	if err != nil {
		return nil, err
	}
	rt := o.Plan.Runtime()
	var writable []string
	if dir := staticRoot(o.Plan, rt); dir != "" {
		writable = append(writable, strings.TrimPrefix(dir, "/"))
	} else if dj := o.Plan.Django; dj != nil && dj.Collectstatic {
		o.logf("warning: STATIC_ROOT = %s is not a form pyship can place in the image; static files are not collected (write STATIC_ROOT = BASE_DIR / \"staticfiles\", or build with --dockerfile)", dj.StaticRoot)
	}
	app, cached, err := appLayer(store, bc, b.LayerType, o.Epoch, writable, o.NoCache)
	if err != nil {
		return nil, err
	}
	img.Layers = append(img.Layers, Layer{File: app, Kind: "app", Cached: cached})
	o.logf("layer %s: app, %s%s", short(app.DigestHex), size(app.SizeBytes), cachedNote(cached))
	since(timings, "app layer", start)

	img.Config, err = imageConfig(o, b, img.Layers, rt)
	if err != nil {
		return nil, err
	}
	return img, nil
}

func cachedNote(c bool) string {
	if c {
		return " (cached)"
	}
	return ""
}

func short(hex string) string {
	if len(hex) > 12 {
		return hex[:12]
	}
	return hex
}

func size(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func redactAll(in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = index.Redact(s)
	}
	return out
}

// download fetches the wheels with a few workers; each is hash-checked.
func download(ctx context.Context, c *index.Client, ws []Wheel, jobs int) error {
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	sem := make(chan struct{}, jobs)
	for i := range ws {
		wg.Add(1)
		go func(w *Wheel) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			p, _, err := c.Download(ctx, w.File, w.SHA256)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && first == nil {
				first = err
			}
			w.Path = p
		}(&ws[i])
	}
	wg.Wait()
	return first
}

// Buildable refuses a project the builder does not build: an Azure Functions app,
// whose image is Microsoft's Functions host with the app on top.
func Buildable(p *plan.Plan) error {
	if p != nil && p.Framework == plan.AzureFunctions {
		return &UnsupportedError{Msg: fmt.Sprintf("an Azure Functions app runs the Functions host of Microsoft's base image (%s), which pyship's builder does not assemble: pyship init writes its Dockerfile; docker build and push it, then pyship deploy --target functions --image REGISTRY/REPO@sha256:...", plan.FunctionsBase(p.PythonVersion))}
	}
	return nil
}

// UnsupportedError is a project pyship's builder does not build, with what to do
// instead.
type UnsupportedError struct{ Msg string }

func (e *UnsupportedError) Error() string { return e.Msg }

// imageConfig is the base's config with pyship's layers, environment and command.
func imageConfig(o Options, b *base.Base, layers []Layer, rt plan.Runtime) (*v1.ConfigFile, error) {
	cfg := b.Config.DeepCopy()
	created := v1.Time{Time: o.Epoch}
	cfg.Created = created
	cfg.Author, cfg.Container = "pyship", ""
	c := &cfg.Config
	basePath := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	var env []string
	ours := map[string]bool{"PATH": true}
	for _, e := range rt.Env {
		k, _, _ := strings.Cut(e, "=")
		ours[k] = true
	}
	for _, e := range c.Env {
		k, v, _ := strings.Cut(e, "=")
		if k == "PATH" {
			basePath = v
		}
		if !ours[k] {
			env = append(env, e)
		}
	}
	env = append(env, "PATH="+plan.VenvDir+"/bin:"+basePath)
	env = append(env, rt.Env...)
	c.Env = env
	c.Entrypoint = nil
	shell := rt.Shell
	if staticRoot(o.Plan, rt) != "" {
		// No Python runs at build time, so static files are collected when the
		// container starts, into a directory the app's user owns.
		shell = "python manage.py collectstatic --noinput -v 0 && " + shell
	}
	c.Cmd = []string{"/bin/sh", "-c", shell}
	c.WorkingDir = rt.WorkDir
	c.User = fmt.Sprintf("%d:%d", plan.UID, plan.UID)
	c.ExposedPorts = map[string]struct{}{fmt.Sprintf("%d/tcp", rt.Port): {}}
	c.Healthcheck = nil
	c.OnBuild = nil
	if c.Labels == nil {
		c.Labels = map[string]string{}
	}
	c.Labels["org.opencontainers.image.base.name"] = b.Name
	c.Labels["org.opencontainers.image.base.digest"] = b.Digest
	c.Labels["dev.pyship.target"] = fmt.Sprintf("python=%s libc=%s-%s arch=%s", b.Target.Python, b.Target.Libc, b.Target.LibcVersion, b.Target.Machine())
	keys := make([]string, 0, len(o.Labels))
	for k := range o.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		c.Labels[k] = o.Labels[k]
	}
	for _, l := range layers {
		d, err := l.DiffID()
		if err != nil {
			return nil, err
		}
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, d)
		what := "pyship build: app files"
		if l.Kind == "dependencies" {
			what = fmt.Sprintf("pyship build: %d packages into %s", len(l.Packages), plan.VenvDir)
		}
		cfg.History = append(cfg.History, v1.History{Created: created, CreatedBy: what, Author: "pyship"})
	}
	return cfg, nil
}

var (
	quotedRe     = regexp.MustCompile(`["']([^"']+)["']`)
	baseDirSlash = regexp.MustCompile(`^BASE_DIR(\s*/\s*["'][^"']+["'])+$`)
	baseDirJoin  = regexp.MustCompile(`^os\.path\.join\(\s*BASE_DIR(\s*,\s*["'][^"']+["'])+\s*\)$`)
	absLiteral   = regexp.MustCompile(`^["'](/[^"']*)["']$`)
)

// staticRoot is where Django's STATIC_ROOT points in the image, for the forms Django's
// project template and its docs use (BASE_DIR / "staticfiles",
// os.path.join(BASE_DIR, "static"), an absolute literal); "" when there is nothing to
// collect or the form is not one of these.
func staticRoot(p *plan.Plan, rt plan.Runtime) string {
	dj := p.Django
	if dj == nil || !dj.Collectstatic || dj.StaticRoot == "" {
		return ""
	}
	expr := strings.TrimSpace(dj.StaticRoot)
	if m := absLiteral.FindStringSubmatch(expr); m != nil {
		return path.Clean(m[1])
	}
	if !baseDirSlash.MatchString(expr) && !baseDirJoin.MatchString(expr) {
		return ""
	}
	parts := []string{rt.WorkDir, path.Dir(dj.ManagePy)}
	for _, m := range quotedRe.FindAllStringSubmatch(expr, -1) {
		parts = append(parts, m[1])
	}
	// BASE_DIR is the directory holding manage.py in Django's project template.
	return path.Join(parts...)
}

// V1 assembles the image with its base layers, for outputs that carry them all.
func (i *Image) V1(ctx context.Context) (v1.Image, error) {
	baseImg, err := i.Base.Image(ctx)
	if err != nil {
		return nil, err
	}
	adds := make([]mutate.Addendum, 0, len(i.Layers))
	for _, l := range i.Layers {
		adds = append(adds, mutate.Addendum{Layer: l.File, MediaType: l.Media})
	}
	img, err := mutate.Append(baseImg, adds...)
	if err != nil {
		return nil, err
	}
	img, err = mutate.ConfigFile(img, i.Config)
	if err != nil {
		return nil, err
	}
	if mt, err := baseImg.MediaType(); err == nil && mt == types.OCIManifestSchema1 {
		img = mutate.Annotations(img, map[string]string{
			"org.opencontainers.image.base.name":   i.Base.Name,
			"org.opencontainers.image.base.digest": i.Base.Digest,
		}).(v1.Image)
	}
	return img, nil
}

// ConfigDigest is the image ID the engine will show.
func (i *Image) ConfigDigest() (v1.Hash, []byte, error) {
	raw, err := json.Marshal(i.Config)
	if err != nil {
		return v1.Hash{}, nil, err
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	return h, raw, err
}
