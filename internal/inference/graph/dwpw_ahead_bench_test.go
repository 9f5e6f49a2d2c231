//go:build cspipe_bench

package graph_test

import (
	"strings"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
)

// BenchmarkDWPWAheadModel runs MobileNet V1 1.0@128 with the fused pairs'
// GemmPair prefetching the next band's input rows ("new",
// graph.SetDWPWAhead) and not ("old"), alternating run by run: each pair
// on GemmPair (K up to 64) in the model at batch 1 on one thread
// (switchNodesAB), the whole model at batch 1 on one thread by the
// thread's CPU clock (switchAB) and at batch 8 on two threads by the wall
// clock (switchWall). Run with
// `go test -tags cspipe_bench -run '^$' -bench DWPWAheadModel`.
func BenchmarkDWPWAheadModel(b *testing.B) {
	m := loadModel(b, modelgen.Config{Arch: "v1", Width: 1, Size: 128, Classes: 1001, Seed: 1})
	set := func(on bool) { graph.SetDWPWAhead(on) }
	for _, op := range []string{"operator 1 ", "operator 3 "} {
		one := func(nt graph.NodeTime) bool {
			return strings.HasPrefix(nt.Kernel, "depthwise+conv") && strings.HasPrefix(nt.Name, op)
		}
		b.Run(strings.TrimSpace(strings.TrimPrefix(op, "operator "))+"/batch1", func(b *testing.B) { switchNodesAB(b, m, 1, set, one) })
	}
	b.Run("model/batch1", func(b *testing.B) { switchAB(b, m, 1, set) })
	b.Run("model/batch8-threads2", func(b *testing.B) { switchWall(b, m, 8, set) })
}

// BenchmarkDWPWPackedAheadModel runs MobileNet V1 1.0@128 with both of
// the fused pairs' switches on (DepthwisePacked, SetDWPWPacked; the
// prefetch of the next band's rows, SetDWPWAhead: "new") and off ("old"),
// alternating run by run: all the pairs in the model at batch 1 on one
// thread (switchNodesAB), the whole model at batch 1 on one thread by the
// thread's CPU clock (switchAB) and at batch 8 on two threads by the wall
// clock (switchWall). Run with
// `go test -tags cspipe_bench -run '^$' -bench DWPWPackedAheadModel`.
func BenchmarkDWPWPackedAheadModel(b *testing.B) {
	m := loadModel(b, modelgen.Config{Arch: "v1", Width: 1, Size: 128, Classes: 1001, Seed: 1})
	set := func(on bool) { graph.SetDWPWPacked(1, on); graph.SetDWPWPacked(2, on); graph.SetDWPWAhead(on) }
	match := func(nt graph.NodeTime) bool { return strings.HasPrefix(nt.Kernel, "depthwise+conv") }
	b.Run("pairs/batch1", func(b *testing.B) { switchNodesAB(b, m, 1, set, match) })
	b.Run("model/batch1", func(b *testing.B) { switchAB(b, m, 1, set) })
	b.Run("model/batch8-threads2", func(b *testing.B) { switchWall(b, m, 8, set) })
}

// BenchmarkDWPWAheadOthers is BenchmarkDWPWAheadModel's pairs for
// MobileNet V2 1.0@224 and V3-Large 1.0@224 (all their fused pairs at
// batch 1 on one thread, switchNodesAB), whose pairs of K up to 64 the
// switch also moves. Run with
// `go test -tags cspipe_bench -run '^$' -bench DWPWAheadOthers`.
func BenchmarkDWPWAheadOthers(b *testing.B) {
	set := func(on bool) { graph.SetDWPWAhead(on) }
	match := func(nt graph.NodeTime) bool {
		return strings.Contains(nt.Kernel, "+conv") && strings.HasPrefix(nt.Kernel, "depthwise")
	}
	for _, arch := range []string{"v2", "v3-large"} {
		m := loadModel(b, modelgen.Config{Arch: arch, Width: 1, Size: 224, Classes: 1001, Seed: 1})
		b.Run(arch+"/pairs/batch1", func(b *testing.B) { switchNodesAB(b, m, 1, set, match) })
	}
}

// BenchmarkDWPWAheadSmallKModel runs MobileNet V1 1.0@128 with the fused
// pairs on GemmSmallK (K of 128: operators 5, 32x32x128 stride 1, and 7,
// stride 2 to 16x16x256) prefetching the next band's input rows ("new",
// graph.SetDWPWAheadSmallK) and not ("old"), alternating run by run: each
// pair in the model at batch 1 on one thread (switchNodesAB), the whole
// model at batch 1 on one thread by the thread's CPU clock (switchAB) and
// at batch 8 on two threads by the wall clock (switchWall). Run with
// `go test -tags cspipe_bench -run '^$' -bench DWPWAheadSmallKModel`.
func BenchmarkDWPWAheadSmallKModel(b *testing.B) {
	m := loadModel(b, modelgen.Config{Arch: "v1", Width: 1, Size: 128, Classes: 1001, Seed: 1})
	set := func(on bool) { graph.SetDWPWAheadSmallK(on) }
	for _, op := range []string{"operator 5 ", "operator 7 "} {
		one := func(nt graph.NodeTime) bool {
			return strings.HasPrefix(nt.Kernel, "depthwise+conv") && strings.HasPrefix(nt.Name, op)
		}
		b.Run(strings.TrimSpace(strings.TrimPrefix(op, "operator "))+"/batch1", func(b *testing.B) { switchNodesAB(b, m, 1, set, one) })
	}
	b.Run("model/batch1", func(b *testing.B) { switchAB(b, m, 1, set) })
	b.Run("model/batch8-threads2", func(b *testing.B) { switchWall(b, m, 8, set) })
}

// BenchmarkDWPWAheadSmallKOthers is BenchmarkDWPWAheadSmallKModel's pairs
// for MobileNet V2 1.0@224 and V3-Large 1.0@224 (all their fused pairs
// at batch 1 on one thread, switchNodesAB), whose pairs on GemmSmallK
// with whole 16-column panels the switch also moves. Run with
// `go test -tags cspipe_bench -run '^$' -bench DWPWAheadSmallKOthers`.
func BenchmarkDWPWAheadSmallKOthers(b *testing.B) {
	set := func(on bool) { graph.SetDWPWAheadSmallK(on) }
	match := func(nt graph.NodeTime) bool {
		return strings.Contains(nt.Kernel, "+conv") && strings.HasPrefix(nt.Kernel, "depthwise")
	}
	for _, arch := range []string{"v2", "v3-large"} {
		m := loadModel(b, modelgen.Config{Arch: arch, Width: 1, Size: 224, Classes: 1001, Seed: 1})
		b.Run(arch+"/pairs/batch1", func(b *testing.B) { switchNodesAB(b, m, 1, set, match) })
	}
}
