package graph_test

import (
	"fmt"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
)

// BenchmarkSERowsModel runs MobileNet V3-Large and V3-Small 1.0@224 (whose
// squeeze-excite blocks pool and scale with MEAN and MUL) with the
// squeeze-excite row kernels on ("new") and off ("old", graph.SetSERows:
// one Add or Mul call per pixel), alternating run by run on one thread's
// CPU clock at batch 1 and 4 (switchAB: median time per image of each, and
// the quartiles of the per-run ratios old/new).
func BenchmarkSERowsModel(b *testing.B) {
	for _, c := range []modelgen.Config{
		{Arch: "v3-large", Width: 1, Size: 224, Classes: 1001, Seed: 1},
		{Arch: "v3-small", Width: 1, Size: 224, Classes: 1001, Seed: 1},
	} {
		m := loadModel(b, c)
		for _, batch := range []int{1, 4} {
			b.Run(fmt.Sprintf("%s/batch%d", c.Arch, batch), func(b *testing.B) {
				switchAB(b, m, batch, func(on bool) { graph.SetSERows(on) })
			})
		}
	}
}
