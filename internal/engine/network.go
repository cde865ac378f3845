package engine

import (
	"context"
	"fmt"
	"net/netip"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
)

// EnsureNetwork returns the subnet of a bridge network of this name, creating it when
// it does not exist. Its subnet is fixed at creation (the engine's own choice from its
// address pools, then pinned), because only a network with a configured subnet lets a
// container keep a fixed address: the engine hands out addresses again on every start,
// and after an engine restart two replicas can swap theirs.
func (c *Client) EnsureNetwork(ctx context.Context, name string, labels map[string]string) (netip.Prefix, error) {
	if p, ok, err := c.networkSubnet(ctx, name); err != nil || ok {
		return p, err
	}
	// Let the engine pick a free pool, read it, then create the network again with
	// that subnet configured.
	probe := name + "-probe"
	c.api.NetworkRemove(ctx, probe, client.NetworkRemoveOptions{}) // left by a killed pyship
	if _, err := c.api.NetworkCreate(ctx, probe, client.NetworkCreateOptions{Driver: "bridge", Labels: labels}); err != nil {
		return netip.Prefix{}, fmt.Errorf("creating network %s: %w", name, err)
	}
	sub, _, err := c.networkSubnet(ctx, probe)
	c.api.NetworkRemove(context.WithoutCancel(ctx), probe, client.NetworkRemoveOptions{})
	if err != nil {
		return netip.Prefix{}, err
	}
	if !sub.IsValid() {
		return netip.Prefix{}, fmt.Errorf("network %s: the engine gave no IPv4 subnet", probe)
	}
	_, err = c.api.NetworkCreate(ctx, name, client.NetworkCreateOptions{
		Driver: "bridge",
		Labels: labels,
		IPAM:   &network.IPAM{Config: []network.IPAMConfig{{Subnet: sub}}},
	})
	if err != nil && cerrdefs.IsConflict(err) { // another pyship made it meanwhile
		p, _, err := c.networkSubnet(ctx, name)
		return p, err
	}
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("creating network %s (%s): %w", name, sub, err)
	}
	return sub, nil
}

// networkSubnet is a network's configured IPv4 subnet (invalid when it has none).
func (c *Client) networkSubnet(ctx context.Context, name string) (netip.Prefix, bool, error) {
	res, err := c.api.NetworkInspect(ctx, name, client.NetworkInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return netip.Prefix{}, false, nil
	}
	if err != nil {
		return netip.Prefix{}, false, err
	}
	for _, cfg := range res.Network.IPAM.Config {
		if cfg.Subnet.Addr().Is4() {
			return cfg.Subnet, true, nil
		}
	}
	return netip.Prefix{}, true, nil
}
