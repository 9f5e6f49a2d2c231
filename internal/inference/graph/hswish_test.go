package graph

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestHardSwishEpilogue: a HARD_SWISH after a 1x1 convolution, a gathered
// 3x3 convolution and a fully connected layer is applied by the GEMM's
// epilogue (no separate pass is planned), with the same numbers as the
// graph run operator by operator, on the row-block path (batch 3, one
// thread) and the column-split path (batch 1, two threads).
func TestHardSwishEpilogue(t *testing.T) {
	const c, mid, n = 24, 40, 70
	build := func() *Graph {
		g := &Graph{PackBudget: 1 << 22}
		add := func(t *Tensor) int { g.Tensors = append(g.Tensors, t); return len(g.Tensors) - 1 }
		weights := func(shape ...int) int {
			size := 1
			for _, d := range shape {
				size *= d
			}
			w := make([]float32, size)
			for i := range w {
				w[i] = float32(i%13-6) / 24
			}
			return add(&Tensor{Shape: shape, Float: w, Const: true})
		}
		bias := func(k int) int {
			b := make([]float32, k)
			for i := range b {
				b[i] = float32(i%5-2) / 2
			}
			return add(&Tensor{Shape: []int{k}, Float: b, Const: true})
		}
		in := add(&Tensor{Name: "in", Shape: []int{1, 5, 5, c}})
		c1, h1, c2, h2, f, h3 := add(&Tensor{}), add(&Tensor{}), add(&Tensor{}), add(&Tensor{}), add(&Tensor{}), add(&Tensor{})
		g.Nodes = []Node{
			{Op: OpConv2D, Inputs: []int{in, weights(mid, 1, 1, c), bias(mid)}, Output: c1, Padding: PadValid, StrideH: 1, StrideW: 1},
			{Op: OpHardSwish, Inputs: []int{c1}, Output: h1},
			{Op: OpConv2D, Inputs: []int{h1, weights(mid, 3, 3, mid), bias(mid)}, Output: c2, Padding: PadSame, StrideH: 2, StrideW: 2,
				Act: &Bounds{-1, 6}},
			{Op: OpHardSwish, Inputs: []int{c2}, Output: h2},
			{Op: OpFullyConnected, Inputs: []int{h2, weights(n, mid), bias(n)}, Output: f, KeepDims: true},
			{Op: OpHardSwish, Inputs: []int{f}, Output: h3},
		}
		g.Input, g.Output = in, h3
		return g
	}
	m, err := Plan(build())
	if err != nil {
		t.Fatal(err)
	}
	if len(m.nodes) != 3 {
		t.Fatalf("%d planned operators, want 3 (each HARD_SWISH folded)", len(m.nodes))
	}
	for _, nd := range m.nodes {
		switch k := nd.k.(type) {
		case *convKernel:
			if !k.hs || k.columns {
				t.Errorf("%s: HARD_SWISH not in the GEMM epilogue (hs %v, columns %v)", nd.name, k.hs, k.columns)
			}
		case *fcKernel:
			if !k.hs {
				t.Errorf("%s: HARD_SWISH not in the GEMM epilogue", nd.name)
			}
		default:
			t.Errorf("%s: planned as %T", nd.name, nd.k)
		}
	}
	per, outPer := 5*5*c, 3*3*n
	const batch = 3
	in := make([]float32, batch*per)
	for i := range in {
		in[i] = float32(i%11-5) / 2
	}
	want := make([]float32, batch*outPer)
	for i := 0; i < batch; i++ {
		copy(want[i*outPer:], refRun(t, build(), in[i*per:(i+1)*per], 6))
	}
	for _, tc := range []struct{ batch, threads int }{{batch, 1}, {1, 2}} {
		m.SetThreads(tc.threads)
		got := make([]float32, tc.batch*outPer)
		if err := m.Run(in[:tc.batch*per], tc.batch, got); err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if math.Abs(float64(got[i]-want[i])) > 1e-5*(1+math.Abs(float64(want[i]))) {
				t.Fatalf("batch %d threads %d: output %d = %g, unfused %g", tc.batch, tc.threads, i, got[i], want[i])
			}
		}
	}
}

// TestDepthwiseHardSwish: a HARD_SWISH after a depthwise convolution is
// applied by the depthwise kernel row by row (or band by band when a 1x1
// convolution is fused after it), on the four-pixel 3x3 path, the padded
// 5x5 path and a depth multiplier of 2, with the numbers of the graph run
// operator by operator (a separate HARD_SWISH pass), on one and two
// threads and a batch.
func TestDepthwiseHardSwish(t *testing.T) {
	const h, w, c = 12, 11, 32
	build := func() *Graph {
		rng := rand.New(rand.NewPCG(21, 22))
		g := &Graph{PackBudget: 1 << 22}
		add := func(t *Tensor) int { g.Tensors = append(g.Tensors, t); return len(g.Tensors) - 1 }
		weights := func(shape ...int) int {
			size := 1
			for _, d := range shape {
				size *= d
			}
			return add(&Tensor{Shape: shape, Float: randFloats(rng, size), Const: true})
		}
		in := add(&Tensor{Name: "in", Shape: []int{1, h, w, c}})
		var ts [8]int
		for i := range ts {
			ts[i] = add(&Tensor{})
		}
		g.Nodes = []Node{
			{Op: OpDepthwiseConv2D, Inputs: []int{in, weights(1, 3, 3, c), weights(c)}, Output: ts[0], Padding: PadSame, StrideH: 1, StrideW: 1, Act: &Bounds{-2, 6}},
			{Op: OpHardSwish, Inputs: []int{ts[0]}, Output: ts[1]},
			{Op: OpConv2D, Inputs: []int{ts[1], weights(24, 1, 1, c), weights(24)}, Output: ts[2], Padding: PadValid, StrideH: 1, StrideW: 1},
			{Op: OpDepthwiseConv2D, Inputs: []int{ts[2], weights(1, 5, 5, 24), weights(24)}, Output: ts[3], Padding: PadSame, StrideH: 1, StrideW: 1},
			{Op: OpHardSwish, Inputs: []int{ts[3]}, Output: ts[4]},
			{Op: OpDepthwiseConv2D, Inputs: []int{ts[4], weights(1, 3, 3, 48)}, Output: ts[5], Padding: PadSame, StrideH: 2, StrideW: 2, Multiplier: 2},
			{Op: OpHardSwish, Inputs: []int{ts[5]}, Output: ts[6]},
			{Op: OpMean, Inputs: []int{ts[6]}, Output: ts[7], Axes: []int{1, 2}, KeepDims: true},
		}
		g.Input, g.Output = in, ts[7]
		return g
	}
	m, err := Plan(build())
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, nd := range m.nodes {
		kinds = append(kinds, kernelName(nd.k))
	}
	if want := []string{"depthwise(hardswish)+conv", "depthwise(hardswish)", "depthwise(hardswish)", "mean"}; !slices.Equal(kinds, want) {
		t.Fatalf("planned %q, want %q", kinds, want)
	}
	per, outPer := h*w*c, 48
	const batch = 3
	rng := rand.New(rand.NewPCG(23, 24))
	in := randFloats(rng, batch*per)
	for i := range in {
		in[i] *= 4 // across HARD_SWISH's bends at -3 and 3
	}
	want := make([]float32, batch*outPer)
	for i := 0; i < batch; i++ {
		copy(want[i*outPer:], refRun(t, build(), in[i*per:(i+1)*per], 8))
	}
	for _, tc := range []struct{ batch, threads int }{{batch, 1}, {1, 2}, {batch, 2}} {
		m.SetThreads(tc.threads)
		got := make([]float32, tc.batch*outPer)
		if err := m.Run(in[:tc.batch*per], tc.batch, got); err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if math.Abs(float64(got[i]-want[i])) > 1e-5*(1+math.Abs(float64(want[i]))) {
				t.Fatalf("batch %d threads %d: output %d = %g, unfused %g", tc.batch, tc.threads, i, got[i], want[i])
			}
		}
	}
}
