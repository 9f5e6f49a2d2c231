//go:build cspipe_bench

package graph_test

import (
	"fmt"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/kernels"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
)

// BenchmarkDepthwiseRowsAVX2Model runs MobileNet V1 1.0@128, V3-Large
// 1.0@224 and EfficientNet-Lite0 with the AVX2 3x3 depthwise row kernels
// on ("new") and off ("old", kernels.SetDepthwiseRowsAVX2), alternating
// run by run on one thread at batch 1 and 4 (a worker's sub-batch at batch
// 8 on two threads), reporting each one's median thread CPU time per image
// and the quartiles of the per-run ratios. Off an AVX2-only CPU both sides
// run the same kernels. Run with
// `go test -tags cspipe_bench -run '^$' -bench DepthwiseRowsAVX2Model`.
func BenchmarkDepthwiseRowsAVX2Model(b *testing.B) {
	for _, c := range []modelgen.Config{
		{Arch: "v1", Width: 1, Size: 128, Classes: 1001, Seed: 1},
		{Arch: "v3-large", Width: 1, Size: 224, Classes: 1001, Seed: 1},
		{Arch: "efficientnet-lite0", Width: 1, Size: 224, Classes: 1001, Seed: 1},
	} {
		m := loadModel(b, c)
		for _, batch := range []int{1, 4} {
			b.Run(fmt.Sprintf("%s/batch%d", c.Arch, batch), func(b *testing.B) { switchAB(b, m, batch, kernels.SetDepthwiseRowsAVX2) })
		}
	}
}
