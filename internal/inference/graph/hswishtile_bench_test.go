//go:build cspipe_bench

package graph_test

import (
	"fmt"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/kernels"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
)

// BenchmarkHardSwishTileModel runs MobileNet V3-Large and V3-Small 1.0@224
// with the GEMM tiles' HARD_SWISH pass taking a whole tile per call ("new")
// and one HardSwish call per row ("old", kernels.SetHardSwishTile),
// alternating run by run on one thread's CPU clock at batch 1 and 4
// (switchAB). It matters on the AVX2 path only. Run with
// `go test -tags cspipe_bench -run '^$' -bench HardSwishTileModel`.
func BenchmarkHardSwishTileModel(b *testing.B) {
	for _, c := range []modelgen.Config{
		{Arch: "v3-large", Width: 1, Size: 224, Classes: 1001, Seed: 1},
		{Arch: "v3-small", Width: 1, Size: 224, Classes: 1001, Seed: 1},
	} {
		m := loadModel(b, c)
		for _, batch := range []int{1, 4} {
			b.Run(fmt.Sprintf("%s/batch%d", c.Arch, batch), func(b *testing.B) { switchAB(b, m, batch, kernels.SetHardSwishTile) })
		}
	}
}
