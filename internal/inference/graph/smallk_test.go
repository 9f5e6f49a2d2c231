package graph

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSmallKBitIdentical: a plain 1x1 convolution of few input channels
// (convSmallK) and a fused depthwise+1x1 pair (dwpwSmallK) on
// kernels.GemmSmallK give bit for bit what GemmAct and Gemm give
// unfused, for output widths of one pair of 32-column panels, two, a pair
// and a single panel, a pair and a partial one, and one partial panel
// after a K over smallKMaxK; bands of every row
// and of one row (row counts not multiples of the kernel's six-row tile);
// with the block's input added back as a residual; one and two threads,
// one image and three.
func TestSmallKBitIdentical(t *testing.T) {
	const h, w = 13, 11
	type shape struct{ c0, c, n int } // input, expanded and output channels
	build := func(s shape, residual bool) *Graph {
		rng := rand.New(rand.NewPCG(uint64(s.c0), uint64(s.n)))
		g := &Graph{PackBudget: 1 << 22}
		add := func(t *Tensor) int { g.Tensors = append(g.Tensors, t); return len(g.Tensors) - 1 }
		weights := func(shape ...int) int {
			size := 1
			for _, d := range shape {
				size *= d
			}
			return add(&Tensor{Shape: shape, Float: randFloats(rng, size), Const: true})
		}
		in := add(&Tensor{Name: "in", Shape: []int{1, h, w, s.c0}})
		x, d, p, sum := add(&Tensor{}), add(&Tensor{}), add(&Tensor{}), add(&Tensor{})
		g.Nodes = []Node{
			{Op: OpConv2D, Inputs: []int{in, weights(s.c, 1, 1, s.c0), weights(s.c)}, Output: x, Padding: PadValid, StrideH: 1, StrideW: 1, Act: &Bounds{0, 6}},
			{Op: OpDepthwiseConv2D, Inputs: []int{x, weights(1, 3, 3, s.c), weights(s.c)}, Output: d, Padding: PadSame, StrideH: 1, StrideW: 1, Act: &Bounds{0, 6}},
			{Op: OpConv2D, Inputs: []int{d, weights(s.n, 1, 1, s.c), weights(s.n)}, Output: p, Padding: PadValid, StrideH: 1, StrideW: 1, Act: &Bounds{-1, 1}},
		}
		g.Input, g.Output = in, p
		if residual {
			g.Nodes = append(g.Nodes, Node{Op: OpAdd, Inputs: []int{p, in}, Output: sum})
			g.Output = sum
		}
		return g
	}
	defer func(b, p int) { fusedBandBytes, fusedMinPixels = b, p }(fusedBandBytes, fusedMinPixels)
	defer func(d, c bool) { dwpwSmallK, convSmallK = d, c }(dwpwSmallK, convSmallK)
	for _, tc := range []struct {
		s        shape
		residual bool
	}{
		{shape{16, 32, 64}, false},
		{shape{24, 64, 128}, false},
		{shape{32, 96, 96}, false},
		{shape{16, 48, 80}, false},
		{shape{24, 136, 24}, true}, // K over smallKMaxK, weights under smallKMaxKN
		{shape{64, 32, 64}, true},
	} {
		t.Run(fmt.Sprintf("%dx%dx%d/res=%v", tc.s.c0, tc.s.c, tc.s.n, tc.residual), func(t *testing.T) {
			fuseDWPW = false
			ref, err := Plan(build(tc.s, tc.residual))
			fuseDWPW = true
			if err != nil {
				t.Fatal(err)
			}
			for _, minPix := range []int{1000, 1} { // one band; bands of one row
				fusedBandBytes, fusedMinPixels = 1, minPix
				m, err := Plan(build(tc.s, tc.residual))
				if err != nil {
					t.Fatal(err)
				}
				var kinds []string
				for _, nd := range m.nodes {
					kinds = append(kinds, kernelName(nd.k))
				}
				fused := "depthwise+conv"
				if tc.residual {
					fused = "depthwise+conv+add"
				}
				if want := []string{"conv", fused}; !slices.Equal(kinds, want) {
					t.Fatalf("planned %q, want %q", kinds, want)
				}
				for _, run := range []struct{ batch, threads int }{{1, 1}, {1, 2}, {3, 1}, {3, 2}} {
					in := randFloats(rand.New(rand.NewPCG(5, 6)), run.batch*h*w*tc.s.c0)
					got, exp := make([]float32, run.batch*m.NumClasses()), make([]float32, run.batch*m.NumClasses())
					ref.SetThreads(run.threads)
					m.SetThreads(run.threads)
					dwpwSmallK, convSmallK = false, false
					if err := ref.Run(in, run.batch, exp); err != nil {
						t.Fatal(err)
					}
					dwpwSmallK, convSmallK = true, true
					if err := m.Run(in, run.batch, got); err != nil {
						t.Fatal(err)
					}
					for i := range got {
						if got[i] != exp[i] {
							t.Fatalf("bands of %d pixels, batch %d, %d threads: output %d = %g, Gemm's %g", minPix, run.batch, run.threads, i, got[i], exp[i])
						}
					}
				}
			}
		})
	}
}
