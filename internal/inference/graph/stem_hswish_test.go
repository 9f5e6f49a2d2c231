package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// TestStemHardSwishEpilogue: a HARD_SWISH after an RGB stem (3x3, stride
// 2, three input channels: the column-window path, or runRows for whole
// 32-wide panels on AVX-512) is applied by the
// GEMM's epilogue, with no pass of its own, and gives the numbers of the
// graph run operator by operator bit for bit: for 16 output channels
// (MobileNet V3's stem, 16-wide panels), 32 (32-wide panels) and 24 (a
// partial panel), SAME and VALID padding, bounds that bind, a batch of two
// on one thread and one image on two threads.
func TestStemHardSwishEpilogue(t *testing.T) {
	const h, w = 23, 30
	for _, tc := range []struct {
		cout int
		pad  Padding
		act  *Bounds
	}{
		{16, PadSame, nil}, {32, PadSame, &Bounds{-1, 6}}, {24, PadValid, nil}, {16, PadValid, &Bounds{0, 2}},
	} {
		t.Run(fmt.Sprintf("cout%d/pad%d", tc.cout, tc.pad), func(t *testing.T) {
			build := func() *Graph {
				rng := rand.New(rand.NewPCG(31, uint64(tc.cout)))
				g := &Graph{PackBudget: 1 << 22}
				add := func(t *Tensor) int { g.Tensors = append(g.Tensors, t); return len(g.Tensors) - 1 }
				in := add(&Tensor{Name: "in", Shape: []int{1, h, w, 3}})
				filter := randFloats(rng, tc.cout*3*3*3)
				for i := range filter {
					filter[i] *= 3 // sums across -3..3, where HARD_SWISH bends
				}
				f := add(&Tensor{Shape: []int{tc.cout, 3, 3, 3}, Float: filter, Const: true})
				b := add(&Tensor{Shape: []int{tc.cout}, Float: randFloats(rng, tc.cout), Const: true})
				c, hs := add(&Tensor{}), add(&Tensor{})
				g.Nodes = []Node{
					{Op: OpConv2D, Inputs: []int{in, f, b}, Output: c, Padding: tc.pad, StrideH: 2, StrideW: 2, Act: tc.act},
					{Op: OpHardSwish, Inputs: []int{c}, Output: hs},
				}
				g.Input, g.Output = in, hs
				return g
			}
			m, err := Plan(build())
			if err != nil {
				t.Fatal(err)
			}
			if len(m.nodes) != 1 {
				t.Fatalf("%d planned operators, want 1 (HARD_SWISH folded)", len(m.nodes))
			}
			k, ok := m.nodes[0].k.(*convKernel)
			if !ok || !(k.columns || k.rows) || !k.hs {
				t.Fatalf("stem planned as %T (%+v), want the column-window or in-place rows convolution with HARD_SWISH in its epilogue", m.nodes[0].k, k)
			}
			rng := rand.New(rand.NewPCG(32, 33))
			const batch, per = 2, h * w * 3
			in := randFloats(rng, batch*per)
			outPer := m.NumClasses()
			want := make([]float32, batch*outPer)
			for i := 0; i < batch; i++ {
				copy(want[i*outPer:], refRun(t, build(), in[i*per:(i+1)*per], 2))
			}
			for _, run := range []struct{ batch, threads int }{{batch, 1}, {1, 2}} {
				m.SetThreads(run.threads)
				got := make([]float32, run.batch*outPer)
				if err := m.Run(in[:run.batch*per], run.batch, got); err != nil {
					t.Fatal(err)
				}
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("batch %d threads %d: output %d = %g, separate HARD_SWISH %g", run.batch, run.threads, i, got[i], want[i])
					}
				}
			}
		})
	}
}

// BenchmarkStemHardSwish reports MobileNet V3-Large's stem at 224 (3x3
// stride 2 from RGB to 16 channels, then HARD_SWISH) on one thread: with
// HARD_SWISH fused ("fused": each output row after its GEMM) and as a pass
// over the whole output after the convolution ("pass", what a separate
// operator does).
func BenchmarkStemHardSwish(b *testing.B) {
	const h, w, cin, cout = 224, 224, 3, 16
	rng := rand.New(rand.NewPCG(1, 2))
	oh, ow := h/2, w/2
	in := randFloats(rng, h*w*cin)
	out := make([]float32, oh*ow*cout)
	for _, mode := range []string{"fused", "pass"} {
		b.Run(mode, func(b *testing.B) {
			k := &convKernel{h: h, w: w, cin: cin, oh: oh, ow: ow, cout: cout, kh: 3, kw: 3, sh: 2, sw: 2,
				lo: kernels.NoClampLo, hi: kernels.NoClampHi, columns: true, wpad: (ow-1)*2 + 3, hs: mode == "fused"}
			f := columnOrder(randFloats(rng, cout*9*cin), cout, 3, 3, cin)
			k.pb = kernels.PackB(f, cout, 9*cin, randFloats(rng, cout))
			for b.Loop() {
				k.run(&env{threads: 1, batch: 1}, [][]float32{in}, out)
				if !k.hs {
					kernels.HardSwish(out)
				}
			}
		})
	}
}
