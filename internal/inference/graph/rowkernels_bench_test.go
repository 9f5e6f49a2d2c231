//go:build cspipe_bench

package graph_test

import (
	"fmt"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/kernels"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
)

// BenchmarkRowKernelsModel runs MobileNet V1 1.0@128, V2 1.0@224 and
// V3-Large 1.0@224 with the row kernels on ("new") and off ("old",
// kernels.SetRowKernels), alternating run by run so both see the same
// load: on one thread at batch 1 and 4 (a worker's sub-batch at batch 8 on
// two threads), reporting each one's median thread CPU time per image and
// the median and quartiles of the per-run ratios; and at batch 8 on two
// threads, the ratios of wall time. Run with
// `go test -tags cspipe_bench -run '^$' -bench RowKernelsModel`.
func BenchmarkRowKernelsModel(b *testing.B) {
	for _, c := range []modelgen.Config{
		{Arch: "v1", Width: 1, Size: 128, Classes: 1001, Seed: 1},
		{Arch: "v2", Width: 1, Size: 224, Classes: 1001, Seed: 1},
		{Arch: "v3-large", Width: 1, Size: 224, Classes: 1001, Seed: 1},
	} {
		m := loadModel(b, c)
		for _, batch := range []int{1, 4} {
			b.Run(fmt.Sprintf("%s/batch%d", c.Arch, batch), func(b *testing.B) { switchAB(b, m, batch, kernels.SetRowKernels) })
		}
		b.Run(c.Arch+"/batch8-threads2", func(b *testing.B) { switchWall(b, m, 8, kernels.SetRowKernels) })
	}
}

// switchWall is switchAB at batch images on two threads, timed by the wall
// clock (the helper thread's CPU time is not the caller's); it reports the
// quartiles of the per-pair ratios old/new alone.
func switchWall(b *testing.B, m *graph.Model, batch int, set func(bool)) {
	defer set(true)
	m.SetThreads(2)
	t := abbench.Alternate(b, abbench.Wall, switchSides(b, m, batch, set, "new", "old")...)
	abbench.ReportQuartiles(b, t.Ratios(0, 1, 0), "speedup")
}
