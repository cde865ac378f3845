// Package publish sends built images where they go: the local Docker engine (only the
// layers it lacks), an OCI layout directory, a `docker load` tarball, or a registry
// (base layers never re-uploaded). Files and directories are written to a temporary
// place and renamed when complete.
package publish

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/pyship/pyship/internal/build"
	"github.com/pyship/pyship/internal/engine"
)

// Result describes what was written.
type Result struct {
	Output     string `json:"output"`
	Ref        string `json:"ref,omitempty"`
	Digest     string `json:"digest,omitempty"` // manifest (or index) digest
	ImageID    string `json:"image_id,omitempty"`
	SentLayers int    `json:"sent_layers"` // layers (and, for a push, config blobs) actually sent
	SentBytes  int64  `json:"sent_bytes"`
}

// Engine loads the image into the local engine, sending only the layers it does not
// already hold: the engine skips a layer whose chain it has without reading it, so
// the tarball can leave those out. A code-only change sends the app layer alone.
func Engine(ctx context.Context, e *engine.Client, img *build.Image, tag string, logf func(string, ...any)) (*Result, error) {
	id, raw, err := img.ConfigDigest()
	if err != nil {
		return nil, err
	}
	diffIDs := img.Config.RootFS.DiffIDs
	have := 0
	candidates := []string{tag, id.String()}
	if img.Base.Source == "docker" {
		candidates = append(candidates, img.Base.ConfigID.String())
	}
	for _, c := range candidates {
		info, found, err := e.Image(ctx, c)
		if err != nil || !found {
			continue
		}
		n := 0
		for n < len(info.DiffIDs) && n < len(diffIDs) && info.DiffIDs[n] == diffIDs[n].String() {
			n++
		}
		have = max(have, n)
	}
	res := &Result{Output: "docker", Ref: tag, ImageID: id.String()}
	if _, exact, err := e.Image(ctx, id.String()); err == nil && exact {
		// The engine has the very image: naming it is all there is to do.
		if err := e.Tag(ctx, id.String(), tag); err != nil {
			return nil, err
		}
		return res, nil
	}
	// Otherwise send the config and the layers it lacks (none, when only the config
	// changed: a new port or setting over the same layers).
	err = loadFrom(ctx, e, img, tag, raw, have, res)
	if err != nil && have > 0 && strings.Contains(err.Error(), "no such file") {
		// The engine dropped a layer since we looked: send everything.
		logf("the engine lacks layers it had a moment ago; sending all of them")
		*res = Result{Output: "docker", Ref: tag, ImageID: id.String()}
		err = loadFrom(ctx, e, img, tag, raw, 0, res)
	}
	if err != nil {
		return nil, fmt.Errorf("loading into the Docker engine: %w", err)
	}
	return res, nil
}

func loadFrom(ctx context.Context, e *engine.Client, img *build.Image, tag string, rawConfig []byte, skip int, res *Result) error {
	layers, err := allLayers(ctx, img, skip)
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(writeDockerTar(pw, tag, rawConfig, layers, skip, res))
	}()
	err = e.Load(ctx, pr)
	pr.CloseWithError(err)
	return err
}

// allLayers lists every layer of the image, bottom first; those below skip are nil
// (the engine has them), so base layers are only fetched when the engine lacks them.
func allLayers(ctx context.Context, img *build.Image, skip int) ([]v1.Layer, error) {
	nBase := len(img.Base.Config.RootFS.DiffIDs)
	out := make([]v1.Layer, nBase+len(img.Layers))
	if skip < nBase {
		bi, err := img.Base.Image(ctx)
		if err != nil {
			return nil, err
		}
		bl, err := bi.Layers()
		if err != nil {
			return nil, err
		}
		copy(out, bl)
	}
	for i, l := range img.Layers {
		out[nBase+i] = l.File
	}
	return out, nil
}

func writeDockerTar(w io.Writer, tag string, rawConfig []byte, layers []v1.Layer, skip int, res *Result) error {
	tw := tar.NewWriter(w)
	cfgName := "config.json"
	var names []string
	for i := range layers {
		names = append(names, fmt.Sprintf("layer-%03d.tar.gz", i))
	}
	manifest := []map[string]any{{"Config": cfgName, "RepoTags": []string{tag}, "Layers": names}}
	mb, _ := json.Marshal(manifest)
	if err := writeEntry(tw, "manifest.json", mb); err != nil {
		return err
	}
	if err := writeEntry(tw, cfgName, rawConfig); err != nil {
		return err
	}
	for i, l := range layers {
		if i < skip {
			continue
		}
		size, err := l.Size()
		if err != nil {
			return err
		}
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: names[i], Mode: 0o644, Size: size, Typeflag: tar.TypeReg}); err != nil {
			rc.Close()
			return err
		}
		n, err := io.Copy(tw, rc)
		rc.Close()
		if err != nil {
			return err
		}
		res.SentLayers++
		res.SentBytes += n
	}
	return tw.Close()
}

func writeEntry(tw *tar.Writer, name string, b []byte) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err := tw.Write(b)
	return err
}

// Index is the multi-platform index of several images.
func Index(imgs []v1.Image, platforms []v1.Platform) v1.ImageIndex {
	var adds []mutate.IndexAddendum
	for i, img := range imgs {
		p := platforms[i]
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	return mutate.AppendManifests(empty.Index, adds...)
}

// Keychain finds the credentials Push sends to a registry: the user's Docker ones
// (~/.docker/config.json and credential helpers) unless the command line adds others
// (cli adds Azure Container Registry's token exchange after them).
var Keychain authn.Keychain = authn.DefaultKeychain

// Push uploads to a registry with the user's credentials (Keychain). Blobs the registry has are skipped after a HEAD request, and
// base layers from the same registry are mounted, not uploaded.
func Push(ctx context.Context, ref string, img v1.Image, idx v1.ImageIndex, progress func(done, total int64)) (*Result, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, err
	}
	updates := make(chan v1.Update, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for u := range updates {
			if progress != nil {
				progress(u.Complete, u.Total)
			}
		}
	}()
	res := &Result{Output: "registry", Ref: ref}
	ct := &countingTransport{base: remote.DefaultTransport}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(Keychain), remote.WithProgress(updates), remote.WithJobs(4), remote.WithTransport(ct)}
	if idx != nil {
		err = remote.WriteIndex(r, idx, opts...)
		if err == nil {
			d, _ := idx.Digest()
			res.Digest = d.String()
		}
	} else {
		err = remote.Write(r, img, opts...)
		if err == nil {
			d, _ := img.Digest()
			res.Digest = d.String()
		}
	}
	<-done
	if err != nil {
		return nil, fmt.Errorf("pushing %s: %w", ref, err)
	}
	res.SentLayers, res.SentBytes = int(ct.blobs.Load()), ct.bytes.Load()
	return res, nil
}

// countingTransport measures what a push really uploads (blobs the registry already
// had, or mounted from another repository, cost no bytes), for the summary.
type countingTransport struct {
	base  http.RoundTripper
	blobs atomic.Int64
	bytes atomic.Int64
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	upload := strings.Contains(req.URL.Path, "/blobs/uploads/")
	if upload && req.Body != nil && (req.Method == http.MethodPatch || req.Method == http.MethodPut) {
		req.Body = &countingBody{ReadCloser: req.Body, n: &t.bytes}
	}
	resp, err := t.base.RoundTrip(req)
	if err == nil && upload && req.Method == http.MethodPut && req.URL.Query().Get("digest") != "" && resp.StatusCode == http.StatusCreated {
		t.blobs.Add(1)
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}
