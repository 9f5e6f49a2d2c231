package graph

import (
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
)

// The package's A/B benchmarks (internal and graph_test's model-level
// ones) time their runs with the shared harness, abbench.Alternate;
// ABModelSide is the graph-specific piece: one whole model run as a side.

// ABModelSide is the A/B side name that runs m on the batch images in
// into out, after setup (when not nil).
func ABModelSide(b *testing.B, name string, m *Model, batch int, in, out []float32, setup func()) abbench.Side {
	return abbench.Side{Name: name, Setup: setup, Run: func() {
		if err := m.Run(in, batch, out); err != nil {
			b.Fatal(err)
		}
	}}
}
