//go:build cspipe_bench && amd64

package graph_test

import (
	"fmt"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/kernels"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
)

// BenchmarkAVX2GemmModel runs whole models on one thread with the AVX2
// GEMM driver ("new", kernels.SetAVX2Blocked) and the panel-major 6×16
// loop ("old"), alternating run by run on the thread's CPU clock
// (switchAB), at batch 1 and 8. Only meaningful on the AVX2 path (a CPU
// without AVX-512, or CSPIPE_KERNELS=avx2). Run with `go test -tags
// cspipe_bench -run '^$' -bench AVX2GemmModel`.
func BenchmarkAVX2GemmModel(b *testing.B) {
	if kernels.Path() != "avx2" {
		b.Skip("not the AVX2 path")
	}
	for _, c := range []modelgen.Config{
		{Arch: "v1", Width: 1, Size: 128, Classes: 1001, Seed: 1},
		{Arch: "v3-large", Width: 1, Size: 224, Classes: 1001, Seed: 1},
		{Arch: "resnet50-v1", Width: 1, Size: 224, Classes: 1001, Seed: 1},
	} {
		m := loadModel(b, c)
		for _, batch := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/batch%d", c.Arch, batch), func(b *testing.B) { switchAB(b, m, batch, kernels.SetAVX2Blocked) })
		}
	}
}
