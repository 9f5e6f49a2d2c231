package graph_test

import (
	"fmt"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/kernels"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
)

// BenchmarkSmallKModel runs MobileNet V1 and V2 1.0@128 with the small-K
// GEMM (kernels.GemmSmallK) on ("new") and off ("old": Gemm, GemmAct) in
// the fused depthwise+1x1 pairs ("dwpw"), the plain 1x1 convolutions
// ("conv1x1") or both, or the pairs' largest K on it 128 against 64
// ("dwpwK128"), or pairs of larger K whose weights are at most 64K floats
// on it against not ("dwpwKN64K"), alternating run by run on one thread (switchAB), at
// batch 1 and 8; then V3-Large, EfficientNet-Lite0, ResNet-50 and V2 at
// 224 with the switches of its epilogues (below). Run with
// `go test -run '^$' -bench SmallKModel ./internal/inference/graph`.
func BenchmarkSmallKModel(b *testing.B) {
	for _, c := range []modelgen.Config{
		{Arch: "v1", Width: 1, Size: 128, Classes: 1001, Seed: 1},
		{Arch: "v2", Width: 1, Size: 128, Classes: 1001, Seed: 1},
	} {
		m := loadModel(b, c)
		for _, batch := range []int{1, 8} {
			for _, sw := range []struct {
				name string
				set  func(bool)
			}{
				{"dwpw", func(on bool) { graph.SetSmallK(on) }},
				{"conv1x1", func(on bool) { graph.SetConvSmallK(on) }},
				{"both", func(on bool) { graph.SetSmallK(on); graph.SetConvSmallK(on) }},
				// The pairs' threshold: K up to 128 ("new") or 64 ("old").
				{"dwpwK128", func(on bool) {
					if on {
						graph.SetSmallKMaxK(128, 64)
					} else {
						graph.SetSmallKMaxK(64, 64)
					}
					graph.SetSmallKMaxKN(0)
				}},
				// Larger K when the weights are at most 64K floats.
				{"dwpwKN64K", func(on bool) {
					if on {
						graph.SetSmallKMaxKN(1 << 16)
					} else {
						graph.SetSmallKMaxKN(0)
					}
				}},
			} {
				b.Run(fmt.Sprintf("%s/%s/batch%d", c.Arch, sw.name, batch), func(b *testing.B) { switchAB(b, m, batch, sw.set) })
			}
		}
	}
	// The epilogues (HARD_SWISH, residual) on the small-K GEMM, on the
	// models with them: "all" the epilogues and K up to convSmallKMaxK
	// against neither, "epilogue" the plain 1x1 convolutions with
	// HARD_SWISH or a residual on it against not, "convK<K>" plain 1x1
	// convolutions of K up to <K> on it against 64 (the epilogues on),
	// "ahead" the products reading later weights ahead on it against
	// GemmAct. Each runs from the package's settings and puts them back.
	dwpwK, convK := graph.SmallKMaxK()
	for _, c := range []modelgen.Config{
		{Arch: "v3-large", Width: 1, Size: 224, Classes: 1001, Seed: 1},
		{Arch: "efficientnet-lite0", Width: 1, Size: 224, Classes: 1001, Seed: 1},
		{Arch: "resnet50-v1", Width: 1, Size: 224, Classes: 1001, Seed: 1},
		{Arch: "v2", Width: 1, Size: 224, Classes: 1001, Seed: 1}, // residual pairs, bands
	} {
		m := loadModel(b, c)
		convKSwitch := func(k int) func(bool) {
			return func(on bool) {
				if on {
					graph.SetSmallKMaxK(dwpwK, k)
				} else {
					graph.SetSmallKMaxK(dwpwK, 64)
				}
			}
		}
		for _, batch := range []int{1, 8} {
			for _, sw := range []struct {
				name string
				set  func(bool)
			}{
				// Everything this path adds against the plain small-K
				// GEMM up to K=64 without epilogues.
				{"all", func(on bool) {
					graph.SetSmallKEpilogue(on)
					convKSwitch(convK)(on)
				}},
				{"epilogue", func(on bool) { graph.SetSmallKEpilogue(on) }},
				{"convK96", convKSwitch(96)},
				{"convK128", convKSwitch(128)},
				{"convK160", convKSwitch(160)},
				// GEMMs that read later weights ahead left to GemmAct
				// ("new") or on the small-K kernels ("old").
				{"ahead", func(on bool) { kernels.SetSmallKAhead(on) }},
			} {
				b.Run(fmt.Sprintf("%s/%s/batch%d", c.Arch, sw.name, batch), func(b *testing.B) {
					defer func() {
						graph.SetSmallKMaxK(dwpwK, convK)
						graph.SetSmallKEpilogue(true)
					}()
					defer kernels.SetSmallKAhead(true)
					switchAB(b, m, batch, sw.set)
				})
			}
		}
	}
}
