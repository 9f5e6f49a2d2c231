package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// stemConv is MobileNet's stem at 128: 3x3 stride 2 from RGB to 32
// channels, padding only right and below (SAME), on the column path.
func stemConv(rng *rand.Rand) (*convKernel, []float32) {
	return stemConvOf(rng, 128, 32, false)
}

// stemConvOf is a 3x3 stride-2 RGB stem of h×h pixels to cout channels on
// the column path: bounds [0, 6], or none and HARD_SWISH (V3's) if hs.
func stemConvOf(rng *rand.Rand, h, cout int, hs bool) (*convKernel, []float32) {
	const cin = 3
	w := h
	oh, ow := h/2, w/2
	lo, hi := float32(0), float32(6)
	if hs {
		lo, hi = kernels.NoClampLo, kernels.NoClampHi
	}
	k := &convKernel{h: h, w: w, cin: cin, oh: oh, ow: ow, cout: cout, kh: 3, kw: 3, sh: 2, sw: 2, lo: lo, hi: hi, hs: hs,
		columns: true, wpad: (ow-1)*2 + 3}
	f := columnOrder(randFloats(rng, cout*9*cin), cout, 3, 3, cin)
	k.pb = kernels.PackB(f, cout, 9*cin, randFloats(rng, cout))
	return k, randFloats(rng, h*w*cin)
}

// BenchmarkStem reports the stem convolution of MobileNet V1 at 128 on one
// thread, whole and in its two parts (filling the column strips, and the
// GEMMs over them); "rows-vs-columns" runs the stem read in place (runRows)
// and the column-window path alternately, reporting each one's fastest
// and median time and the median of their ratios.
func BenchmarkStem(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	k, in := stemConv(rng)
	out := make([]float32, k.oh*k.ow*k.cout)
	macs := float64(k.oh * k.ow * k.cout * k.pb.K)
	b.Run("conv", func(b *testing.B) {
		for b.Loop() {
			k.run(&env{threads: 1, batch: 1}, [][]float32{in}, out)
		}
		b.ReportMetric(macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
	})
	b.Run("rows-vs-columns", func(b *testing.B) { stemRowsVsColumns(b, k, in) })
	// V3's stem at 224: 16 channels and HARD_SWISH.
	k3, in3 := stemConvOf(rand.New(rand.NewPCG(1, 2)), 224, 16, true)
	b.Run("rows-vs-columns/v3-224x16", func(b *testing.B) { stemRowsVsColumns(b, k3, in3) })
	strip := make([]float32, k.wpad*k.kh*k.cin)
	b.Run("fill", func(b *testing.B) {
		for b.Loop() {
			for oy := 0; oy < k.oh; oy++ {
				k.fillStrip(in, oy, strip)
			}
		}
	})
	b.Run("gemm", func(b *testing.B) {
		for b.Loop() {
			for oy := 0; oy < k.oh; oy++ {
				kernels.Gemm(k.ow, strip, k.sw*k.kh*k.cin, k.pb, k.lo, k.hi, out[oy*k.ow*k.cout:], k.cout)
			}
		}
		b.ReportMetric(macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
	})
}

// TestStemRows: the RGB stem read in place (runRows) gives the column-window
// path's numbers up to the order of the sums, for SAME padding that leaves
// a column or row of zeros right and below (even sizes) or on all sides
// (odd sizes: left and top windows leave the image too), VALID padding,
// stride 1 and 2, bounds that bind, 32 and 64 output channels, a batch of
// two on one thread and one image on two threads. Where the kernels have
// no fast path for it (no AVX-512, a partial panel) the stem keeps the
// column path.
func TestStemRows(t *testing.T) {
	for _, tc := range []struct {
		h, w, cout, stride int
		pad                Padding
		act                *Bounds
	}{
		{24, 30, 32, 2, PadSame, &Bounds{0, 6}}, {23, 29, 32, 2, PadSame, nil}, {23, 29, 64, 2, PadValid, &Bounds{-1, 1}},
		{17, 20, 32, 1, PadSame, nil}, {9, 9, 96, 2, PadSame, &Bounds{0, 6}}, {24, 30, 48, 2, PadSame, nil},
		// 16 channels (V3's stem): one 16-column panel.
		{24, 30, 16, 2, PadSame, &Bounds{0, 6}}, {23, 29, 16, 2, PadSame, nil}, {17, 60, 16, 1, PadSame, nil}, {224, 224, 16, 2, PadSame, nil},
		{23, 29, 8, 2, PadSame, nil}, // a partial panel: no in-place kernel
	} {
		t.Run(fmt.Sprintf("%dx%d/cout%d/s%d/pad%d", tc.h, tc.w, tc.cout, tc.stride, tc.pad), func(t *testing.T) {
			build := func() *Graph {
				rng := rand.New(rand.NewPCG(41, uint64(tc.cout)))
				g := &Graph{PackBudget: 1 << 22}
				add := func(t *Tensor) int { g.Tensors = append(g.Tensors, t); return len(g.Tensors) - 1 }
				in := add(&Tensor{Name: "in", Shape: []int{1, tc.h, tc.w, 3}})
				f := add(&Tensor{Shape: []int{tc.cout, 3, 3, 3}, Float: randFloats(rng, tc.cout*27), Const: true})
				b := add(&Tensor{Shape: []int{tc.cout}, Float: randFloats(rng, tc.cout), Const: true})
				c := add(&Tensor{})
				g.Nodes = []Node{{Op: OpConv2D, Inputs: []int{in, f, b}, Output: c, Padding: tc.pad, StrideH: tc.stride, StrideW: tc.stride, Act: tc.act}}
				g.Input, g.Output = in, c
				return g
			}
			rows, err := Plan(build())
			if err != nil {
				t.Fatal(err)
			}
			stemRows = false
			cols, err := Plan(build())
			stemRows = true
			if err != nil {
				t.Fatal(err)
			}
			kr, kc := rows.nodes[0].k.(*convKernel), cols.nodes[0].k.(*convKernel)
			if fast := kernels.GemmSegsFast(tc.cout); kr.rows != fast || kr.columns == fast {
				t.Fatalf("rows %v, columns %v with the in-place kernel available: %v", kr.rows, kr.columns, fast)
			}
			if kc.rows || !kc.columns {
				t.Fatalf("stemRows off: rows %v, columns %v", kc.rows, kc.columns)
			}
			rng := rand.New(rand.NewPCG(42, 43))
			const batch = 2
			per := tc.h * tc.w * 3
			in := randFloats(rng, batch*per)
			outPer := rows.NumClasses()
			want := make([]float32, batch*outPer)
			if err := cols.Run(in, batch, want); err != nil {
				t.Fatal(err)
			}
			for _, run := range []struct{ batch, threads int }{{batch, 1}, {1, 2}} {
				rows.SetThreads(run.threads)
				got := make([]float32, run.batch*outPer)
				if err := rows.Run(in[:run.batch*per], run.batch, got); err != nil {
					t.Fatal(err)
				}
				for i := range got {
					if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*max(1, math.Abs(float64(want[i]))) {
						t.Fatalf("batch %d threads %d: output %d = %g, column path %g", run.batch, run.threads, i, got[i], want[i])
					}
				}
			}
		})
	}
}

// stemRowsVsColumns runs the column-path stem k and the same convolution
// read in place (runRows) alternately on one thread, reporting each one's
// fastest and median time and the median of their ratios.
func stemRowsVsColumns(b *testing.B, k *convKernel, in []float32) {
	if !kernels.GemmSegsFast(k.cout) {
		b.Skip("no in-place kernel for the stem here")
	}
	out := make([]float32, k.oh*k.ow*k.cout)
	// The same convolution on the in-place path: the filter in its own
	// KH×KW×Cin order.
	kr := &convKernel{h: k.h, w: k.w, cin: k.cin, oh: k.oh, ow: k.ow, cout: k.cout, kh: 3, kw: 3, sh: 2, sw: 2, lo: k.lo, hi: k.hi, hs: k.hs, rows: true}
	rng := rand.New(rand.NewPCG(1, 2))
	kr.pb = kernels.PackB(randFloats(rng, k.cout*27), k.cout, 27, randFloats(rng, k.cout))
	e := &env{threads: 1, batch: 1}
	ins := [][]float32{in}
	t := abbench.Alternate(b, abbench.Wall,
		abbench.Side{Name: "rows", Run: func() { kr.run(e, ins, out) }},
		abbench.Side{Name: "columns", Run: func() { k.run(e, ins, out) }})
	t.Report(b, 0, abbench.Best, 1e6, "%s-best-us")
	t.Report(b, 0, abbench.Med, 1e6, "%s-med-us")
	b.ReportMetric(abbench.Med(t.Ratios(0, 1, 0)), "speedup-med")
}
