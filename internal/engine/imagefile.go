package engine

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// ImageFiles reads small files of an image's filesystem without running anything from
// the image: it creates a container that is never started (no process, no network),
// reads each file through the archive API, and removes the container. That costs a
// create and a remove (tens of milliseconds), where exporting the image would read all
// its layers and a started container would run the image's code. A file the image
// lacks is left out of the result; one larger than max is an error. labels mark the
// container, so that one a killed command left behind can be found and removed.
func (c *Client) ImageFiles(ctx context.Context, image string, paths []string, max int64, labels map[string]string) (map[string][]byte, error) {
	created, err := c.api.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: &container.Config{
			Image: image, Labels: labels,
			// Never started; an image without a command could not be created at all.
			Entrypoint: []string{"/pyship-never-started"}, Cmd: []string{},
			NetworkDisabled: true,
		},
		HostConfig: &container.HostConfig{NetworkMode: "none"},
	})
	if err != nil {
		return nil, fmt.Errorf("reading files of image %s: %w", image, err)
	}
	defer c.Remove(context.WithoutCancel(ctx), created.ID)
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := c.containerFile(ctx, created.ID, p, max)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s of image %s: %w", p, image, err)
		}
		out[p] = b
	}
	return out, nil
}

// containerFile reads one regular file of a container through the archive API,
// following a symbolic link to where the engine resolves it inside the container.
func (c *Client) containerFile(ctx context.Context, id, p string, max int64) ([]byte, error) {
	for hop := 0; hop < 8; hop++ {
		res, err := c.api.CopyFromContainer(ctx, id, client.CopyFromContainerOptions{SourcePath: p})
		if err != nil {
			if cerrdefs.IsNotFound(err) {
				return nil, fs.ErrNotExist
			}
			return nil, err
		}
		tr := tar.NewReader(res.Content)
		h, err := tr.Next()
		if err != nil {
			res.Content.Close()
			return nil, fmt.Errorf("the engine's archive: %w", err)
		}
		switch {
		case h.Typeflag == tar.TypeSymlink && res.Stat.LinkTarget != "" && res.Stat.LinkTarget != p:
			res.Content.Close()
			p = res.Stat.LinkTarget
			continue
		case h.Typeflag != tar.TypeReg:
			res.Content.Close()
			return nil, fmt.Errorf("not a regular file")
		case h.Size > max:
			res.Content.Close()
			return nil, fmt.Errorf("larger than %d bytes", max)
		}
		b, err := io.ReadAll(io.LimitReader(tr, max))
		res.Content.Close()
		return b, err
	}
	return nil, fmt.Errorf("too many symbolic links")
}
