package graph_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/kernels"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
)

// BenchmarkEarlyLayersModel runs MobileNet V1 1.0@128 and V2 1.0@224
// (whose stems are the same 3x3 stride-2 convolution to 32 channels) with
// each early-layer switch below on ("new") and off ("old"), alternating
// run by run on one thread so both see the same load, and reports each
// one's median thread CPU time per image and the quartiles of the per-run
// ratios old/new. Run with
// `go test -run '^$' -bench EarlyLayersModel ./internal/inference/graph`.
func BenchmarkEarlyLayersModel(b *testing.B) {
	switches := []struct {
		name string
		set  func(on bool)
	}{
		{"stem32", func(on bool) { graph.SetStemRow32(on) }},
		// The stem kernel asking for its output lines ahead of its stores
		// (the model's other layers having pushed them out of L2).
		{"stemprefetch", kernels.SetStemPrefetch},
	}
	// The stem alone: V1 1.0@128's (a column of padding on the right), and
	// at 127 pixels (one either side, as with symmetric pads).
	for _, h := range []int{128, 127} {
		stem, err := graph.Plan(stemGraph(h, 32))
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range switches {
			b.Run(fmt.Sprintf("stem%d/%s/batch1", h, s.name), func(b *testing.B) { switchAB(b, stem, 1, s.set) })
		}
	}
	for _, c := range []modelgen.Config{
		{Arch: "v1", Width: 1, Size: 128, Classes: 1001, Seed: 1},
		{Arch: "v2", Width: 1, Size: 224, Classes: 1001, Seed: 1},
	} {
		m := loadModel(b, c)
		for _, s := range switches {
			b.Run(fmt.Sprintf("%s/%s/batch1", c.Arch, s.name), func(b *testing.B) { switchAB(b, m, 1, s.set) })
		}
	}
}

// stemGraph is a 3x3 stride-2 convolution (SAME padding, ReLU6) of an
// h×h RGB image to cout channels with random weights.
func stemGraph(h, cout int) *graph.Graph {
	rng := rand.New(rand.NewPCG(3, 4))
	rnd := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = rng.Float32() - 0.5
		}
		return v
	}
	g := &graph.Graph{PackBudget: 1 << 22}
	add := func(t *graph.Tensor) int { g.Tensors = append(g.Tensors, t); return len(g.Tensors) - 1 }
	in := add(&graph.Tensor{Name: "in", Shape: []int{1, h, h, 3}})
	f := add(&graph.Tensor{Shape: []int{cout, 3, 3, 3}, Float: rnd(cout * 27), Const: true})
	bias := add(&graph.Tensor{Shape: []int{cout}, Float: rnd(cout), Const: true})
	out := add(&graph.Tensor{})
	g.Nodes = []graph.Node{{Op: graph.OpConv2D, Inputs: []int{in, f, bias}, Output: out, Padding: graph.PadSame,
		StrideH: 2, StrideW: 2, Act: &graph.Bounds{Lo: 0, Hi: 6}}}
	g.Input, g.Output = in, out
	return g
}

// BenchmarkStemPrefetchCold runs V1 1.0@128's stem (stemGraph) right
// after a whole V1 image, which leaves the stem's input and output out of
// L2 as a model's next image finds them, then again at once (hot), with
// the stem kernel asking for its output lines ahead of its stores
// (kernels.SetStemPrefetch) on and off in turns, on one thread. Reports
// each one's median thread CPU time of the cold and the hot call and the
// median of the per-pair ratios of the cold calls, off/on.
func BenchmarkStemPrefetchCold(b *testing.B) {
	defer kernels.SetStemPrefetch(true)
	stem, err := graph.Plan(stemGraph(128, 32))
	if err != nil {
		b.Fatal(err)
	}
	m := loadModel(b, modelgen.Config{Arch: "v1", Width: 1, Size: 128, Classes: 1001, Seed: 1})
	in := abInput(m, 1)
	out := make([]float32, m.NumClasses())
	stemOut := make([]float32, 64*64*32)
	m.SetThreads(1)
	stem.SetThreads(1)
	// The whole image ahead of the cold call is untimed setup; the cold
	// call is the timed Run, the hot one the timed Next.
	side := func(name string, on bool) abbench.Side {
		runStem := func() {
			if err := stem.Run(in, 1, stemOut); err != nil {
				b.Fatal(err)
			}
		}
		return abbench.Side{Name: name, Setup: func() {
			kernels.SetStemPrefetch(on)
			if err := m.Run(in, 1, out); err != nil {
				b.Fatal(err)
			}
		}, Run: runStem, Next: runStem}
	}
	t := abbench.Alternate(b, abbench.ThreadCPU, side("on", true), side("off", false))
	t.Report(b, 0, abbench.Med, 1e6, "cold-%s-us")
	t.Report(b, 1, abbench.Med, 1e6, "hot-%s-us")
	b.ReportMetric(abbench.Med(t.Ratios(0, 1, 0)), "cold-speedup-med")
}
