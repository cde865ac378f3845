// Package engine is pyship's narrow port to the Docker Engine API: build an image from a
// Dockerfile and its filtered context, run a container published on loopback, inspect
// and remove it. It negotiates the API version, so it works with old engines (1.41).
package engine

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/pyship/pyship/internal/buildctx"
)

// Client talks to one Docker engine.
type Client struct {
	api *client.Client
}

// ErrUnreachable means no engine answered.
var ErrUnreachable = errors.New("the Docker engine is not reachable")

// New connects using DOCKER_HOST and friends, and checks that the engine answers.
func New(ctx context.Context) (*Client, error) {
	api, err := client.New(client.FromEnv)
	if err != nil {
		return nil, err
	}
	if _, err := api.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return nil, fmt.Errorf("%w at %s (%v): start it (e.g. `sudo systemctl start docker`) or set DOCKER_HOST", ErrUnreachable, api.DaemonHost(), err)
	}
	return &Client{api: api}, nil
}

// Close releases the connection.
func (c *Client) Close() error { return c.api.Close() }

// BuildOptions describe a Dockerfile build.
type BuildOptions struct {
	Dir        string // the build context
	Dockerfile string // relative to Dir; default "Dockerfile"
	// DockerfileData is a Dockerfile from outside Dir (docker build -f ../Dockerfile .):
	// sent with the context under a name of its own, as docker does; Dockerfile is
	// ignored then.
	DockerfileData []byte
	Tags           []string
	BuildArgs      map[string]string
	NetworkMode    string // "host" lets RUN steps reach an index on 127.0.0.1
	Labels         map[string]string
}

// Build sends the context (filtered by .dockerignore) to the engine's builder, streams
// the build output to progress, and returns the image ID.
func (c *Client) Build(ctx context.Context, o BuildOptions, progress io.Writer) (string, error) {
	if o.Dockerfile == "" {
		o.Dockerfile = "Dockerfile"
	}
	var extra []buildctx.File
	if o.DockerfileData != nil {
		sum := sha256.Sum256(o.DockerfileData)
		o.Dockerfile = ".pyship.Dockerfile." + hex.EncodeToString(sum[:6])
		extra = append(extra, buildctx.File{Name: o.Dockerfile, Data: o.DockerfileData})
	}
	bc, err := buildctx.Open(o.Dir)
	if err != nil {
		return "", err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(bc.WriteTar(pw, o.Dockerfile, extra...)) }()
	args := map[string]*string{}
	for k, v := range o.BuildArgs {
		v := v
		args[k] = &v
	}
	res, err := c.api.ImageBuild(ctx, pr, client.ImageBuildOptions{
		Tags: o.Tags, Dockerfile: o.Dockerfile, BuildArgs: args, NetworkMode: o.NetworkMode,
		Labels: o.Labels, Remove: true, ForceRemove: true, Version: build.BuilderV1,
	})
	if err != nil {
		pr.CloseWithError(err)
		return "", fmt.Errorf("starting the build: %w", err)
	}
	defer res.Body.Close()
	id := ""
	var tail []string
	dec := json.NewDecoder(bufio.NewReader(res.Body))
	for {
		var m jsonstream.Message
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			return "", fmt.Errorf("reading the build output: %w", err)
		}
		if m.Error != nil {
			return "", fmt.Errorf("build failed: %s\n%s", m.Error.Message, strings.Join(tail, ""))
		}
		if m.Stream != "" {
			if progress != nil {
				io.WriteString(progress, m.Stream)
			}
			tail = append(tail, m.Stream)
			if len(tail) > 20 {
				tail = tail[1:]
			}
		}
		if m.Aux != nil {
			var aux struct{ ID string }
			if json.Unmarshal(*m.Aux, &aux) == nil && aux.ID != "" {
				id = aux.ID
			}
		}
	}
	if id == "" {
		return "", fmt.Errorf("the build ended without an image\n%s", strings.Join(tail, ""))
	}
	return id, nil
}

// RunOptions describe a container to start.
type RunOptions struct {
	Image string
	Name  string
	Env   []string // KEY=VALUE
	Port  int      // the container port to publish on a free 127.0.0.1 port
	Cmd   []string
}

// Container is a started container.
type Container struct {
	ID       string
	HostPort string // on 127.0.0.1
	Pid      int
}

// Run creates and starts a container, publishing Port on loopback only.
func (c *Client) Run(ctx context.Context, o RunOptions) (*Container, error) {
	cfg := &container.Config{Image: o.Image, Env: o.Env, Cmd: o.Cmd}
	hc := &container.HostConfig{}
	var port network.Port
	if o.Port > 0 {
		p, err := network.ParsePort(fmt.Sprintf("%d/tcp", o.Port))
		if err != nil {
			return nil, err
		}
		port = p
		cfg.ExposedPorts = network.PortSet{p: {}}
		hc.PortBindings = network.PortMap{p: {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: ""}}}
	}
	created, err := c.api.ContainerCreate(ctx, client.ContainerCreateOptions{Config: cfg, HostConfig: hc, Name: o.Name})
	if err != nil {
		return nil, fmt.Errorf("creating the container: %w", err)
	}
	if _, err := c.api.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		c.Remove(context.WithoutCancel(ctx), created.ID)
		return nil, fmt.Errorf("starting the container: %w", err)
	}
	insp, err := c.api.ContainerInspect(ctx, created.ID, client.ContainerInspectOptions{})
	if err != nil {
		return nil, err
	}
	out := &Container{ID: created.ID}
	if insp.Container.State != nil {
		out.Pid = insp.Container.State.Pid
	}
	if o.Port > 0 && insp.Container.NetworkSettings != nil {
		for _, b := range insp.Container.NetworkSettings.Ports[port] {
			out.HostPort = b.HostPort
		}
	}
	return out, nil
}

// Remove force-removes a container.
func (c *Client) Remove(ctx context.Context, id string) error {
	_, err := c.api.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	return err
}

// Logs returns what a container has written so far (stdout and stderr, demultiplexed
// only roughly: frame headers are stripped).
func (c *Client) Logs(ctx context.Context, id string) (string, error) {
	rc, err := c.api.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return "", err
	}
	defer rc.Close()
	var b strings.Builder
	hdr := make([]byte, 8)
	for {
		if _, err := io.ReadFull(rc, hdr); err != nil {
			break
		}
		n := int(hdr[4])<<24 | int(hdr[5])<<16 | int(hdr[6])<<8 | int(hdr[7])
		if _, err := io.CopyN(&b, rc, int64(n)); err != nil {
			break
		}
	}
	return b.String(), nil
}

// InspectContainerRaw returns `docker inspect`'s JSON for a container.
func (c *Client) InspectContainerRaw(ctx context.Context, id string) ([]byte, error) {
	res, err := c.api.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	return res.Raw, err
}

// InspectImage returns the image's config.
func (c *Client) InspectImage(ctx context.Context, ref string) (*container.Config, []byte, error) {
	res, err := c.api.ImageInspect(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	raw, _ := json.Marshal(res.InspectResponse)
	var cfg *container.Config
	if res.Config != nil {
		cfg = &container.Config{User: res.Config.User, Env: res.Config.Env, Cmd: res.Config.Cmd, Entrypoint: res.Config.Entrypoint, WorkingDir: res.Config.WorkingDir}
	}
	return cfg, raw, nil
}

// PathExists reports whether a path exists in a container's filesystem.
func (c *Client) PathExists(ctx context.Context, id, p string) (bool, error) {
	_, err := c.api.ContainerStatPath(ctx, id, client.ContainerStatPathOptions{Path: p})
	if err == nil {
		return true, nil
	}
	if cerrdefs.IsNotFound(err) || strings.Contains(err.Error(), "404 Not Found") {
		return false, nil
	}
	return false, err
}

// ReadFile reads a file as the container's own processes see it, by running cat in
// it: unlike the archive API, which resolves bind mounts on the host again (and makes a
// missing source directory), this reads what is really mounted.
func (c *Client) ReadFile(ctx context.Context, id, p string, max int64) ([]byte, error) {
	ex, err := c.api.ExecCreate(ctx, id, client.ExecCreateOptions{Cmd: []string{"cat", "--", p}, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return nil, err
	}
	att, err := c.api.ExecAttach(ctx, ex.ID, client.ExecAttachOptions{})
	if err != nil {
		return nil, err
	}
	defer att.Close()
	var out, errb bytes.Buffer
	if _, err := stdcopy.StdCopy(&limitedWriter{&out, max}, &errb, att.Reader); err != nil {
		return nil, fmt.Errorf("reading %s in %s: %w", p, id, err)
	}
	res, err := c.api.ExecInspect(ctx, ex.ID, client.ExecInspectOptions{})
	if err != nil {
		return nil, err
	}
	if res.ExitCode != 0 {
		return nil, fmt.Errorf("reading %s in %s: exit %d: %s", p, id, res.ExitCode, strings.TrimSpace(errb.String()))
	}
	return out.Bytes(), nil
}

type limitedWriter struct {
	w *bytes.Buffer
	n int64
}

func (l *limitedWriter) Write(b []byte) (int, error) {
	if int64(l.w.Len()+len(b)) > l.n {
		return 0, fmt.Errorf("more than %d bytes", l.n)
	}
	return l.w.Write(b)
}

// RemoveImage removes an image (and untagged parents).
func (c *Client) RemoveImage(ctx context.Context, ref string) error {
	_, err := c.api.ImageRemove(ctx, ref, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	return err
}

// RemoveImageIfUnused removes a tag, and the image when no other tag holds it, unless a
// container (running or not) uses it: the engine refuses that with a conflict, and
// found reports whether the tag existed at all.
func (c *Client) RemoveImageIfUnused(ctx context.Context, ref string) (found bool, err error) {
	_, err = c.api.ImageRemove(ctx, ref, client.ImageRemoveOptions{PruneChildren: true})
	if cerrdefs.IsNotFound(err) {
		return false, nil
	}
	return true, err
}

// ImageTags lists the tags of the images that carry every label in labels.
func (c *Client) ImageTags(ctx context.Context, labels ...string) ([]string, error) {
	f := client.Filters{}
	f.Add("label", labels...)
	res, err := c.api.ImageList(ctx, client.ImageListOptions{Filters: f})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, im := range res.Items {
		out = append(out, im.RepoTags...)
	}
	return out, nil
}

// ImageInfo is what pyship needs to know about an image the engine holds.
type ImageInfo struct {
	ID          string   // the config digest, "sha256:…"
	RepoDigests []string // "name@sha256:…" for images pulled from or pushed to a registry
	DiffIDs     []string // layer diffIDs, bottom first
	OS, Arch    string
	Variant     string
}

// Image inspects an image; found is false when the engine does not have it.
func (c *Client) Image(ctx context.Context, ref string) (info ImageInfo, found bool, err error) {
	res, err := c.api.ImageInspect(ctx, ref)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return ImageInfo{}, false, nil
		}
		return ImageInfo{}, false, err
	}
	return ImageInfo{ID: res.ID, RepoDigests: res.RepoDigests, DiffIDs: res.RootFS.Layers, OS: res.Os, Arch: res.Architecture, Variant: res.Variant}, true, nil
}

// Save streams `docker save` of one image.
func (c *Client) Save(ctx context.Context, ref string) (io.ReadCloser, error) {
	return c.api.ImageSave(ctx, []string{ref})
}

// Load sends a `docker save`-format tar stream to the engine and waits for the result;
// the engine's own error (for example a missing layer) is returned.
func (c *Client) Load(ctx context.Context, r io.Reader) error {
	res, err := c.api.ImageLoad(ctx, r, client.ImageLoadWithQuiet(true))
	if err != nil {
		return err
	}
	defer res.Close()
	dec := json.NewDecoder(res)
	for {
		var msg jsonstream.Message
		if err := dec.Decode(&msg); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("reading the engine's load output: %w", err)
		}
		if msg.Error != nil {
			return errors.New(msg.Error.Message)
		}
	}
}

// Tag names an image.
func (c *Client) Tag(ctx context.Context, src, dst string) error {
	_, err := c.api.ImageTag(ctx, client.ImageTagOptions{Source: src, Target: dst})
	return err
}

// Pull pulls an image from its registry.
func (c *Client) Pull(ctx context.Context, ref string) error {
	res, err := c.api.ImagePull(ctx, ref, client.ImagePullOptions{})
	if err != nil {
		return err
	}
	for msg, err := range res.JSONMessages(ctx) {
		if err != nil {
			return err
		}
		if msg.Error != nil {
			return errors.New(msg.Error.Message)
		}
	}
	return nil
}
