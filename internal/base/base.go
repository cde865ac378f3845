// Package base opens the image pyship builds on — from a registry (lazily), the local
// Docker engine, an OCI layout or a tarball — and reads its target environment (Python,
// libc, architecture) from its own layers, cached by the image's config digest.
package base

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/pyship/pyship/internal/atomicfile"
	"github.com/pyship/pyship/internal/dockersave"
	"github.com/pyship/pyship/internal/engine"
	"github.com/pyship/pyship/internal/target"
)

// Options say where to look and where to cache.
type Options struct {
	Engine   *engine.Client // nil when no engine is running
	CacheDir string
	Platform v1.Platform // default linux/amd64
	Remote   []remote.Option
	Log      func(format string, args ...any)
}

// Base is an opened base image for one platform.
type Base struct {
	Ref       string // as given
	Name      string // for the org.opencontainers.image.base.name annotation
	Digest    string // manifest digest when there is one, else the image ID
	Source    string // "registry", "docker", "oci" or "tar"
	Config    *v1.ConfigFile
	ConfigID  v1.Hash // digest of the raw config (the engine's image ID)
	Target    target.Target
	LayerType types.MediaType // the layer media type pyship's layers must match
	open      func(ctx context.Context) (v1.Image, error)
}

// Image returns the base with its layers, for outputs that must carry them (OCI
// layout, tarball, registry push). For the engine it is exported once and cached.
func (b *Base) Image(ctx context.Context) (v1.Image, error) { return b.open(ctx) }

// Open finds the base image ref and reads its target environment. "docker:REF",
// "oci:DIR[@sha256:…]", "tar:FILE" and "registry:REF" choose a source; a bare REF is
// taken from the engine when it has it (as docker build would), else from its registry.
func Open(ctx context.Context, ref string, o Options) (*Base, error) {
	b, err := Locate(ctx, ref, o)
	if err != nil {
		return nil, err
	}
	logf := func(format string, args ...any) {
		if o.Log != nil {
			o.Log(format, args...)
		}
	}
	if err := b.readTarget(ctx, o, logf); err != nil {
		return nil, fmt.Errorf("base image %s: %w", ref, err)
	}
	return b, nil
}

// Locate finds an image as Open does, without reading its target environment.
func Locate(ctx context.Context, ref string, o Options) (*Base, error) {
	if o.Platform.OS == "" {
		o.Platform = v1.Platform{OS: "linux", Architecture: "amd64"}
	}
	var b *Base
	var err error
	switch {
	case strings.HasPrefix(ref, "oci:"):
		b, err = openLayout(strings.TrimPrefix(ref, "oci:"), o)
	case strings.HasPrefix(ref, "tar:"):
		b, err = openTarball(strings.TrimPrefix(ref, "tar:"), o)
	case strings.HasPrefix(ref, "docker:"):
		if o.Engine == nil {
			return nil, fmt.Errorf("base %s: %w", ref, engine.ErrUnreachable)
		}
		b, err = openEngine(ctx, strings.TrimPrefix(ref, "docker:"), o, true)
	case strings.HasPrefix(ref, "registry:"):
		b, err = openRemote(ctx, strings.TrimPrefix(ref, "registry:"), o)
	default:
		if o.Engine != nil {
			b, err = openEngine(ctx, ref, o, false)
			if err == nil && b != nil {
				break
			}
			if err != nil {
				return nil, err
			}
		}
		b, err = openRemote(ctx, ref, o)
	}
	if err != nil {
		return nil, fmt.Errorf("base image %s: %w", ref, err)
	}
	b.Ref = ref
	return b, nil
}

func layerTypeOf(mt types.MediaType) types.MediaType {
	if mt == types.OCIManifestSchema1 || mt == types.OCIImageIndex {
		return types.OCILayer
	}
	return types.DockerLayer
}

func fromImage(img v1.Image, b *Base) (*Base, error) {
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	id, err := img.ConfigName()
	if err != nil {
		return nil, err
	}
	mt, err := img.MediaType()
	if err != nil {
		return nil, err
	}
	if b.Digest == "" {
		d, err := img.Digest()
		if err != nil {
			return nil, err
		}
		b.Digest = d.String()
	}
	b.Config, b.ConfigID, b.LayerType = cfg, id, layerTypeOf(mt)
	b.open = func(context.Context) (v1.Image, error) { return img, nil }
	return b, nil
}

// Keychain finds the credentials a base image is pulled with from its registry: the
// user's Docker ones unless the command line adds others (cli adds Azure Container
// Registry's sign-in).
var Keychain authn.Keychain = authn.DefaultKeychain

func openRemote(ctx context.Context, ref string, o Options) (*Base, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, err
	}
	opts := append([]remote.Option{remote.WithContext(ctx), remote.WithPlatform(o.Platform), remote.WithAuthFromKeychain(Keychain)}, o.Remote...)
	desc, err := remote.Get(r, opts...)
	if err != nil {
		return nil, err
	}
	img, err := desc.Image() // picks the platform from an index
	if err != nil {
		return nil, err
	}
	d, _ := img.Digest()
	return fromImage(img, &Base{Name: r.Context().Name(), Digest: d.String(), Source: "registry"})
}

func openLayout(spec string, o Options) (*Base, error) {
	dir, want, _ := strings.Cut(spec, "@")
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, err
	}
	img, err := pick(idx, want, o.Platform)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return fromImage(img, &Base{Name: "oci:" + dir, Source: "oci"})
}

// pick finds the image for a platform in an index, through nested indexes.
func pick(idx v1.ImageIndex, digest string, p v1.Platform) (v1.Image, error) {
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range m.Manifests {
		if digest != "" && d.Digest.String() != digest {
			continue
		}
		switch {
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, err
			}
			if img, err := pick(child, "", p); err == nil {
				return img, nil
			}
		case d.MediaType.IsImage():
			if digest != "" || d.Platform == nil || d.Platform.Satisfies(p) {
				img, err := idx.Image(d.Digest)
				if err != nil {
					return nil, err
				}
				if d.Platform == nil && digest == "" {
					cfg, err := img.ConfigFile()
					if err != nil || (cfg.OS != p.OS || cfg.Architecture != p.Architecture) {
						continue
					}
				}
				return img, nil
			}
		}
	}
	return nil, fmt.Errorf("no image for %s", p)
}

func openTarball(file string, o Options) (*Base, error) {
	img, err := tarball.ImageFromPath(file, nil)
	if err != nil {
		return nil, err
	}
	return fromImage(img, &Base{Name: "tar:" + filepath.Base(file), Source: "tar"})
}

// openEngine reads the engine's copy. Only the config is needed to build for the
// engine; the layers are exported (docker save) once, into a cached OCI layout, when
// an output needs them.
func openEngine(ctx context.Context, ref string, o Options, required bool) (*Base, error) {
	info, found, err := o.Engine.Image(ctx, ref)
	if err != nil {
		return nil, err
	}
	if !found {
		if required {
			return nil, fmt.Errorf("the Docker engine has no image %s", ref)
		}
		return nil, nil
	}
	if info.OS != o.Platform.OS || info.Arch != o.Platform.Architecture {
		return nil, fmt.Errorf("the engine's %s is %s/%s, not %s", ref, info.OS, info.Arch, o.Platform)
	}
	id, err := v1.NewHash(info.ID)
	if err != nil {
		return nil, err
	}
	b := &Base{Name: ref, Digest: info.ID, Source: "docker", ConfigID: id, LayerType: types.DockerLayer}
	for _, rd := range info.RepoDigests {
		if n, d, ok := strings.Cut(rd, "@"); ok {
			b.Name, b.Digest = n, d
			break
		}
	}
	cacheDir := filepath.Join(o.CacheDir, "base", id.Hex)
	cfgPath := filepath.Join(cacheDir, "config.json")
	raw, err := os.ReadFile(cfgPath)
	if err != nil {
		// First use: one pass over docker save for the config and the target files.
		raw, err = exportScan(ctx, o.Engine, ref, cacheDir)
		if err != nil {
			return nil, err
		}
	}
	if b.Config, err = v1.ParseConfigFile(strings.NewReader(string(raw))); err != nil {
		return nil, err
	}
	b.open = func(ctx context.Context) (v1.Image, error) { return engineLayout(ctx, o.Engine, ref, id, cacheDir) }
	return b, nil
}

// exportScan streams docker save once: keeps the config and the target summary.
func exportScan(ctx context.Context, e *engine.Client, ref, cacheDir string) ([]byte, error) {
	rc, err := e.Save(ctx, ref)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	ops := map[string]target.LayerOps{}
	raw, layers, err := dockersave.Read(rc, func(name string, r io.Reader) error {
		if o, err := target.ReadLayer(r); err == nil { // not every file is a layer
			ops[name] = o
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	s := target.NewScanner()
	for _, l := range layers {
		s.Apply(ops[l])
	}
	cfg, err := v1.ParseConfigFile(strings.NewReader(string(raw)))
	if err != nil {
		return nil, err
	}
	t, err := s.Target(cfg.OS, cfg.Architecture, cfg.Variant, cfg.Config.Env)
	if err != nil {
		return nil, err
	}
	id, _, _ := v1.SHA256(strings.NewReader(string(raw)))
	if err := saveTarget(cacheDirParent(cacheDir), id, t); err != nil {
		return nil, err
	}
	if err := atomicfile.Write(filepath.Join(cacheDir, "config.json"), raw, 0o644); err != nil {
		return nil, err
	}
	return raw, nil
}

func cacheDirParent(cacheDir string) string { return filepath.Dir(filepath.Dir(cacheDir)) }

// engineLayout exports the engine's image into an OCI layout under the cache (layers
// compressed once) and opens it from there.
func engineLayout(ctx context.Context, e *engine.Client, ref string, id v1.Hash, cacheDir string) (v1.Image, error) {
	dir := filepath.Join(cacheDir, "layout")
	if idx, err := layout.ImageIndexFromPath(dir); err == nil {
		if img, err := firstImage(idx); err == nil {
			return img, nil
		}
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, err
	}
	tmpTar, err := os.CreateTemp(cacheDir, "save-*.tar")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmpTar.Name())
	rc, err := e.Save(ctx, ref)
	if err != nil {
		tmpTar.Close()
		return nil, err
	}
	_, err = io.Copy(tmpTar, rc)
	rc.Close()
	if cerr := tmpTar.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("docker save %s: %w", ref, err)
	}
	img, err := tarball.ImageFromPath(tmpTar.Name(), nil)
	if err != nil {
		return nil, err
	}
	tmpDir, err := os.MkdirTemp(cacheDir, "layout-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmpDir)
	p, err := layout.Write(tmpDir, empty.Index)
	if err != nil {
		return nil, err
	}
	if err := p.AppendImage(img); err != nil {
		return nil, fmt.Errorf("caching the layers of %s: %w", ref, err)
	}
	os.RemoveAll(dir)
	if err := os.Rename(tmpDir, dir); err != nil {
		return nil, err
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, err
	}
	return firstImage(idx)
}

func firstImage(idx v1.ImageIndex) (v1.Image, error) {
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(m.Manifests) == 0 {
		return nil, fmt.Errorf("empty layout")
	}
	return idx.Image(m.Manifests[0].Digest)
}

// readTarget reads the target environment from the layers, or from the cache.
func (b *Base) readTarget(ctx context.Context, o Options, logf func(string, ...any)) error {
	if t, ok := loadTarget(o.CacheDir, b.ConfigID); ok {
		b.Target = t
		return nil
	}
	img, err := b.open(ctx)
	if err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	logf("reading the base image's layers for its Python and C library")
	s := target.NewScanner()
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			return err
		}
		err = s.Layer(rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	t, err := s.Target(b.Config.OS, b.Config.Architecture, b.Config.Variant, b.Config.Config.Env)
	if err != nil {
		return err
	}
	b.Target = t
	return saveTarget(o.CacheDir, b.ConfigID, t)
}

func targetPath(cacheDir string, id v1.Hash) string {
	return filepath.Join(cacheDir, "targets", id.Hex+".json")
}

func loadTarget(cacheDir string, id v1.Hash) (target.Target, bool) {
	var t target.Target
	b, err := os.ReadFile(targetPath(cacheDir, id))
	if err != nil || json.Unmarshal(b, &t) != nil || t.Python == "" {
		return t, false
	}
	return t, true
}

func saveTarget(cacheDir string, id v1.Hash, t target.Target) error {
	b, _ := json.MarshalIndent(t, "", "  ")
	return atomicfile.Write(targetPath(cacheDir, id), b, 0o644)
}
