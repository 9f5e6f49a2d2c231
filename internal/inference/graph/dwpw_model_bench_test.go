//go:build cspipe_bench

package graph_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/kernels"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
)

// BenchmarkDWPWHSRowsModel runs MobileNet V3-Large 1.0@224 and
// EfficientNet-Lite0 on one thread at batch 1 and 4 (a batch-8 worker's
// share on two threads) with the fused pairs' HARD_SWISH applied as the
// depthwise stores each row ("new") and in a pass over the band ("old"),
// alternating run by run on the thread's CPU clock (switchAB). Lite0 has
// no HARD_SWISH: its ratio shows the noise. Run with
// `go test -tags cspipe_bench -run '^$' -bench DWPWHSRowsModel`.
func BenchmarkDWPWHSRowsModel(b *testing.B) {
	for _, c := range []modelgen.Config{
		{Arch: "v3-large", Width: 1, Size: 224, Classes: 1001, Seed: 1},
		{Arch: "efficientnet-lite0", Width: 1, Size: 224, Classes: 1001, Seed: 1},
	} {
		m := loadModel(b, c)
		for _, batch := range []int{1, 4} {
			b.Run(fmt.Sprintf("%s/batch%d", c.Arch, batch), func(b *testing.B) {
				switchAB(b, m, batch, func(on bool) { graph.SetDWPWHSRows(on) })
			})
		}
	}
}

// BenchmarkDWPWBandsModel plans MobileNet V1 1.0@128, V3-Large 1.0@224
// and EfficientNet-Lite0 with the fused pairs' bands sized by default
// ("new") and by half of L1, the default before fusedBandDefault ("old"),
// and runs the two plans on one thread at batch 1 and 4, alternating run
// by run on the thread's CPU clock; it reports each one's median CPU time
// per image and the quartiles of the per-pair ratios old/new. Run with
// `go test -tags cspipe_bench -run '^$' -bench DWPWBandsModel`.
func BenchmarkDWPWBandsModel(b *testing.B) {
	for _, c := range []modelgen.Config{
		{Arch: "v1", Width: 1, Size: 128, Classes: 1001, Seed: 1},
		{Arch: "v3-large", Width: 1, Size: 224, Classes: 1001, Seed: 1},
		{Arch: "efficientnet-lite0", Width: 1, Size: 224, Classes: 1001, Seed: 1},
	} {
		newer, older := loadTwoPlans(b, c, func() func() { return graph.SetFusedBands(kernels.CacheL1()/2, 96) })
		for _, batch := range []int{1, 4} {
			b.Run(fmt.Sprintf("%s/batch%d", c.Arch, batch), func(b *testing.B) {
				in, out := abInput(newer, batch), make([]float32, batch*newer.NumClasses())
				newer.SetThreads(1)
				older.SetThreads(1)
				t := abbench.Alternate(b, abbench.ThreadCPU,
					graph.ABModelSide(b, "new", newer, batch, in, out, nil),
					graph.ABModelSide(b, "old", older, batch, in, out, nil))
				t.Report(b, 0, abbench.Med, 1e3/float64(batch), "%s-cpu-ms/img")
				abbench.ReportQuartiles(b, t.Ratios(0, 1, 0), "speedup")
			})
		}
	}
}

// BenchmarkDWPWEvenRowsModel runs MobileNet V1 1.0@128, V3-Large 1.0@224
// and EfficientNet-Lite0 on two threads at batch 1 and 8 by the wall
// clock with the fused pairs' rows split evenly between the threads
// ("new") and by whole bands ("old"), alternating run by run
// (switchWall), and reports the quartiles of the per-pair ratios old/new.
// Run with `go test -tags cspipe_bench -run '^$' -bench DWPWEvenRowsModel`.
func BenchmarkDWPWEvenRowsModel(b *testing.B) {
	for _, c := range []modelgen.Config{
		{Arch: "v1", Width: 1, Size: 128, Classes: 1001, Seed: 1},
		{Arch: "v3-large", Width: 1, Size: 224, Classes: 1001, Seed: 1},
		{Arch: "efficientnet-lite0", Width: 1, Size: 224, Classes: 1001, Seed: 1},
	} {
		m := loadModel(b, c)
		for _, batch := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/batch%d", c.Arch, batch), func(b *testing.B) {
				switchWall(b, m, batch, func(on bool) { graph.SetDWPWEvenRows(on) })
			})
		}
	}
}

// BenchmarkDWPWPlanesModel runs EfficientNet-Lite0 and V3-Large 1.0@224
// on one thread at batch 1 and 4 with the fused pairs' 5x5 depthwise on
// the plane kernels ("new", dwpwPlanes) and on DepthwiseBlocked ("old"),
// alternating run by run on the thread's CPU clock: the fused pairs in
// the model (switchNodesAB, "pairs") and the whole model (switchAB,
// "model"). Run with
// `go test -tags cspipe_bench -run '^$' -bench DWPWPlanesModel`.
func BenchmarkDWPWPlanesModel(b *testing.B) {
	for _, c := range []modelgen.Config{
		{Arch: "efficientnet-lite0", Width: 1, Size: 224, Classes: 1001, Seed: 1},
		{Arch: "v3-large", Width: 1, Size: 224, Classes: 1001, Seed: 1},
	} {
		m := loadModel(b, c)
		match := func(nt graph.NodeTime) bool { return strings.HasPrefix(nt.Kernel, "depthwise+conv") }
		for _, batch := range []int{1, 4} {
			b.Run(fmt.Sprintf("%s/pairs/batch%d", c.Arch, batch), func(b *testing.B) { switchNodesAB(b, m, batch, graph.SetDWPWPlanes, match) })
			b.Run(fmt.Sprintf("%s/model/batch%d", c.Arch, batch), func(b *testing.B) { switchAB(b, m, batch, graph.SetDWPWPlanes) })
		}
	}
}

// BenchmarkDWPWSessionModel compares MobileNet V1 1.0@128, V3-Large
// 1.0@224 and EfficientNet-Lite0 as planned and run by default ("new")
// with the fused pairs and depthwise layers as before this session's
// changes ("old": bands of half of L1, graph.SetDWPWSession(false)),
// alternating run by run: at batch 1 on one thread by the thread's CPU
// clock and at batch 8 on two threads by the wall clock; it reports the
// quartiles of the per-pair ratios old/new. Run with
// `go test -tags cspipe_bench -run '^$' -bench DWPWSessionModel`.
func BenchmarkDWPWSessionModel(b *testing.B) {
	for _, c := range []modelgen.Config{
		{Arch: "v1", Width: 1, Size: 128, Classes: 1001, Seed: 1},
		{Arch: "v3-large", Width: 1, Size: 224, Classes: 1001, Seed: 1},
		{Arch: "efficientnet-lite0", Width: 1, Size: 224, Classes: 1001, Seed: 1},
	} {
		newer, older := loadTwoPlans(b, c, func() func() { return graph.SetFusedBands(kernels.CacheL1()/2, 96) })
		for _, run := range []struct {
			batch, threads int
			clock          abbench.Clock
		}{{1, 1, abbench.ThreadCPU}, {8, 2, abbench.Wall}} {
			b.Run(fmt.Sprintf("%s/batch%d-threads%d", c.Arch, run.batch, run.threads), func(b *testing.B) {
				defer graph.SetDWPWSession(true)
				in, out := abInput(newer, run.batch), make([]float32, run.batch*newer.NumClasses())
				newer.SetThreads(run.threads)
				older.SetThreads(run.threads)
				t := abbench.Alternate(b, run.clock,
					graph.ABModelSide(b, "new", newer, run.batch, in, out, func() { graph.SetDWPWSession(true) }),
					graph.ABModelSide(b, "old", older, run.batch, in, out, func() { graph.SetDWPWSession(false) }))
				t.Report(b, 0, abbench.Med, 1e3/float64(run.batch), "%s-ms/img")
				abbench.ReportQuartiles(b, t.Ratios(0, 1, 0), "speedup")
			})
		}
	}
}
