package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// TestStemAVX2: the RGB stem on the AVX2 kernel (runStemAVX2) gives the
// column strip and GEMM path's bits (kernels.SetStemAVX2(false)), for 32
// and 16 output channels (V1's and V3's stems), HARD_SWISH folded into it
// or not, bounds that bind, SAME padding that leaves a column and a row of
// zeros right and below (even sizes) or on all sides (odd sizes, stride
// 1), VALID padding, stride 1 and 2, rows narrower than a tile, and a
// batch of three on one and two threads and one image on two. Elsewhere
// than the AVX2 path the stem keeps the column path and the test checks
// only that.
func TestStemAVX2(t *testing.T) {
	for _, tc := range []struct {
		h, w, cout, stride int
		pad                Padding
		act                *Bounds
		hs                 bool
	}{
		{128, 128, 32, 2, PadSame, &Bounds{0, 6}, false}, {24, 30, 32, 2, PadSame, &Bounds{0, 6}, false},
		{23, 29, 32, 2, PadSame, nil, false}, {23, 29, 32, 2, PadValid, &Bounds{-1, 1}, false},
		{17, 20, 32, 1, PadSame, nil, false}, {9, 7, 32, 1, PadSame, &Bounds{0, 6}, false},
		{5, 5, 32, 2, PadSame, nil, true}, {3, 4, 32, 1, PadValid, nil, false},
		{224, 224, 16, 2, PadSame, nil, true}, {24, 30, 16, 2, PadSame, &Bounds{0, 6}, false},
		{23, 29, 16, 2, PadSame, &Bounds{-1, 2}, true}, {17, 60, 16, 1, PadSame, nil, true}, {9, 11, 16, 2, PadValid, nil, true},
		{23, 29, 24, 2, PadSame, nil, false}, // a partial panel: no AVX2 stem kernel
	} {
		t.Run(fmt.Sprintf("%dx%d/cout%d/s%d/pad%d/hs%v", tc.h, tc.w, tc.cout, tc.stride, tc.pad, tc.hs), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(51, uint64(tc.cout*tc.h)))
			g := &Graph{PackBudget: 1 << 22}
			add := func(t *Tensor) int { g.Tensors = append(g.Tensors, t); return len(g.Tensors) - 1 }
			in := add(&Tensor{Name: "in", Shape: []int{1, tc.h, tc.w, 3}})
			filter := randFloats(rng, tc.cout*27)
			for i := range filter {
				filter[i] *= 3 // sums across -3..3, where HARD_SWISH bends
			}
			f := add(&Tensor{Shape: []int{tc.cout, 3, 3, 3}, Float: filter, Const: true})
			b := add(&Tensor{Shape: []int{tc.cout}, Float: randFloats(rng, tc.cout), Const: true})
			c := add(&Tensor{})
			g.Nodes = []Node{{Op: OpConv2D, Inputs: []int{in, f, b}, Output: c, Padding: tc.pad, StrideH: tc.stride, StrideW: tc.stride, Act: tc.act}}
			g.Input, g.Output = in, c
			if tc.hs {
				o := add(&Tensor{})
				g.Nodes = append(g.Nodes, Node{Op: OpHardSwish, Inputs: []int{c}, Output: o})
				g.Output = o
			}
			m, err := Plan(g)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.nodes) != 1 {
				t.Fatalf("%d planned operators, want 1", len(m.nodes))
			}
			k := m.nodes[0].k.(*convKernel)
			if k.rows {
				t.Skip("the stem reads its rows in place here (AVX-512)")
			}
			avx2 := kernels.Path() == "avx2" && tc.cout%16 == 0 && tc.cout <= 32
			if !k.columns || k.stemAVX2() != avx2 {
				t.Fatalf("columns %v, AVX2 stem %v, want %v", k.columns, k.stemAVX2(), avx2)
			}
			const batch = 3
			per := tc.h * tc.w * 3
			input := randFloats(rand.New(rand.NewPCG(52, 53)), batch*per)
			outPer := m.NumClasses()
			want := make([]float32, batch*outPer)
			was := kernels.SetStemAVX2(false)
			m.SetThreads(1)
			err = m.Run(input, batch, want)
			kernels.SetStemAVX2(was)
			if err != nil {
				t.Fatal(err)
			}
			for _, run := range []struct{ batch, threads int }{{batch, 1}, {batch, 2}, {1, 2}} {
				m.SetThreads(run.threads)
				got := make([]float32, run.batch*outPer)
				if err := m.Run(input[:run.batch*per], run.batch, got); err != nil {
					t.Fatal(err)
				}
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("batch %d threads %d: output %d = %g, column path %g", run.batch, run.threads, i, got[i], want[i])
					}
				}
			}
		})
	}
}

// BenchmarkStemAVX2 runs the stems of V1 1.0@128 (32 channels, ReLU6) and
// V3-Large@224 (16 channels, HARD_SWISH) on one thread on the AVX2 stem
// kernel ("direct") and on the column strip and GEMM ("columns"), in
// turns on the thread's CPU clock, and reports each one's median time and
// rate and the quartiles of the per-pair ratios columns/direct.
func BenchmarkStemAVX2(b *testing.B) {
	for _, s := range []struct {
		name   string
		h, out int
		hs     bool
	}{{"v1-128x32", 128, 32, false}, {"v3-224x16", 224, 16, true}} {
		b.Run(s.name, func(b *testing.B) {
			k, in := stemConvOf(rand.New(rand.NewPCG(1, 2)), s.h, s.out, s.hs)
			if !k.stemAVX2() {
				b.Skip("no AVX2 stem kernel here")
			}
			out := make([]float32, k.oh*k.ow*k.cout)
			e, ins := &env{threads: 1, batch: 1}, [][]float32{in}
			side := func(name string, on bool) abbench.Side {
				return abbench.Side{Name: name, Setup: func() { kernels.SetStemAVX2(on) }, Run: func() { k.run(e, ins, out) }}
			}
			defer kernels.SetStemAVX2(true)
			t := abbench.Alternate(b, abbench.ThreadCPU, side("direct", true), side("columns", false))
			t.Report(b, 0, abbench.Med, 1e6, "%s-med-us")
			t.ReportRate(b, 0, abbench.Med, float64(k.oh*k.ow*k.cout*27)/1e9, "%s-GMAC/s")
			abbench.ReportQuartiles(b, t.Ratios(0, 1, 0), "speedup")
		})
	}
}
