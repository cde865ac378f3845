package wheel

import (
	"runtime"
	"strings"
	"testing"
)

// Continuation lines are joined in linear time: appending each to the value copied it
// every time, and a METADATA of many short continuation lines took minutes.
func TestMetadataContinuationIsLinear(t *testing.T) {
	meta := "Name: a\nVersion: 1\nSummary: x\n" + strings.Repeat(" y\n", 100_000)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m, err := ParseMetadata("METADATA", []byte(meta))
	runtime.ReadMemStats(&after)
	if err != nil || m.Name != "a" {
		t.Fatal(m, err)
	}
	// Linear: a few times the input. Quadratic: 100,000 copies of up to 200 kB.
	if got := after.TotalAlloc - before.TotalAlloc; got > 40*uint64(len(meta)) {
		t.Errorf("parsing %d bytes allocated %d", len(meta), got)
	}
}
