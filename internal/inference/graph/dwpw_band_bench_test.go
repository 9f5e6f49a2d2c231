package graph

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
)

// BenchmarkDWPointwiseBands runs MobileNet V1 1.0@128's depthwise+1x1
// pairs (input h×w×cin, 3x3 depthwise of the given stride, 1x1 to cout,
// ReLU6 after both) planned with several fused band heights (and unfused),
// alternately in one loop on one thread (thread CPU time), and reports
// each one's fastest and median time per image and the median of the
// per-round speedups of each over the default.
func BenchmarkDWPointwiseBands(b *testing.B) {
	for _, s := range []struct{ h, cin, stride, cout int }{
		{64, 32, 1, 64}, {64, 64, 2, 128}, {32, 128, 1, 128}, {32, 128, 2, 256}, {16, 256, 1, 256},
		{112, 16, 1, 16}, {112, 32, 1, 16}, // V3-Large's and EfficientNet-Lite0's first pairs
	} {
		oh := s.h / s.stride
		build := func() *Graph {
			rng := rand.New(rand.NewPCG(7, 8))
			g := &Graph{PackBudget: 1 << 24}
			add := func(t *Tensor) int { g.Tensors = append(g.Tensors, t); return len(g.Tensors) - 1 }
			in := add(&Tensor{Name: "in", Shape: []int{1, s.h, s.h, s.cin}})
			dw := add(&Tensor{Shape: []int{1, 3, 3, s.cin}, Float: randFloats(rng, 9*s.cin), Const: true})
			dwb := add(&Tensor{Shape: []int{s.cin}, Float: randFloats(rng, s.cin), Const: true})
			pw := add(&Tensor{Shape: []int{s.cout, 1, 1, s.cin}, Float: randFloats(rng, s.cout*s.cin), Const: true})
			pwb := add(&Tensor{Shape: []int{s.cout}, Float: randFloats(rng, s.cout), Const: true})
			d, p := add(&Tensor{}), add(&Tensor{})
			g.Nodes = []Node{
				{Op: OpDepthwiseConv2D, Inputs: []int{in, dw, dwb}, Output: d, Padding: PadSame, StrideH: s.stride, StrideW: s.stride, Act: &Bounds{0, 6}},
				{Op: OpConv2D, Inputs: []int{d, pw, pwb}, Output: p, Padding: PadValid, StrideH: 1, StrideW: 1, Act: &Bounds{0, 6}},
			}
			g.Input, g.Output = in, p
			return g
		}
		type variant struct {
			name string
			m    *Model
		}
		var vs []variant
		saved := [2]int{fusedBandBytes, fusedMinPixels}
		// rows 0: the default, planned twice (the second, "control",
		// shows the spread between two plans of one setting); -1, -2,
		// -3: bands of 16, 32 and 48 KB of depthwise output (at least
		// fusedMinPixels).
		for i, rows := range []int{0, 0, -1, -2, -3, 1, 2, 3, 4, 6, 8, 16} {
			if rows > oh {
				continue
			}
			name := fmt.Sprintf("rows%d", rows)
			switch {
			case rows == 0 && i == 0:
				name = "default"
			case rows == 0:
				name = "control"
			case rows < 0:
				name = fmt.Sprintf("%dK", -16*rows)
				fusedBandBytes = -16 * rows << 10
			default:
				fusedBandBytes, fusedMinPixels = 1, rows*oh
			}
			m, err := Plan(build())
			fusedBandBytes, fusedMinPixels = saved[0], saved[1]
			if err != nil {
				b.Fatal(err)
			}
			vs = append(vs, variant{name, m})
		}
		fuseDWPW = false
		m, err := Plan(build())
		fuseDWPW = true
		if err != nil {
			b.Fatal(err)
		}
		vs = append(vs, variant{"unfused", m})
		b.Run(fmt.Sprintf("%dx%dx%d-s%d-%d", s.h, s.h, s.cin, s.stride, s.cout), func(b *testing.B) {
			in := randFloats(rand.New(rand.NewPCG(1, 1)), s.h*s.h*s.cin)
			out := make([]float32, oh*oh*s.cout)
			var sides []abbench.Side
			for _, v := range vs {
				v.m.SetThreads(1)
				sides = append(sides, ABModelSide(b, v.name, v.m, 1, in, out, nil))
			}
			t := abbench.Alternate(b, abbench.ThreadCPU, sides...)
			t.Report(b, 0, abbench.Best, 1e6, "%s-best-us")
			t.Report(b, 0, abbench.Med, 1e6, "%s-med-us")
			for j := 1; j < len(t.Names); j++ {
				r := t.Ratios(0, 0, j)
				b.ReportMetric(abbench.Med(r), "x-"+t.Names[j]+"-med")
			}
		})
	}
}
