//go:build cspipe_bench

package graph_test

import (
	"fmt"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/kernels"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
)

// BenchmarkGemvAVX2Model runs MobileNet V1 1.0@128, V3-Large 1.0@224 and
// ResNet-50 with the AVX2 few-row GEMM driver on ("new") and off ("old",
// kernels.SetGemvAVX2: the 6x16 tiles), alternating run by run on one
// thread's CPU clock, at batch 1 and 4 (a worker's sub-batch at batch 8 on
// two threads), and at batch 8 on two threads by the wall clock; it
// reports the median and quartiles of the per-run ratios old/new
// (switchAB, switchWall). It matters on the AVX2 path only.
// Run with `go test -tags cspipe_bench -run '^$' -bench GemvAVX2Model`.
func BenchmarkGemvAVX2Model(b *testing.B) {
	for _, c := range []modelgen.Config{
		{Arch: "v1", Width: 1, Size: 128, Classes: 1001, Seed: 1},
		{Arch: "v3-large", Width: 1, Size: 224, Classes: 1001, Seed: 1},
		{Arch: "resnet50-v1", Width: 1, Size: 224, Classes: 1001, Seed: 1},
	} {
		m := loadModel(b, c)
		for _, batch := range []int{1, 4} {
			b.Run(fmt.Sprintf("%s/batch%d", c.Arch, batch), func(b *testing.B) { switchAB(b, m, batch, kernels.SetGemvAVX2) })
		}
		b.Run(c.Arch+"/batch8-threads2", func(b *testing.B) { switchWall(b, m, 8, kernels.SetGemvAVX2) })
	}
}
