package graph

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestFuseDepthwisePointwise: a depthwise convolution read only by the 1x1
// convolution after it runs fused with it, band of rows by band of rows,
// before the batching split and not at it; the numbers are bit-identical to
// the unfused operators for one and several bands, one and two threads
// (splitting the rows evenly or by whole bands), and a batch (image by
// image before the split, batched after).
func TestFuseDepthwisePointwise(t *testing.T) {
	build := func() *Graph {
		g := &Graph{PackBudget: 1 << 20}
		add := func(t *Tensor) int { g.Tensors = append(g.Tensors, t); return len(g.Tensors) - 1 }
		val := func(n, seed int) []float32 {
			v := make([]float32, n)
			for i := range v {
				v[i] = float32((i*seed)%13-6) / 8
			}
			return v
		}
		in := add(&Tensor{Name: "in", Shape: []int{1, 11, 9, 16}})
		dw1 := add(&Tensor{Shape: []int{1, 3, 3, 16}, Float: val(9*16, 5), Const: true})
		dw1b := add(&Tensor{Shape: []int{16}, Float: val(16, 3), Const: true})
		pw1 := add(&Tensor{Shape: []int{40, 1, 1, 16}, Float: val(40*16, 7), Const: true})
		pw1b := add(&Tensor{Shape: []int{40}, Float: val(40, 11), Const: true})
		dw2 := add(&Tensor{Shape: []int{1, 3, 3, 40}, Float: val(9*40, 3), Const: true})
		pw2 := add(&Tensor{Shape: []int{160, 1, 1, 40}, Float: val(160*40, 5), Const: true})
		d1, p1, d2, p2 := add(&Tensor{}), add(&Tensor{}), add(&Tensor{}), add(&Tensor{})
		g.Nodes = []Node{
			{Op: OpDepthwiseConv2D, Inputs: []int{in, dw1, dw1b}, Output: d1, Padding: PadSame, StrideH: 1, StrideW: 1, Act: &Bounds{0, 6}},
			{Op: OpConv2D, Inputs: []int{d1, pw1, pw1b}, Output: p1, Padding: PadValid, StrideH: 1, StrideW: 1, Act: &Bounds{0, 6}},
			{Op: OpDepthwiseConv2D, Inputs: []int{p1, dw2}, Output: d2, Padding: PadSame, StrideH: 2, StrideW: 2},
			// 40×160 weights outnumber its 6×5×(40+160) input and output
			// floats: the split, so this pair stays apart.
			{Op: OpConv2D, Inputs: []int{d2, pw2}, Output: p2, Padding: PadValid, StrideH: 1, StrideW: 1},
		}
		g.Input, g.Output = in, p2
		return g
	}
	defer func(b, p int) { fusedBandBytes, fusedMinPixels = b, p }(fusedBandBytes, fusedMinPixels)
	fuseDWPW = false
	ref, err := Plan(build())
	fuseDWPW = true
	if err != nil {
		t.Fatal(err)
	}
	const batch = 3
	per := 11 * 9 * 16
	in := make([]float32, batch*per)
	for i := range in {
		in[i] = float32(i%17-8) / 4
	}
	want := make([]float32, batch*ref.NumClasses())
	ref.SetThreads(1)
	if err := ref.Run(in, batch, want); err != nil {
		t.Fatal(err)
	}
	for _, minPix := range []int{96, 1} { // one band; bands of one row
		fusedMinPixels = minPix
		fusedBandBytes = 1
		m, err := Plan(build())
		if err != nil {
			t.Fatal(err)
		}
		if len(m.nodes) != 3 || m.split != 2 {
			t.Fatalf("%d planned operators, split at %d; want 3 (the first pair fused) and 2", len(m.nodes), m.split)
		}
		f, ok := m.nodes[0].k.(*dwPointwise)
		if !ok {
			t.Fatalf("first operator is %T, want the fused depthwise + 1x1", m.nodes[0].k)
		}
		if wantBand := min(11, max(1, (minPix+8)/9)); f.band != wantBand {
			t.Fatalf("band of %d rows, want %d", f.band, wantBand)
		}
		for _, tc := range []struct {
			batch, threads int
			even           bool
		}{{1, 1, true}, {1, 2, true}, {batch, 1, true}, {batch, 2, true}, {1, 2, false}, {batch, 2, false}} {
			dwpwEvenRows = tc.even
			m.SetThreads(tc.threads)
			got := make([]float32, tc.batch*m.NumClasses())
			if err := m.Run(in[:tc.batch*per], tc.batch, got); err != nil {
				t.Fatal(err)
			}
			dwpwEvenRows = true
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("band %d rows, batch %d, threads %d, even rows %v: output %d = %g, unfused %g", f.band, tc.batch, tc.threads, tc.even, i, got[i], want[i])
				}
			}
		}
	}
}

// TestFuseDepthwisePointwiseResidual: a residual ADD after a fused
// depthwise and 1x1 convolution (of the block's input, or of an earlier
// activation; either operand order; with and without bounds) is folded in
// and added band by band, bit-identical to the unfused operators; an ADD
// that broadcasts, or whose other operand is the fused pair's output, is
// not.
func TestFuseDepthwisePointwiseResidual(t *testing.T) {
	const h, w, c = 11, 9, 16
	type variant struct {
		name      string
		fromInput bool // the residual is the depthwise's input, not an earlier 1x1's output
		swap      bool // ADD(residual, conv) rather than ADD(conv, residual)
		bounds    *Bounds
		broadcast bool // the residual is one pixel: not folded
	}
	build := func(v variant) *Graph {
		rng := rand.New(rand.NewPCG(31, 32))
		g := &Graph{PackBudget: 1 << 20}
		add := func(t *Tensor) int { g.Tensors = append(g.Tensors, t); return len(g.Tensors) - 1 }
		weights := func(shape ...int) int {
			size := 1
			for _, d := range shape {
				size *= d
			}
			return add(&Tensor{Shape: shape, Float: randFloats(rng, size), Const: true})
		}
		in := add(&Tensor{Name: "in", Shape: []int{1, h, w, c}})
		x, d, p, s, mean, pix := add(&Tensor{}), add(&Tensor{}), add(&Tensor{}), add(&Tensor{}), add(&Tensor{}), add(&Tensor{})
		g.Nodes = []Node{
			{Op: OpConv2D, Inputs: []int{in, weights(c, 1, 1, c), weights(c)}, Output: x, Padding: PadValid, StrideH: 1, StrideW: 1},
			{Op: OpDepthwiseConv2D, Inputs: []int{x, weights(1, 3, 3, c), weights(c)}, Output: d, Padding: PadSame, StrideH: 1, StrideW: 1, Act: &Bounds{0, 6}},
			{Op: OpConv2D, Inputs: []int{d, weights(c, 1, 1, c), weights(c)}, Output: p, Padding: PadValid, StrideH: 1, StrideW: 1},
		}
		res := in
		if !v.fromInput {
			res = x
		}
		if v.broadcast {
			g.Nodes = slices.Insert(g.Nodes, 1, Node{Op: OpMean, Inputs: []int{x}, Output: pix, Axes: []int{1, 2}, KeepDims: true})
			res = pix
		}
		a, b := p, res
		if v.swap {
			a, b = b, a
		}
		g.Nodes = append(g.Nodes,
			Node{Op: OpAdd, Inputs: []int{a, b}, Output: s, Act: v.bounds},
			Node{Op: OpMean, Inputs: []int{s}, Output: mean, Axes: []int{1, 2}, KeepDims: true})
		g.Input, g.Output = in, mean
		return g
	}
	defer func(b, p int) { fusedBandBytes, fusedMinPixels = b, p }(fusedBandBytes, fusedMinPixels)
	for _, v := range []variant{
		{name: "earlier activation"},
		{name: "block input", fromInput: true},
		{name: "swapped, bounds", swap: true, bounds: &Bounds{-1, 1}},
		{name: "broadcast", broadcast: true},
	} {
		t.Run(v.name, func(t *testing.T) {
			fuseDWPW = false
			ref, err := Plan(build(v))
			fuseDWPW = true
			if err != nil {
				t.Fatal(err)
			}
			for _, minPix := range []int{96, 1} { // one band; bands of one row
				fusedBandBytes, fusedMinPixels = 1, minPix
				m, err := Plan(build(v))
				if err != nil {
					t.Fatal(err)
				}
				var kinds []string
				for _, nd := range m.nodes {
					kinds = append(kinds, kernelName(nd.k))
				}
				want := []string{"conv", "depthwise+conv+add", "mean"}
				if v.broadcast {
					want = []string{"conv", "mean", "depthwise+conv", "binary", "mean"}
				}
				if !slices.Equal(kinds, want) {
					t.Fatalf("planned %q, want %q", kinds, want)
				}
				for _, tc := range []struct{ batch, threads int }{{1, 1}, {1, 2}, {3, 1}, {3, 2}} {
					in := randFloats(rand.New(rand.NewPCG(33, 34)), tc.batch*h*w*c)
					got, exp := make([]float32, tc.batch*c), make([]float32, tc.batch*c)
					ref.SetThreads(tc.threads)
					m.SetThreads(tc.threads)
					if err := ref.Run(in, tc.batch, exp); err != nil {
						t.Fatal(err)
					}
					if err := m.Run(in, tc.batch, got); err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(got, exp) {
						t.Fatalf("bands of %d pixels, batch %d, %d threads: fused %v, unfused %v", minPix, tc.batch, tc.threads, got[:4], exp[:4])
					}
				}
			}
		})
	}
}
