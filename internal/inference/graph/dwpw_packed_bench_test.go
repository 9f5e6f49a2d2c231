//go:build cspipe_bench

package graph_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
)

// BenchmarkDWPWPackedModel runs MobileNet V1 1.0@128 with the fused
// pairs' 3x3 depthwise on kernels.DepthwisePacked ("new",
// graph.SetDWPWPacked) and on DepthwiseBlocked ("old"), at stride 1 and 2
// across apart, alternating run by run: each pair in the model at batch 1
// on one thread (switchNodesAB), the whole model at batch 1 on one thread
// by the thread's CPU clock (switchAB) and at batch 8 on two threads by
// the wall clock (switchWall). Run with
// `go test -tags cspipe_bench -run '^$' -bench DWPWPackedModel`.
func BenchmarkDWPWPackedModel(b *testing.B) {
	m := loadModel(b, modelgen.Config{Arch: "v1", Width: 1, Size: 128, Classes: 1001, Seed: 1})
	for _, sw := range []int{2, 1} {
		set := func(on bool) { graph.SetDWPWPacked(sw, on) }
		pairs := map[int][]string{1: {"operator 1 ", "operator 5 "}, 2: {"operator 3 ", "operator 7 "}}[sw]
		for _, op := range pairs {
			one := func(nt graph.NodeTime) bool {
				return strings.HasPrefix(nt.Kernel, "depthwise+conv") && strings.HasPrefix(nt.Name, op)
			}
			b.Run(fmt.Sprintf("s%d/%s/batch1", sw, strings.TrimSpace(strings.TrimPrefix(op, "operator "))), func(b *testing.B) { switchNodesAB(b, m, 1, set, one) })
		}
		b.Run(fmt.Sprintf("s%d/model/batch1", sw), func(b *testing.B) { switchAB(b, m, 1, set) })
		b.Run(fmt.Sprintf("s%d/model/batch8-threads2", sw), func(b *testing.B) { switchWall(b, m, 8, set) })
	}
}

// BenchmarkDWPWPackedOthers is BenchmarkDWPWPackedModel's pairs on both
// strides at once for MobileNet V2 1.0@224 and V3-Large 1.0@224, whose
// pairs' depthwise (after an expansion in V2's blocks, with HARD_SWISH in
// V3's) the switch also moves: all the fused pairs in the model at batch
// 1 on one thread (switchNodesAB). Run with
// `go test -tags cspipe_bench -run '^$' -bench DWPWPackedOthers`.
func BenchmarkDWPWPackedOthers(b *testing.B) {
	set := func(on bool) { graph.SetDWPWPacked(1, on); graph.SetDWPWPacked(2, on) }
	match := func(nt graph.NodeTime) bool {
		return strings.Contains(nt.Kernel, "+conv") && strings.HasPrefix(nt.Kernel, "depthwise")
	}
	for _, arch := range []string{"v2", "v3-large"} {
		m := loadModel(b, modelgen.Config{Arch: arch, Width: 1, Size: 224, Classes: 1001, Seed: 1})
		b.Run(arch+"/pairs/batch1", func(b *testing.B) { switchNodesAB(b, m, 1, set, match) })
	}
}
