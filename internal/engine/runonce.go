package engine

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// RunOnce runs a one-off container to its end: created with its Files, attached
// (stdout and stderr streamed to the writers, stdin copied in when given), started,
// waited for, and removed whatever happens. It returns the command's exit code; a
// cancelled ctx kills the container.
func (c *Client) RunOnce(ctx context.Context, o CreateOptions, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	id, err := c.create(ctx, o, true)
	if err != nil {
		return -1, err
	}
	defer c.Remove(context.WithoutCancel(ctx), id)
	att, err := c.api.ContainerAttach(ctx, id, client.ContainerAttachOptions{Stream: true, Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		return -1, fmt.Errorf("attaching to %s: %w", o.Name, err)
	}
	defer att.Close()
	// Subscribe to the end before the start, so a command that ends at once is seen.
	cond := container.WaitConditionNextExit
	if o.AutoRemove {
		cond = container.WaitConditionRemoved // as docker run --rm waits
	}
	wait := c.api.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: cond})
	if _, err := c.api.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return -1, fmt.Errorf("starting %s: %w", o.Name, err)
	}
	go func() {
		if stdin != nil {
			io.Copy(att.Conn, stdin)
		}
		att.CloseWrite() // the command sees the end of its input
	}()
	copied := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(stdout, stderr, att.Reader)
		copied <- err
	}()
	select {
	case res := <-wait.Result:
		<-copied // the output the command wrote before it ended
		if res.Error != nil {
			return -1, errors.New(res.Error.Message)
		}
		return int(res.StatusCode), nil
	case err := <-wait.Error:
		if ctx.Err() != nil {
			return -1, ctx.Err()
		}
		return -1, err
	}
}
