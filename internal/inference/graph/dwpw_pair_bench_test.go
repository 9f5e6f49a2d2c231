//go:build cspipe_bench

package graph_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
)

// BenchmarkDWPWPairModel runs MobileNet V1 1.0@128, V2 1.0@224 and
// V3-Large 1.0@224 with the fused pairs' 1x1 convolutions on
// kernels.GemmPair ("new", graph.SetDWPWPair) and on GemmSmallK/Gemm
// ("old"), alternating run by run: the pairs alone in the model at batch 1
// on one thread (switchNodesAB, "pairs"), the whole model at batch 1 on
// one thread by the thread's CPU clock (switchAB, "model") and, for V1,
// at batch 8 on two threads by the wall clock (switchWall). Run with
// `go test -tags cspipe_bench -run '^$' -bench DWPWPairModel`.
func BenchmarkDWPWPairModel(b *testing.B) {
	set := func(on bool) { graph.SetDWPWPair(on) }
	match := func(nt graph.NodeTime) bool { return strings.HasPrefix(nt.Kernel, "depthwise+conv") }
	for _, c := range []modelgen.Config{
		{Arch: "v1", Width: 1, Size: 128, Classes: 1001, Seed: 1},
		{Arch: "v2", Width: 1, Size: 224, Classes: 1001, Seed: 1},
		{Arch: "v3-large", Width: 1, Size: 224, Classes: 1001, Seed: 1},
	} {
		m := loadModel(b, c)
		b.Run(fmt.Sprintf("%s/pairs/batch1", c.Arch), func(b *testing.B) { switchNodesAB(b, m, 1, set, match) })
		if c.Arch == "v1" {
			// Each pair apart, by its output's height and channels.
			for _, hc := range [][2]int{{64, 64}, {32, 128}, {16, 256}} {
				one := func(nt graph.NodeTime) bool {
					return match(nt) && len(nt.Shape) == 4 && nt.Shape[1] == hc[0] && nt.Shape[3] == hc[1]
				}
				b.Run(fmt.Sprintf("%s/pairs%dx%d/batch1", c.Arch, hc[0], hc[1]), func(b *testing.B) { switchNodesAB(b, m, 1, set, one) })
			}
		}
		b.Run(fmt.Sprintf("%s/model/batch1", c.Arch), func(b *testing.B) { switchAB(b, m, 1, set) })
		if c.Arch == "v1" {
			b.Run(fmt.Sprintf("%s/model/batch8-threads2", c.Arch), func(b *testing.B) { switchWall(b, m, 8, set) })
		}
	}
}
