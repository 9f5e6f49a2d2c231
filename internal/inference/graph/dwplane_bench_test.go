package graph_test

import (
	"fmt"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
)

// BenchmarkDWPlanesModel runs MobileNet V3-Large 1.0@224 and V1 1.0@128 on
// one thread at batch 1 and 4 (a batch-8 worker's share on two threads)
// with the plain depthwise layers that kernels.DWPlanesFaster picks on the
// plane kernels ("planes") and all of them on DepthwiseBlocked
// ("blocked"), alternating run by run (see benchAlternate). V1 has only
// 3x3 windows, which stay on DepthwiseBlocked: its ratio shows the noise.
func BenchmarkDWPlanesModel(b *testing.B) {
	for _, mc := range []modelgen.Config{
		{Arch: "v3-large", Width: 1, Size: 224, Classes: 1001, Seed: 1},
		{Arch: "v1", Width: 1, Size: 128, Classes: 1001, Seed: 1},
	} {
		newer, older := loadTwoPlans(b, mc, func() func() { return graph.SetDWPlanes(false) })
		for _, batch := range []int{1, 4} {
			b.Run(fmt.Sprintf("%s/batch%d", mc.Arch, batch), func(b *testing.B) {
				benchAlternate(b, batch, "planes", newer, "blocked", older, nil)
			})
		}
	}
}
