package engine

import (
	"context"
	"encoding/json"
	"io"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// Stats is a container's use of the machine, as the engine samples it.
type Stats struct {
	// CPUPercent is its share of one CPU over the engine's sampling interval (about a
	// second): 150 is one and a half CPUs.
	CPUPercent float64 `json:"cpu_percent"`
	// MemoryBytes is what it uses without the page cache it could give back, as
	// docker stats shows it; MemoryLimit its limit (the machine's memory if none).
	MemoryBytes uint64 `json:"memory_bytes"`
	MemoryLimit uint64 `json:"memory_limit"`
}

// Stats samples a running container's CPU and memory. It takes the engine's own
// interval (about a second): callers sample their containers concurrently.
func (c *Client) Stats(ctx context.Context, id string) (Stats, error) {
	res, err := c.api.ContainerStats(ctx, id, client.ContainerStatsOptions{IncludePreviousSample: true})
	if err != nil {
		return Stats{}, err
	}
	defer res.Body.Close()
	var s container.StatsResponse
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&s); err != nil {
		return Stats{}, err
	}
	return statsOf(s), nil
}

// statsOf computes what docker stats shows from one sample and the one before it.
func statsOf(s container.StatsResponse) Stats {
	var out Stats
	cpu := float64(s.CPUStats.CPUUsage.TotalUsage) - float64(s.PreCPUStats.CPUUsage.TotalUsage)
	sys := float64(s.CPUStats.SystemUsage) - float64(s.PreCPUStats.SystemUsage)
	n := float64(s.CPUStats.OnlineCPUs)
	if n == 0 {
		n = float64(len(s.CPUStats.CPUUsage.PercpuUsage))
	}
	if cpu > 0 && sys > 0 {
		out.CPUPercent = cpu / sys * n * 100
	}
	used := s.MemoryStats.Usage
	// cgroup v2 counts the page cache as inactive_file, v1 as total_inactive_file.
	for _, k := range []string{"inactive_file", "total_inactive_file"} {
		if v, ok := s.MemoryStats.Stats[k]; ok && v < used {
			used -= v
			break
		}
	}
	out.MemoryBytes, out.MemoryLimit = used, s.MemoryStats.Limit
	return out
}
