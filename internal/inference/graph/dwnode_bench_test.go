//go:build cspipe_bench

package graph_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/kernels"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
)

// switchNodesAB is switchAB for the operators match picks, in the model's
// context: m runs on one thread at batch with set(true) ("new") and
// set(false) ("old") in turns, every run timed operator by operator
// (Model.SetNodeTiming, the thread's CPU clock), and it reports the
// picked operators' median CPU time per image on each side
// ("new-layers-us", "old-layers-us") and the quartiles of the per-pair
// ratios old/new of their sum ("layers-speedup"). set(true) is restored
// at the end.
func switchNodesAB(b *testing.B, m *graph.Model, batch int, set func(bool), match func(graph.NodeTime) bool) {
	defer set(true)
	defer m.SetNodeTiming(false)
	m.SetThreads(1)
	in, out := abInput(m, batch), make([]float32, batch*m.NumClasses())
	var sums [2][]float64
	side := func(i int, name string, on bool) abbench.Side {
		return abbench.Side{Name: name,
			Setup: func() { set(on); m.SetNodeTiming(true) },
			Run: func() {
				if err := m.Run(in, batch, out); err != nil {
					b.Fatal(err)
				}
			},
			Done: func(warm bool) {
				if warm {
					return
				}
				s := 0.0
				for _, nt := range m.NodeTimes() {
					if match(nt) {
						s += nt.CPU.Seconds()
					}
				}
				sums[i] = append(sums[i], s/float64(batch))
			}}
	}
	abbench.Alternate(b, abbench.ThreadCPU, side(0, "new", true), side(1, "old", false))
	ratios := make([]float64, len(sums[0]))
	for i := range ratios {
		ratios[i] = sums[1][i] / sums[0][i]
	}
	slices.Sort(ratios)
	for i, name := range []string{"new", "old"} {
		s := slices.Clone(sums[i])
		slices.Sort(s)
		b.ReportMetric(abbench.Med(s)*1e6, name+"-layers-us")
	}
	abbench.ReportQuartiles(b, ratios, "layers-speedup")
}

// BenchmarkDWPacked runs MobileNet V1 1.0@128 with the AVX2 3x3 depthwise
// row kernel on packed weights on ("new", kernels.SetDWPacked) and off
// ("old": DepthwiseBlocked's row kernels), alternating run by run on one
// thread's CPU clock: the plain depthwise operators in the model
// (switchNodesAB, "layers", and each of V1's shapes apart: 8x8x256 and 4x4x512 at stride 2) and
// the whole model (switchAB, "model"), at batch 1 and 4, and the whole
// model at batch 8 on two threads by the wall clock. Run with
// `go test -tags cspipe_bench -run '^$' -bench DWPacked`.
func BenchmarkDWPacked(b *testing.B) { benchDWSwitch(b, kernels.SetDWPacked) }

// BenchmarkDWPackedModels is BenchmarkDWPacked on V2 1.0@224, V3-Large
// 1.0@224 and EfficientNet-Lite0 at batch 1: their plain depthwise
// operators ("layers") and the whole model. Run with
// `go test -tags cspipe_bench -run '^$' -bench DWPackedModels`.
func BenchmarkDWPackedModels(b *testing.B) {
	match := func(nt graph.NodeTime) bool {
		return strings.HasPrefix(nt.Kernel, "depthwise") && !strings.Contains(nt.Kernel, "conv")
	}
	for _, c := range []modelgen.Config{
		{Arch: "v2", Width: 1, Size: 224, Classes: 1001, Seed: 1},
		{Arch: "v3-large", Width: 1, Size: 224, Classes: 1001, Seed: 1},
		{Arch: "efficientnet-lite0", Width: 1, Size: 224, Classes: 1001, Seed: 1},
	} {
		m := loadModel(b, c)
		b.Run(c.Arch+"/layers/batch1", func(b *testing.B) { switchNodesAB(b, m, 1, kernels.SetDWPacked, match) })
		b.Run(c.Arch+"/model/batch1", func(b *testing.B) { switchAB(b, m, 1, kernels.SetDWPacked) })
	}
}

// benchDWSwitch is BenchmarkDWPacked for the switch set.
func benchDWSwitch(b *testing.B, set func(bool)) {
	m := loadModel(b, modelgen.Config{Arch: "v1", Width: 1, Size: 128, Classes: 1001, Seed: 1})
	match := func(nt graph.NodeTime) bool {
		return strings.HasPrefix(nt.Kernel, "depthwise") && !strings.Contains(nt.Kernel, "conv")
	}
	shape := func(h, c int) func(graph.NodeTime) bool {
		return func(nt graph.NodeTime) bool {
			return match(nt) && len(nt.Shape) == 4 && nt.Shape[1] == h && nt.Shape[3] == c
		}
	}
	for _, batch := range []int{1, 4} {
		b.Run(fmt.Sprintf("v1/layers/batch%d", batch), func(b *testing.B) { switchNodesAB(b, m, batch, set, match) })
		for _, s := range [][2]int{{16, 256}, {8, 256}, {8, 512}, {4, 512}, {4, 1024}} {
			b.Run(fmt.Sprintf("v1/%dx%dx%d/batch%d", s[0], s[0], s[1], batch), func(b *testing.B) {
				switchNodesAB(b, m, batch, set, shape(s[0], s[1]))
			})
		}
		b.Run(fmt.Sprintf("v1/model/batch%d", batch), func(b *testing.B) { switchAB(b, m, batch, set) })
	}
	// Batch 8 on two threads, by the wall clock (the threads' CPU time is
	// not one clock): noisier on a shared machine.
	b.Run("v1/model/batch8/threads2", func(b *testing.B) {
		defer set(true)
		defer m.SetThreads(1)
		m.SetThreads(2)
		t := abbench.Alternate(b, abbench.Wall, switchSides(b, m, 8, set, "new", "old")...)
		t.Report(b, 0, abbench.Med, 1e3/8, "%s-wall-ms/img")
		abbench.ReportQuartiles(b, t.Ratios(0, 1, 0), "speedup")
	})
}
