//go:build cspipe_bench

package graph_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/graph"
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

// BenchmarkDWPadStrideModel runs MobileNet V1 1.0@128 on one thread at
// batch 1 and 4 with the AVX2 depthwise row kernels on padded-stride
// copies for 512-channel multiples ("new", kernels.SetDWPadStride) and on
// the sixteen-channel kernel in place ("old"), alternating run by run on
// the thread's CPU clock (switchAB). Run with
// `go test -tags cspipe_bench -run '^$' -bench DWPadStrideModel`.
func BenchmarkDWPadStrideModel(b *testing.B) {
	m := loadModel(b, modelgen.Config{Arch: "v1", Width: 1, Size: 128, Classes: 1001, Seed: 1})
	for _, batch := range []int{1, 4} {
		b.Run(fmt.Sprintf("v1/batch%d", batch), func(b *testing.B) { switchAB(b, m, batch, kernels.SetDWPadStride) })
	}
}

// BenchmarkDWPadStrideLayers is BenchmarkDWPadStrideModel timing only V1's
// 8x8x512 and 4x4x1024 stride-1 depthwise layers, in the model
// (switchNodesAB).
func BenchmarkDWPadStrideLayers(b *testing.B) {
	m := loadModel(b, modelgen.Config{Arch: "v1", Width: 1, Size: 128, Classes: 1001, Seed: 1})
	match := func(nt graph.NodeTime) bool {
		return nt.Kernel == "depthwise" && len(nt.Shape) == 4 && nt.Shape[3]%512 == 0 && (nt.Shape[1] != 4 || nt.Shape[3] != 512)
	}
	for _, batch := range []int{1, 4} {
		b.Run(fmt.Sprintf("v1/batch%d", batch), func(b *testing.B) { switchNodesAB(b, m, batch, kernels.SetDWPadStride, match) })
	}
}

// BenchmarkDWHotInput runs MobileNet V1 1.0@128 on one thread at batch 1
// and 4 with its plain depthwise layers telling the kernels whether their
// input is likely in L2 ("new", DWParams.Hot) and not ("old"),
// alternating run by run on the thread's CPU clock: the 8x8x512 and
// 4x4x1024 stride-1 layers in the model (switchNodesAB, "layers") and the
// whole model (switchAB, "model"). Run with
// `go test -tags cspipe_bench -run '^$' -bench DWHotInput`.
func BenchmarkDWHotInput(b *testing.B) {
	m := loadModel(b, modelgen.Config{Arch: "v1", Width: 1, Size: 128, Classes: 1001, Seed: 1})
	match := func(nt graph.NodeTime) bool {
		return nt.Kernel == "depthwise" && len(nt.Shape) == 4 && nt.Shape[3]%512 == 0 && (nt.Shape[1] != 4 || nt.Shape[3] != 512)
	}
	for _, batch := range []int{1, 4} {
		b.Run(fmt.Sprintf("v1/layers/batch%d", batch), func(b *testing.B) { switchNodesAB(b, m, batch, graph.SetDWHotInput, match) })
		b.Run(fmt.Sprintf("v1/model/batch%d", batch), func(b *testing.B) { switchAB(b, m, batch, graph.SetDWHotInput) })
	}
}

// BenchmarkDWX16Layers runs MobileNet V1 1.0@128, V3-Large 1.0@224 and
// EfficientNet-Lite0 on one thread at batch 1 and 4 with the AVX2 row
// kernels taking sixteen channels at a time where dwX16 picks them
// ("new", kernels.SetDWX16) and eight everywhere ("old"), timing the plain
// depthwise layers in the model (switchNodesAB). Run with
// `go test -tags cspipe_bench -run '^$' -bench DWX16Layers`.
func BenchmarkDWX16Layers(b *testing.B) {
	for _, c := range []modelgen.Config{
		{Arch: "v1", Width: 1, Size: 128, Classes: 1001, Seed: 1},
		{Arch: "v3-large", Width: 1, Size: 224, Classes: 1001, Seed: 1},
		{Arch: "efficientnet-lite0", Width: 1, Size: 224, Classes: 1001, Seed: 1},
	} {
		m := loadModel(b, c)
		match := func(nt graph.NodeTime) bool { return nt.Kernel == "depthwise" || nt.Kernel == "depthwise(hardswish)" }
		for _, batch := range []int{1, 4} {
			b.Run(fmt.Sprintf("%s/batch%d", c.Arch, batch), func(b *testing.B) { switchNodesAB(b, m, batch, kernels.SetDWX16, match) })
		}
	}
}

// BenchmarkDWChain runs MobileNet V1 1.0@128, V3-Large 1.0@224 and
// EfficientNet-Lite0 on one thread at batch 1 with the AVX2 stride-1 row
// kernels summing each pixel in one FMA chain ("new", kernels.SetDWChain)
// and in three column partials ("old"), alternating run by run on the
// thread's CPU clock: the plain depthwise operators ("plain") and those
// fused with a 1x1 before or after ("pairs") in the model (switchNodesAB),
// and the whole model (switchAB, "model"). Run with
// `go test -tags cspipe_bench -run '^$' -bench DWChain`.
func BenchmarkDWChain(b *testing.B) {
	for _, c := range []modelgen.Config{
		{Arch: "v1", Width: 1, Size: 128, Classes: 1001, Seed: 1},
		{Arch: "v3-large", Width: 1, Size: 224, Classes: 1001, Seed: 1},
		{Arch: "efficientnet-lite0", Width: 1, Size: 224, Classes: 1001, Seed: 1},
	} {
		m := loadModel(b, c)
		for _, l := range []struct {
			name  string
			match func(graph.NodeTime) bool
		}{
			{"plain", func(nt graph.NodeTime) bool {
				return strings.HasPrefix(nt.Kernel, "depthwise") && !strings.Contains(nt.Kernel, "conv")
			}},
			{"pairs", func(nt graph.NodeTime) bool {
				return strings.Contains(nt.Kernel, "conv") && strings.Contains(nt.Kernel, "depthwise")
			}},
		} {
			b.Run(c.Arch+"/"+l.name+"/batch1", func(b *testing.B) { switchNodesAB(b, m, 1, kernels.SetDWChain, l.match) })
		}
		b.Run(c.Arch+"/model/batch1", func(b *testing.B) { switchAB(b, m, 1, kernels.SetDWChain) })
	}
}
