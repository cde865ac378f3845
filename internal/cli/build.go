package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/pyship/pyship/internal/build"
	"github.com/pyship/pyship/internal/engine"
	"github.com/pyship/pyship/internal/imageref"
	"github.com/pyship/pyship/internal/projectfs"
	"github.com/pyship/pyship/internal/publish"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

type buildFlags struct {
	detect     detectFlags
	base       string
	platforms  []string
	output     string
	push       string
	tag        string
	index      build.IndexOptions
	pre        bool
	noCache    bool
	cacheDir   string
	labels     []string
	dockerfile string // --file/--dockerfile; "" with viaEngine: DIR's Dockerfile
	viaEngine  bool
	buildArgs  []string
	network    string
}

func (f *buildFlags) bindIndex(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.base, "base", "", "base image: `REF` (engine, else registry), docker:REF, registry:REF, oci:DIR[@digest], tar:FILE (default python:<version>-slim)")
	cmd.Flags().StringSliceVar(&f.platforms, "platform", nil, "target `os/arch` list, e.g. linux/amd64,linux/arm64 (several make a multi-arch index)")
	cmd.Flags().StringVarP(&f.index.IndexURL, "index-url", "i", "", "package index `URL` (PEP 503/691); default: requirements file, PIP_INDEX_URL, pip.conf, PyPI")
	cmd.Flags().StringArrayVar(&f.index.ExtraIndexURL, "extra-index-url", nil, "extra index `URL` (first index that has a package wins)")
	// No -f: in a docker tool -f is --file (docker build -f), and logs -f is --follow.
	cmd.Flags().StringArrayVar(&f.index.FindLinks, "find-links", nil, "directory or page `LOC` of wheels to use besides the indexes (pip's -f)")
	cmd.Flags().BoolVar(&f.index.NoIndex, "no-index", false, "use only --find-links")
	cmd.Flags().BoolVar(&f.pre, "pre", false, "allow pre-release versions")
	cmd.Flags().StringVar(&f.cacheDir, "cache-dir", "", "cache `DIR` for wheels, metadata and layers (default $PYSHIP_CACHE_DIR or ~/.cache/pyship)")
	f.detect.bind(cmd)
}

func newBuild(g *globals) *cobra.Command {
	f := &buildFlags{}
	cmd := &cobra.Command{
		Use:   "build [DIR]",
		Short: "Build the project's image without a Docker daemon",
		Long: `build turns the project into an OCI image the way ko and Jib do, without docker build:
the base image untouched; the dependencies resolved (or read from pylock.toml, uv.lock,
poetry.lock, pdm.lock, Pipfile.lock or a hash-pinned requirements file), downloaded as
wheels with their hashes checked and installed by pyship into /opt/venv in layers of
their own; the app's files (filtered by .dockerignore) in the last layer; and the config
from the Plan (non-root user 10001, PORT, PYTHONUNBUFFERED, the server command).

The Python, C library and architecture the wheels must fit are read from the base
image, never from this machine. The same inputs give the same image digest every time
(timestamps from SOURCE_DATE_EPOCH, else 1980-01-01). Layers are cached by their
inputs, so a code-only change rebuilds and sends only the app layer.

Outputs: the local Docker engine (default when one runs; only missing layers are sent),
--output oci:DIR, --output tar:FILE (for docker load), --push REF (any registry; auth
from ~/.docker/config.json and credential helpers). --dockerfile builds through the
engine instead, for projects that need compilers or sdists.

-f PATH (or --file, --dockerfile PATH) builds that Dockerfile through the engine, as
docker build -f does: PATH is relative to the current directory and may lie outside
DIR, which stays the build context. --dockerfile alone builds DIR's Dockerfile.`,
		Example: `  pyship build                                  # into the local engine as <dir>:latest
  pyship build -t myapp:1.2 --push registry.example.com/team/myapp:1.2
  pyship build --output oci:./out --platform linux/amd64,linux/arm64
  pyship build --base docker:python:3.12-slim -i http://127.0.0.1:8080/simple
  pyship build --dockerfile                     # docker build of ./Dockerfile, streamed
  pyship build -f docker/Dockerfile.prod ./app  # docker build -f docker/Dockerfile.prod ./app
  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct) pyship build --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f.viaEngine = cmd.Flags().Changed("file") || cmd.Flags().Changed("dockerfile")
			return runBuild(cmd.Context(), g, f, args, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f.bindIndex(cmd)
	cmd.Flags().StringVarP(&f.output, "output", "o", "", "`docker`, oci:DIR or tar:FILE (default docker when the engine runs)")
	cmd.Flags().StringVar(&f.push, "push", "", "push to registry `REF`")
	cmd.Flags().StringVarP(&f.tag, "tag", "t", "", "image `NAME[:TAG]` (default <dir>:latest)")
	cmd.Flags().BoolVar(&f.noCache, "no-cache", false, "rebuild every layer (downloads stay hash-checked in the cache)")
	cmd.Flags().StringArrayVar(&f.labels, "label", nil, "image label `KEY=VALUE`")
	cmd.Flags().StringVarP(&f.dockerfile, "file", "f", "", "build the Dockerfile at `PATH` through the Docker engine instead (as docker build -f)")
	cmd.Flags().StringVar(&f.dockerfile, "dockerfile", "", "the same as --file; alone (no `PATH`), DIR's Dockerfile")
	cmd.Annotations = map[string]string{optionalValueAnnotation: "dockerfile"}
	cmd.Flags().StringArrayVar(&f.buildArgs, "build-arg", nil, "with --file: `KEY=VALUE` build argument")
	cmd.Flags().StringVar(&f.network, "network", "", "with --file: network `MODE` for RUN steps (host reaches an index on 127.0.0.1)")
	return cmd
}

// progress writes timestamped lines to stderr (not in --json mode's stdout).
type progress struct {
	mu    sync.Mutex // downloads and replicas report from several goroutines
	w     io.Writer
	start time.Time
	tty   bool
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, start: time.Now()}
	if f, ok := w.(*os.File); ok {
		p.tty = term.IsTerminal(int(f.Fd()))
	}
	return p
}

func (p *progress) logf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "[%5.1fs] %s\n", time.Since(p.start).Seconds(), fmt.Sprintf(format, args...))
}

// bar reports upload progress: a redrawn line on a terminal, quarters otherwise.
func (p *progress) bar(label string) func(done, total int64) {
	last := -1
	return func(done, total int64) {
		if total <= 0 {
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		pct := int(done * 100 / total)
		if p.tty {
			if pct != last {
				fmt.Fprintf(p.w, "\r%s %3d%% (%s / %s)", label, pct, mb(done), mb(total))
				if done >= total {
					fmt.Fprintln(p.w)
				}
			}
		} else if pct/25 != last/25 || (done >= total && last != 100) {
			fmt.Fprintf(p.w, "[%5.1fs] %s %d%% (%s / %s)\n", time.Since(p.start).Seconds(), label, pct, mb(done), mb(total))
		}
		last = pct
	}
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/(1<<20)) }

func parsePlatforms(in []string) ([]v1.Platform, error) {
	var out []v1.Platform
	for _, s := range in {
		p, err := v1.ParsePlatform(s)
		if err != nil {
			return nil, usagef("--platform %s: %v", s, err)
		}
		if p.OS == "" || p.Architecture == "" {
			return nil, usagef("--platform %s: expected os/arch[/variant], e.g. linux/arm64", s)
		}
		out = append(out, *p)
	}
	return out, nil
}

func (f *buildFlags) options(ctx context.Context, g *globals, args []string, logf func(string, ...any)) (build.Options, *engine.Client, error) {
	dir, p, err := f.detect.load(g, args)
	if err != nil {
		return build.Options{}, nil, err
	}
	if err := build.Buildable(p); err != nil {
		return build.Options{}, nil, err // before an engine or an output is asked for
	}
	epoch, err := build.EpochFromEnv()
	if err != nil {
		return build.Options{}, nil, err
	}
	pls, err := parsePlatforms(f.platforms)
	if err != nil {
		return build.Options{}, nil, err
	}
	labels := map[string]string{}
	for _, l := range f.labels {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return build.Options{}, nil, usagef("--label %q: expected KEY=VALUE", l)
		}
		labels[k] = v
	}
	if rev := gitRevision(dir); rev != "" {
		if _, set := labels["org.opencontainers.image.revision"]; !set {
			labels["org.opencontainers.image.revision"] = rev
		}
	}
	var eng *engine.Client
	ectx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if e, err := engine.New(ectx); err == nil {
		eng = e
	}
	cache := f.cacheDir
	if cache == "" {
		cache = build.DefaultCacheDir()
	}
	return build.Options{Dir: dir, Plan: p, Base: f.base, Platforms: pls, Index: f.index, Pre: f.pre, CacheDir: cache,
		NoCache: f.noCache, Epoch: epoch, Engine: eng, Labels: labels, Log: logf}, eng, nil
}

// gitRevision reads HEAD's commit without running git. The project's .git is read
// through projectfs: a HEAD naming "ref: ../../../etc/x", or a symlink, stays inside.
func gitRevision(dir string) string {
	head, err := projectfs.ReadFile(dir, ".git/HEAD")
	if err != nil {
		return ""
	}
	h := strings.TrimSpace(string(head))
	ref, ok := strings.CutPrefix(h, "ref: ")
	if !ok {
		return commitID(h)
	}
	if b, err := projectfs.ReadFile(dir, path.Join(".git", ref)); err == nil {
		return commitID(strings.TrimSpace(string(b)))
	}
	packed, _ := projectfs.ReadFile(dir, ".git/packed-refs")
	for _, line := range strings.Split(string(packed), "\n") {
		if sha, r, ok := strings.Cut(line, " "); ok && r == ref {
			return commitID(sha)
		}
	}
	return ""
}

// commitID keeps s only when it is a SHA-1 or SHA-256 object name: it becomes an image
// label, and a crafted .git could hold anything.
func commitID(s string) string {
	if len(s) != 40 && len(s) != 64 {
		return ""
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return ""
		}
	}
	return s
}

type buildSummary struct {
	Images  []imageSummary     `json:"images"`
	Outputs []*publish.Result  `json:"outputs"`
	Notes   []string           `json:"notes,omitempty"`
	Timings map[string]float64 `json:"timings_seconds"`
}

type imageSummary struct {
	Platform string         `json:"platform"`
	ImageID  string         `json:"image_id"`
	Digest   string         `json:"digest,omitempty"`
	Base     map[string]any `json:"base"`
	Layers   []build.Layer  `json:"layers"`
	Wheels   []build.Wheel  `json:"packages"`
	Size     int64          `json:"added_bytes"`
}

func runBuild(ctx context.Context, g *globals, f *buildFlags, args []string, stdout, stderr io.Writer) error {
	pr := newProgress(stderr)
	o, eng, err := f.options(ctx, g, args, pr.logf)
	if err != nil {
		return err
	}
	if eng != nil {
		defer eng.Close()
	}
	preflight(pr.logf, o.Plan, imageAdvice(imageName(o.Dir)), nil)
	tag := f.tag
	if tag == "" && f.push != "" && f.output == "" {
		tag = f.push
	}
	if tag == "" {
		tag = imageName(o.Dir) + ":latest"
	}
	// NAME means NAME:latest, as in docker: the engine's load refuses an untagged name
	// (a fresh engine failed the demo's -t pyship-demo/flask).
	norm, err := imageref.Tag(tag)
	if err != nil {
		return usage(fmt.Errorf("--tag: %w", err))
	}
	tag = norm
	if _, err := name.NewTag(tag); err != nil {
		return usagef("--tag %s: %v", tag, err)
	}
	if f.viaEngine {
		return dockerfileBuild(ctx, g, f, o, eng, tag, stdout, stderr)
	}
	output := f.output
	if output == "" && f.push == "" {
		if eng == nil {
			return errors.New("no Docker engine is running to load the image into: pass --output oci:DIR, --output tar:FILE or --push REF (or start the engine)")
		}
		output = "docker"
	}
	if output != "" && output != "docker" && !strings.HasPrefix(output, "oci:") && !strings.HasPrefix(output, "tar:") {
		return usagef("--output %s: expected docker, oci:DIR or tar:FILE", output)
	}
	if output == "docker" && eng == nil {
		return fmt.Errorf("--output docker: %w", engine.ErrUnreachable)
	}
	// Refuse a destination that would destroy something before spending the build on it.
	if dir, ok := strings.CutPrefix(output, "oci:"); ok {
		if err := publish.CheckLayoutDir(dir); err != nil {
			return err
		}
	}
	if file, ok := strings.CutPrefix(output, "tar:"); ok {
		if err := publish.CheckTarFile(file); err != nil {
			return err
		}
	}
	res, err := build.Build(ctx, o)
	if err != nil {
		return interrupted(ctx, err)
	}
	for _, n := range res.Notes {
		pr.logf("note: %s", n)
	}
	sum := buildSummary{Notes: res.Notes, Timings: map[string]float64{}}
	start := time.Now()
	var imgs []v1.Image
	needV1 := f.push != "" || strings.HasPrefix(output, "oci:") || strings.HasPrefix(output, "tar:") || len(res.Images) > 1
	if needV1 {
		for _, bi := range res.Images {
			img, err := bi.V1(ctx)
			if err != nil {
				return interrupted(ctx, err)
			}
			imgs = append(imgs, img)
		}
	}
	var idx v1.ImageIndex
	if len(imgs) > 1 {
		idx = publish.Index(imgs, o.Platforms)
	}
	switch {
	case output == "docker":
		if len(res.Images) > 1 {
			return errors.New("the Docker engine holds one platform per tag: build one --platform for --output docker, or use --push/--output oci:DIR for a multi-arch index")
		}
		pr.logf("loading into the Docker engine as %s", tag)
		r, err := publish.Engine(ctx, eng, res.Images[0], tag, pr.logf)
		if err != nil {
			return interrupted(ctx, err)
		}
		pr.logf("engine: %s %s (sent %d layers, %s)", tag, short(r.ImageID), r.SentLayers, mb(r.SentBytes))
		sum.Outputs = append(sum.Outputs, r)
	case strings.HasPrefix(output, "oci:"):
		var one v1.Image
		if idx == nil {
			one = imgs[0]
		}
		r, err := publish.Layout(strings.TrimPrefix(output, "oci:"), one, idx, tag)
		if err != nil {
			return interrupted(ctx, err)
		}
		pr.logf("OCI layout %s: %s", strings.TrimPrefix(output, "oci:"), r.Digest)
		sum.Outputs = append(sum.Outputs, r)
	case strings.HasPrefix(output, "tar:"):
		if idx != nil {
			return errors.New("a docker load tarball holds one platform: build one --platform for --output tar:FILE")
		}
		r, err := publish.Tarball(strings.TrimPrefix(output, "tar:"), imgs[0], tag)
		if err != nil {
			return interrupted(ctx, err)
		}
		pr.logf("tarball %s: %s (load it with docker load -i)", strings.TrimPrefix(output, "tar:"), r.Digest)
		sum.Outputs = append(sum.Outputs, r)
	}
	if f.push != "" {
		var one v1.Image
		if idx == nil {
			one = imgs[0]
		}
		pr.logf("pushing %s", f.push)
		r, err := publish.Push(ctx, f.push, one, idx, pr.bar("upload"))
		if err != nil {
			return interrupted(ctx, err)
		}
		pr.logf("pushed %s@%s (uploaded %d blobs, %s; the rest were already there)", f.push, r.Digest, r.SentLayers, mb(r.SentBytes))
		sum.Outputs = append(sum.Outputs, r)
	}
	res.Timings["output"] = time.Since(start)
	for k, v := range res.Timings {
		// JSON keys are snake_case field names ("dependency layers" is a phase's name).
		sum.Timings[strings.ReplaceAll(k, " ", "_")] = v.Seconds()
	}
	for i, bi := range res.Images {
		id, _, _ := bi.ConfigDigest()
		s := imageSummary{Platform: bi.Platform.String(), ImageID: id.String(), Layers: bi.Layers, Wheels: bi.Wheels,
			Base: map[string]any{"ref": bi.Base.Ref, "name": bi.Base.Name, "digest": bi.Base.Digest, "source": bi.Base.Source, "target": bi.Base.Target}}
		if len(imgs) > i {
			d, _ := imgs[i].Digest()
			s.Digest = d.String()
		}
		for _, l := range bi.Layers {
			s.Size += l.SizeBytes
		}
		sum.Images = append(sum.Images, s)
	}
	if g.json {
		return writeJSON(stdout, sum)
	}
	for _, s := range sum.Images {
		fmt.Fprintf(stdout, "%s %s  image %s  +%s in %d layers (%d packages)\n", tag, s.Platform, short(s.ImageID), mb(s.Size), len(s.Layers), len(s.Wheels))
	}
	for _, r := range sum.Outputs {
		if r.Digest != "" {
			fmt.Fprintf(stdout, "%s: %s\n", r.Output, r.Digest)
		}
	}
	keys := make([]string, 0, len(sum.Timings))
	for k := range sum.Timings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.2fs", k, sum.Timings[k]))
	}
	fmt.Fprintf(stdout, "timings: %s; total %.2fs\n", strings.Join(parts, ", "), time.Since(pr.start).Seconds())
	return nil
}

func short(id string) string {
	_, hex, ok := strings.Cut(id, ":")
	if !ok {
		hex = id
	}
	if len(hex) > 12 {
		return hex[:12]
	}
	return hex
}

// interrupted turns a cancelled context into a clear message and exit status 130.
func interrupted(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return exitWith(130, errors.New("interrupted; nothing was written"))
	}
	return err
}

func dockerfileBuild(ctx context.Context, g *globals, f *buildFlags, o build.Options, eng *engine.Client, tag string, stdout, stderr io.Writer) error {
	ctxDir := filepath.Join(o.Dir, filepath.FromSlash(o.Plan.Context))
	dockerfile, data, err := resolveDockerfile(g, f.dockerfile, ctxDir)
	if err != nil {
		return err
	}
	args := map[string]string{}
	for _, a := range f.buildArgs {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return usagef("--build-arg %q: expected KEY=VALUE", a)
		}
		args[k] = v
	}
	if eng == nil {
		return fmt.Errorf("%w: -f/--dockerfile builds through the engine (start it, or set DOCKER_HOST)", engine.ErrUnreachable)
	}
	if f.base != "" {
		args["BASE_IMAGE"] = f.base
	}
	if f.index.IndexURL != "" {
		args["PIP_INDEX_URL"] = f.index.IndexURL
	}
	out := stderr
	if g.json {
		out = io.Discard
	}
	id, err := eng.Build(ctx, engine.BuildOptions{Dir: ctxDir, Dockerfile: dockerfile, DockerfileData: data, Tags: []string{tag}, BuildArgs: args, NetworkMode: f.network, Labels: o.Labels}, out)
	if err != nil {
		return interrupted(ctx, err)
	}
	if g.json {
		return writeJSON(stdout, map[string]any{"outputs": []any{map[string]string{"output": "docker", "ref": tag, "image_id": id}}})
	}
	shown := f.dockerfile
	if shown == "" {
		shown = "Dockerfile"
	}
	fmt.Fprintf(stdout, "%s  image %s (docker build of %s)\n", tag, short(id), shown)
	return nil
}

// resolveDockerfile finds the Dockerfile of build -f PATH as docker build does: PATH
// relative to the current directory (or -C DIR), "" for the context's own Dockerfile.
// Inside the context it is named by its relative path; outside, its content is sent
// with the context (data), as docker does.
func resolveDockerfile(g *globals, path, ctxDir string) (rel string, data []byte, err error) {
	if path == "" {
		if _, err := os.Stat(filepath.Join(ctxDir, "Dockerfile")); err != nil {
			return "", nil, fmt.Errorf("--dockerfile: %s has no Dockerfile (pyship init writes one; -f PATH names another): %w", ctxDir, fs.ErrNotExist)
		}
		return "Dockerfile", nil, nil
	}
	if strings.HasPrefix(path, "-") {
		// `-f --network host`: the flag parser took the next flag as the path.
		return "", nil, usagef("--file needs a PATH, and %s is a flag", path)
	}
	abs, err := g.userPath(path)
	if err != nil {
		return "", nil, err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return "", nil, usage(fmt.Errorf("--file: %w", err))
	}
	if st.IsDir() {
		return "", nil, usagef("--file %s is a directory: the Dockerfile's PATH comes first, then DIR (pyship build -f PATH DIR)", path)
	}
	// Resolve symlinks on both sides: a Dockerfile inside the context that links out
	// is sent by content, not as a link the engine cannot follow.
	realCtx, err1 := filepath.EvalSymlinks(ctxDir)
	realFile, err2 := filepath.EvalSymlinks(abs)
	if err1 == nil && err2 == nil {
		if r, err := filepath.Rel(realCtx, realFile); err == nil && filepath.IsLocal(r) {
			return filepath.ToSlash(r), nil, nil
		}
	}
	data, err = readUserFile(abs, maxDockerfile)
	if err != nil {
		return "", nil, usage(fmt.Errorf("--file: %w", err))
	}
	return "", data, nil
}
