package graph

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// TestAMXF32Switch plans the same 1x1 convolutions (bias and bounds, a
// fused residual, a fused HARD_SWISH) with the CSPIPE_AMXF32 switch off and
// on: on, each of K >= amxF32MinK gets the bf16x3 form (the first, K=24,
// does not), the GEMM calls of amxF32MinRows rows or more run on it (and
// only those: a 4x4 image keeps the fp32 GEMM), and the
// outputs stay within 1e-5 of the fp32 ones, for one and two threads, one
// image and a batch.
func TestAMXF32Switch(t *testing.T) {
	if !kernels.BF3Available() {
		t.Skip("no AMX-BF16 here")
	}
	rng := rand.New(rand.NewPCG(11, 12))
	vals := func(n int, scale float32) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = (rng.Float32()*2 - 1) * scale
		}
		return v
	}
	w1, b1 := vals(256*24, 0.3), vals(256, 0.1)
	w2, b2 := vals(256*256, 0.06), vals(256, 0.1)
	w3 := vals(96*256, 0.06)
	build := func(h, w int) *Graph {
		g := &Graph{PackBudget: 1 << 22}
		add := func(t *Tensor) int { g.Tensors = append(g.Tensors, t); return len(g.Tensors) - 1 }
		in := add(&Tensor{Name: "in", Shape: []int{1, h, w, 24}, DType: Float32})
		f1 := add(&Tensor{Shape: []int{256, 1, 1, 24}, Float: w1, Const: true, DType: Float32})
		fb1 := add(&Tensor{Shape: []int{256}, Float: b1, Const: true, DType: Float32})
		f2 := add(&Tensor{Shape: []int{256, 1, 1, 256}, Float: w2, Const: true, DType: Float32})
		fb2 := add(&Tensor{Shape: []int{256}, Float: b2, Const: true, DType: Float32})
		f3 := add(&Tensor{Shape: []int{96, 1, 1, 256}, Float: w3, Const: true, DType: Float32})
		img := func(c int) *Tensor { return &Tensor{Shape: []int{1, h, w, c}, DType: Float32} }
		c1, c2, s, c3, o := add(img(256)), add(img(256)), add(img(256)), add(img(96)), add(img(96))
		g.Nodes = []Node{
			{Op: OpConv2D, Inputs: []int{in, f1, fb1}, Output: c1, Padding: PadValid, StrideH: 1, StrideW: 1, Act: &Bounds{0, 6}},
			{Op: OpConv2D, Inputs: []int{c1, f2, fb2}, Output: c2, Padding: PadValid, StrideH: 1, StrideW: 1},
			{Op: OpAdd, Inputs: []int{c2, c1}, Output: s, Act: &Bounds{-1, 4}},
			{Op: OpConv2D, Inputs: []int{s, f3}, Output: c3, Padding: PadValid, StrideH: 1, StrideW: 1},
			{Op: OpHardSwish, Inputs: []int{c3}, Output: o},
		}
		g.Input, g.Output = in, o
		return g
	}
	defer SetAMXF32(SetAMXF32(false))
	for _, sz := range [][2]int{{8, 10}, {4, 4}} {
		h, w := sz[0], sz[1]
		SetAMXF32(false)
		ref, err := Plan(build(h, w))
		if err != nil {
			t.Fatal(err)
		}
		SetAMXF32(true)
		m, err := Plan(build(h, w))
		if err != nil {
			t.Fatal(err)
		}
		convs, tiled := 0, 0
		for _, nd := range m.nodes {
			if c, ok := nd.k.(*convKernel); ok {
				convs++
				if c.bf3 != nil {
					tiled++
					if c.cin < amxF32MinK || c.cout < amxF32MinN {
						t.Fatalf("a convolution of K=%d got the bf16x3 form", c.cin)
					}
				}
			}
		}
		for _, nd := range ref.nodes {
			if c, ok := nd.k.(*convKernel); ok && c.bf3 != nil {
				t.Fatal("switch off, yet a convolution got the bf16x3 form")
			}
		}
		if convs != 3 || tiled != 2 {
			t.Fatalf("%d of %d convolutions got the bf16x3 form, want 2 of 3", tiled, convs)
		}
		for _, tc := range []struct{ batch, threads int }{{1, 1}, {1, 2}, {3, 1}, {3, 2}} {
			in := vals(tc.batch*h*w*24, 1)
			want := make([]float32, tc.batch*m.NumClasses())
			got := make([]float32, len(want))
			ref.SetThreads(tc.threads)
			m.SetThreads(tc.threads)
			if err := ref.Run(in, tc.batch, want); err != nil {
				t.Fatal(err)
			}
			calls := bf3Calls.Load()
			if err := m.Run(in, tc.batch, got); err != nil {
				t.Fatal(err)
			}
			calls = bf3Calls.Load() - calls
			rows := h * w * tc.batch
			if rows >= amxF32MinRows && calls == 0 || rows < amxF32MinRows && calls != 0 {
				t.Fatalf("%dx%d batch %d threads %d: %d GEMM calls on the tiles", h, w, tc.batch, tc.threads, calls)
			}
			for i := range want {
				if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("%dx%d batch %d threads %d: output %d = %g, fp32 %g", h, w, tc.batch, tc.threads, i, got[i], want[i])
				}
			}
		}
	}
}
