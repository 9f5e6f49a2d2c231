package graph

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// TestFuseDepthwisePointwiseHardSwish: a depthwise convolution followed by
// HARD_SWISH and a 1x1 convolution runs fused, the HARD_SWISH applied in
// the band either as the depthwise stores each row (dwpwHSRows) or in a
// pass over the band, its 5x5 depthwise on the plane kernels or
// DepthwiseBlocked, and all give exactly the unfused operators' numbers
// (the layers alone on DepthwiseBlocked): 3x3 and 5x5 windows, strides 1 and 2, channels a multiple of
// 8 or 16 (the AVX2 row kernels) and not, bounds or none, one band and
// bands of one row, batch 1 and 3 on one and two threads.
func TestFuseDepthwisePointwiseHardSwish(t *testing.T) {
	type shape struct {
		h, w, c, k, stride, cout int
		bounds                   *Bounds
	}
	build := func(s shape) *Graph {
		rng := rand.New(rand.NewPCG(41, 42))
		g := &Graph{PackBudget: 1 << 20}
		add := func(t *Tensor) int { g.Tensors = append(g.Tensors, t); return len(g.Tensors) - 1 }
		weights := func(shape ...int) int {
			size := 1
			for _, d := range shape {
				size *= d
			}
			return add(&Tensor{Shape: shape, Float: randFloats(rng, size), Const: true})
		}
		in := add(&Tensor{Name: "in", Shape: []int{1, s.h, s.w, s.c}})
		d, hs, p, mean := add(&Tensor{}), add(&Tensor{}), add(&Tensor{}), add(&Tensor{})
		g.Nodes = []Node{
			{Op: OpDepthwiseConv2D, Inputs: []int{in, weights(1, s.k, s.k, s.c), weights(s.c)}, Output: d, Padding: PadSame, StrideH: s.stride, StrideW: s.stride, Act: s.bounds},
			{Op: OpHardSwish, Inputs: []int{d}, Output: hs},
			{Op: OpConv2D, Inputs: []int{hs, weights(s.cout, 1, 1, s.c), weights(s.cout)}, Output: p, Padding: PadValid, StrideH: 1, StrideW: 1},
			{Op: OpMean, Inputs: []int{p}, Output: mean, Axes: []int{1, 2}, KeepDims: true},
		}
		g.Input, g.Output = in, mean
		return g
	}
	defer func(b, p int, rows, planes, pp bool) {
		fusedBandBytes, fusedMinPixels, dwpwHSRows, dwPlanes, dwpwPlanes = b, p, rows, planes, pp
	}(fusedBandBytes, fusedMinPixels, dwpwHSRows, dwPlanes, dwpwPlanes)
	for _, s := range []shape{
		{h: 11, w: 9, c: 16, k: 3, stride: 1, cout: 24},
		{h: 12, w: 13, c: 32, k: 3, stride: 2, cout: 40, bounds: &Bounds{-3, 3}},
		{h: 11, w: 9, c: 12, k: 3, stride: 2, cout: 16},
		{h: 10, w: 10, c: 24, k: 3, stride: 1, cout: 8, bounds: &Bounds{0, 6}},
		{h: 9, w: 7, c: 16, k: 5, stride: 1, cout: 24},
		{h: 14, w: 13, c: 40, k: 5, stride: 2, cout: 16},
	} {
		t.Run(fmt.Sprintf("%dx%dx%d-k%d-s%d-%d", s.h, s.w, s.c, s.k, s.stride, s.cout), func(t *testing.T) {
			fuseDWPW, dwPlanes = false, false
			ref, err := Plan(build(s))
			fuseDWPW, dwPlanes = true, true
			if err != nil {
				t.Fatal(err)
			}
			for _, minPix := range []int{1 << 20, 1} { // one band; bands of one row
				fusedBandBytes, fusedMinPixels = 1, minPix
				m, err := Plan(build(s))
				if err != nil {
					t.Fatal(err)
				}
				var kinds []string
				for _, nd := range m.nodes {
					kinds = append(kinds, kernelName(nd.k))
				}
				if want := []string{"depthwise(hardswish)+conv", "mean"}; !slices.Equal(kinds, want) {
					t.Fatalf("planned %q, want %q", kinds, want)
				}
				f := m.nodes[0].k.(*dwPointwise)
				if !f.dw.hs {
					t.Fatal("HARD_SWISH not fused into the depthwise")
				}
				if want := dwpwPlanesOn && kernels.DWPlanesFaster(&f.dw.p); f.planes != want {
					t.Fatalf("depthwise on the planes %v, want %v", f.planes, want)
				}
				if s.k == 5 && kernels.Path() == "avx2" && !f.planes {
					t.Fatal("5x5 depthwise not on the planes")
				}
				for _, v := range []struct{ rows, planes bool }{{true, true}, {false, true}, {true, false}, {false, false}} {
					rows := v.rows
					dwpwHSRows, dwpwPlanes = v.rows, v.planes
					for _, tc := range []struct{ batch, threads int }{{1, 1}, {1, 2}, {3, 1}, {3, 2}} {
						in := randFloats(rand.New(rand.NewPCG(43, 44)), tc.batch*s.h*s.w*s.c)
						got, exp := make([]float32, tc.batch*s.cout), make([]float32, tc.batch*s.cout)
						ref.SetThreads(tc.threads)
						m.SetThreads(tc.threads)
						if err := ref.Run(in, tc.batch, exp); err != nil {
							t.Fatal(err)
						}
						if err := m.Run(in, tc.batch, got); err != nil {
							t.Fatal(err)
						}
						if !slices.Equal(got, exp) {
							t.Fatalf("bands of %d pixels, rows %v, planes %v, batch %d, %d threads: fused %v, unfused %v", minPix, rows, v.planes, tc.batch, tc.threads, got[:4], exp[:4])
						}
					}
				}
			}
		})
	}
}
