package engine

import (
	"testing"

	"github.com/moby/moby/api/types/container"
)

// The figures docker stats shows for the same sample: CPU as a share of one CPU over
// the interval, memory without the page cache.
func TestStatsOf(t *testing.T) {
	var s container.StatsResponse
	s.PreCPUStats.CPUUsage.TotalUsage, s.CPUStats.CPUUsage.TotalUsage = 1_000_000_000, 1_500_000_000
	s.PreCPUStats.SystemUsage, s.CPUStats.SystemUsage = 10_000_000_000, 12_000_000_000
	s.CPUStats.OnlineCPUs = 2
	s.MemoryStats.Usage, s.MemoryStats.Limit = 100<<20, 1<<30
	s.MemoryStats.Stats = map[string]uint64{"inactive_file": 30 << 20}
	got := statsOf(s)
	if got.CPUPercent != 50 || got.MemoryBytes != 70<<20 || got.MemoryLimit != 1<<30 {
		t.Errorf("statsOf = %+v", got)
	}
	if got := statsOf(container.StatsResponse{}); got.CPUPercent != 0 || got.MemoryBytes != 0 {
		t.Errorf("an empty sample: %+v", got)
	}
}
