//go:build cspipe_bench && amd64

package graph_test

import (
	"testing"

	"github.com/cspipe/cspipe/internal/inference/kernels"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
)

// BenchmarkFullKModel runs whole models on one thread at batch 1 with the
// banded driver's one-band products in one K block ("new",
// kernels.SetOneBandFullK) and in L1-sized K blocks ("old"), alternating
// run by run on the thread's CPU clock (switchAB), and reports the median CPU time
// per image of each and the quartiles of the per-run ratios old/new. Run
// with `go test -tags cspipe_bench -run '^$' -bench FullKModel` (V1 alone:
// -bench '^BenchmarkFullKModel$/^v1$'; a bare v1 also matches resnet50-v1).
func BenchmarkFullKModel(b *testing.B) {
	for _, c := range []modelgen.Config{
		{Arch: "v1", Width: 1, Size: 128, Classes: 1001, Seed: 1},
		{Arch: "v2", Width: 1, Size: 224, Classes: 1001, Seed: 1},
		{Arch: "v3-large", Width: 1, Size: 224, Classes: 1001, Seed: 1},
		{Arch: "resnet50-v1", Width: 1, Size: 224, Classes: 1001, Seed: 1},
	} {
		m := loadModel(b, c)
		b.Run(c.Arch+"/batch1", func(b *testing.B) { switchAB(b, m, 1, kernels.SetOneBandFullK) })
	}
}
