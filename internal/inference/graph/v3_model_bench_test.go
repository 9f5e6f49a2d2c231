package graph_test

import (
	"fmt"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
)

// BenchmarkV3LargeStemExpand runs MobileNet V3-Large 1.0@224 on one thread
// at batch 1 and 4 (a batch-8 worker's share on two threads) with the
// 16-channel stem read in place and the fused expansion's bands on
// DepthwiseBlocked ("new"), and with the column-window stem and Depthwise
// for the bands ("old"), alternating run by run so that both see the same
// load; it reports each one's median time per image and the median of the
// per-pair ratios (old over new).
func BenchmarkV3LargeStemExpand(b *testing.B) {
	newer, older := loadTwoPlans(b, modelgen.Config{Arch: "v3-large", Width: 1, Size: 224, Classes: 1001, Seed: 1},
		func() func() { return graph.SetStemRows(false) })
	defer graph.SetExpandBlocked(true)()
	for _, batch := range []int{1, 4} {
		b.Run(fmt.Sprintf("batch%d", batch), func(b *testing.B) {
			benchAlternate(b, batch, "new", newer, "old", older, func(m *graph.Model) { graph.SetExpandBlocked(m == newer) })
		})
	}
}
