package graph

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// TestDepthwisePlanesOperator: the depthwise operator runs 5x5 and 7x7
// windows at strides 1 and 2 (HARD_SWISH fused) through
// kernels.DepthwisePlanes and 3x3 ones through DepthwiseBlocked,
// and gives exactly the numbers of the same graph planned with the plane
// kernels off (the taps are summed in the same order), at batch 3 on one
// and two threads (two threads split each image's rows).
func TestDepthwisePlanesOperator(t *testing.T) {
	const h, w, c = 14, 13, 40
	build := func() *Graph {
		rng := rand.New(rand.NewPCG(31, 32))
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
		var ts [6]int
		for i := range ts {
			ts[i] = add(&Tensor{})
		}
		g.Nodes = []Node{
			{Op: OpDepthwiseConv2D, Inputs: []int{in, weights(1, 5, 5, c), weights(c)}, Output: ts[0], Padding: PadSame, StrideH: 1, StrideW: 1, Act: &Bounds{0, 6}},
			{Op: OpDepthwiseConv2D, Inputs: []int{ts[0], weights(1, 5, 5, c), weights(c)}, Output: ts[1], Padding: PadSame, StrideH: 2, StrideW: 2},
			{Op: OpHardSwish, Inputs: []int{ts[1]}, Output: ts[2]},
			{Op: OpDepthwiseConv2D, Inputs: []int{ts[2], weights(1, 7, 7, c), weights(c)}, Output: ts[3], Padding: PadSame, StrideH: 1, StrideW: 1},
			{Op: OpDepthwiseConv2D, Inputs: []int{ts[3], weights(1, 3, 3, c), weights(c)}, Output: ts[4], Padding: PadSame, StrideH: 2, StrideW: 2, Act: &Bounds{-1, 1}},
			{Op: OpMean, Inputs: []int{ts[4]}, Output: ts[5], Axes: []int{1, 2}, KeepDims: true},
		}
		g.Input, g.Output = in, ts[5]
		return g
	}
	m, err := Plan(build())
	if err != nil {
		t.Fatal(err)
	}
	saved := dwPlanes
	dwPlanes = false
	old, err := Plan(build())
	dwPlanes = saved
	if err != nil {
		t.Fatal(err)
	}
	var planes []bool
	for _, nd := range m.nodes {
		if k, ok := nd.k.(*depthwiseKernel); ok {
			planes = append(planes, k.planes)
		}
	}
	// The plane kernels need AVX2 at least (CSPIPE_KERNELS=generic keeps every layer on
	// DepthwiseBlocked, and the comparison below then holds trivially).
	v := kernels.Path() != "generic"
	if want := []bool{v, v, v, false}; !slices.Equal(planes, want) {
		t.Fatalf("depthwise layers on the plane kernels: %v, want %v", planes, want)
	}
	for _, nd := range old.nodes {
		if k, ok := nd.k.(*depthwiseKernel); ok && k.planes {
			t.Fatal("a depthwise layer takes the plane kernels with them switched off")
		}
	}
	const batch = 3
	rng := rand.New(rand.NewPCG(33, 34))
	in := randFloats(rng, batch*h*w*c)
	for i := range in {
		in[i] *= 4
	}
	for _, threads := range []int{1, 2} {
		m.SetThreads(threads)
		old.SetThreads(threads)
		got, want := make([]float32, batch*c), make([]float32, batch*c)
		if err := m.Run(in, batch, got); err != nil {
			t.Fatal(err)
		}
		if err := old.Run(in, batch, want); err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("threads %d: output %d = %g, with DepthwiseBlocked %g", threads, i, got[i], want[i])
			}
		}
	}
}
