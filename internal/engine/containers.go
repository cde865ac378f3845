package engine

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// CreateOptions describe a long-running container of the platform.
type CreateOptions struct {
	Name       string
	Image      string
	Entrypoint []string
	Cmd        []string
	Env        []string
	Labels     map[string]string
	User       string
	Port       int // container port published on 127.0.0.1:HostPort
	HostPort   int // fixed, so the address survives restarts of the container and the engine
	// HostNetwork shares the host's network namespace (the gateway: it listens on and
	// dials the host's loopback).
	HostNetwork bool
	// Network and IP attach the container to a network of EnsureNetwork's with a
	// fixed address (kept across restarts of the container and of the engine).
	Network     string
	IP          netip.Addr
	Restart     string   // "always", "unless-stopped", "no"
	Binds       []string // host:container[:ro]
	StopTimeout int      // seconds between SIGTERM and SIGKILL
	// Files are put into the container's own filesystem (its writable layer) after it
	// is created and before it starts: they last as long as the container, through
	// every restart, and go with it.
	Files []Entry
	// AutoRemove has the engine remove the container when it ends, even when the
	// pyship that started it was killed.
	AutoRemove bool
}

// Create creates a container, puts its Files into it, and starts it.
func (c *Client) Create(ctx context.Context, o CreateOptions) (string, error) {
	id, err := c.create(ctx, o, false)
	if err != nil {
		return "", err
	}
	if _, err := c.api.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		c.Remove(context.WithoutCancel(ctx), id)
		return "", fmt.Errorf("starting container %s: %w", o.Name, err)
	}
	return id, nil
}

// create creates a container and puts its Files into it; stdin keeps its standard
// input open for an attached client.
func (c *Client) create(ctx context.Context, o CreateOptions, stdin bool) (string, error) {
	cfg := &container.Config{Image: o.Image, Entrypoint: o.Entrypoint, Cmd: o.Cmd, Env: o.Env, Labels: o.Labels, User: o.User,
		AttachStdout: stdin, AttachStderr: stdin, AttachStdin: stdin, OpenStdin: stdin, StdinOnce: stdin}
	if o.StopTimeout > 0 {
		cfg.StopTimeout = &o.StopTimeout
	}
	hc := &container.HostConfig{Binds: o.Binds, AutoRemove: o.AutoRemove}
	if o.Restart != "" {
		hc.RestartPolicy = container.RestartPolicy{Name: container.RestartPolicyMode(o.Restart)}
	}
	if o.HostNetwork {
		hc.NetworkMode = "host"
	}
	if o.Port > 0 {
		p, err := network.ParsePort(fmt.Sprintf("%d/tcp", o.Port))
		if err != nil {
			return "", err
		}
		cfg.ExposedPorts = network.PortSet{p: {}}
		hp := ""
		if o.HostPort > 0 {
			hp = strconv.Itoa(o.HostPort)
		}
		hc.PortBindings = network.PortMap{p: {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: hp}}}
	}
	var nc *network.NetworkingConfig
	if o.Network != "" {
		hc.NetworkMode = container.NetworkMode(o.Network)
		es := &network.EndpointSettings{}
		if o.IP.IsValid() {
			es.IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: o.IP}
		}
		nc = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{o.Network: es}}
	}
	created, err := c.api.ContainerCreate(ctx, client.ContainerCreateOptions{Config: cfg, HostConfig: hc, NetworkingConfig: nc, Name: o.Name})
	if err != nil {
		return "", fmt.Errorf("creating container %s: %w", o.Name, err)
	}
	if len(o.Files) > 0 {
		if err := c.putEntries(ctx, created.ID, o.Files); err != nil {
			c.Remove(context.WithoutCancel(ctx), created.ID)
			return "", fmt.Errorf("putting files into container %s: %w", o.Name, err)
		}
	}
	return created.ID, nil
}

// State is a container's current state.
type State struct {
	ID, Name     string
	Image        string
	Labels       map[string]string
	Running      bool
	Restarting   bool
	Status       string
	ExitCode     int
	OOMKilled    bool
	Pid          int
	RestartCount int
	Error        string
}

// Inspect reads a container's state; found is false when it does not exist.
func (c *Client) Inspect(ctx context.Context, id string) (State, bool, error) {
	res, err := c.api.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return State{}, false, nil
		}
		return State{}, false, err
	}
	ct := res.Container
	s := State{ID: ct.ID, Name: ct.Name, Image: ct.Image, RestartCount: ct.RestartCount}
	if ct.Config != nil {
		s.Labels = ct.Config.Labels
	}
	if st := ct.State; st != nil {
		s.Running, s.Restarting, s.Status, s.ExitCode, s.OOMKilled, s.Pid, s.Error = st.Running, st.Restarting, string(st.Status), st.ExitCode, st.OOMKilled, st.Pid, st.Error
	}
	return s, true, nil
}

// Summary is a listed container.
type Summary struct {
	ID      string
	Name    string
	Image   string
	Labels  map[string]string
	State   string
	Created time.Time
}

// List lists containers (running or not) that carry every label in labels ("k=v" or "k").
func (c *Client) List(ctx context.Context, labels ...string) ([]Summary, error) {
	f := client.Filters{}
	f.Add("label", labels...)
	res, err := c.api.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, err
	}
	var out []Summary
	for _, s := range res.Items {
		name := ""
		if len(s.Names) > 0 {
			name = s.Names[0][1:]
		}
		out = append(out, Summary{ID: s.ID, Name: name, Image: s.ImageID, Labels: s.Labels, State: string(s.State), Created: time.Unix(s.Created, 0).UTC()})
	}
	return out, nil
}

// Stop sends SIGTERM and waits up to timeout seconds before SIGKILL.
func (c *Client) Stop(ctx context.Context, id string, timeout int) error {
	_, err := c.api.ContainerStop(ctx, id, client.ContainerStopOptions{Timeout: &timeout})
	if err != nil && cerrdefs.IsNotFound(err) {
		return nil
	}
	return err
}

// StreamLogs copies a container's stdout and stderr (demultiplexed) to w, from since
// (RFC 3339 or a duration like "10m"), the last tail lines ("all" for every line), with
// the engine's timestamps, following new output when follow is set.
func (c *Client) StreamLogs(ctx context.Context, id string, follow bool, since, tail string, w io.Writer) error {
	rc, err := c.api.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: follow, Since: since, Tail: tail, Timestamps: true})
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = stdcopy.StdCopy(w, w, rc)
	return err
}

// Restart restarts a container.
func (c *Client) Restart(ctx context.Context, id string) error {
	t := 10
	_, err := c.api.ContainerRestart(ctx, id, client.ContainerRestartOptions{Timeout: &t})
	return err
}

// HostPort is the loopback port the engine published a container port on.
func (c *Client) HostPort(ctx context.Context, id string, port int) (int, error) {
	res, err := c.api.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return 0, err
	}
	p, err := network.ParsePort(fmt.Sprintf("%d/tcp", port))
	if err != nil || res.Container.NetworkSettings == nil {
		return 0, err
	}
	for _, b := range res.Container.NetworkSettings.Ports[p] {
		if n, err := strconv.Atoi(b.HostPort); err == nil {
			return n, nil
		}
	}
	return 0, fmt.Errorf("port %d is not published", port)
}
