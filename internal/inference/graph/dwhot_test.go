package graph

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestDepthwiseHotInput: plain depthwise layers of 512 and 1024 channels
// (where the AVX2 row kernels may read padded-stride copies) give the
// same numbers with the input marked in L2 (DWParams.Hot, read in place)
// as without, at batch 1 (hot) and 3 (8x8x512: 768 KB, not), on one and
// two threads, with bounds and HARD_SWISH.
func TestDepthwiseHotInput(t *testing.T) {
	for _, s := range []struct{ h, c int }{{8, 512}, {4, 1024}, {5, 512}} {
		t.Run(fmt.Sprintf("%dx%dx%d", s.h, s.h, s.c), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(51, 52))
			g := &Graph{PackBudget: 1 << 20}
			add := func(t *Tensor) int { g.Tensors = append(g.Tensors, t); return len(g.Tensors) - 1 }
			weights := func(shape ...int) int {
				size := 1
				for _, d := range shape {
					size *= d
				}
				return add(&Tensor{Shape: shape, Float: randFloats(rng, size), Const: true})
			}
			in := add(&Tensor{Name: "in", Shape: []int{1, s.h, s.h, s.c}})
			d1, d2, hs, mean := add(&Tensor{}), add(&Tensor{}), add(&Tensor{}), add(&Tensor{})
			g.Nodes = []Node{
				{Op: OpDepthwiseConv2D, Inputs: []int{in, weights(1, 3, 3, s.c), weights(s.c)}, Output: d1, Padding: PadSame, StrideH: 1, StrideW: 1, Act: &Bounds{0, 6}},
				{Op: OpDepthwiseConv2D, Inputs: []int{d1, weights(1, 3, 3, s.c), weights(s.c)}, Output: d2, Padding: PadSame, StrideH: 1, StrideW: 1},
				{Op: OpHardSwish, Inputs: []int{d2}, Output: hs},
				{Op: OpMean, Inputs: []int{hs}, Output: mean, Axes: []int{1, 2}, KeepDims: true},
			}
			g.Input, g.Output = in, mean
			m, err := Plan(g)
			if err != nil {
				t.Fatal(err)
			}
			sameWithSwitch(t, m, &dwHotInput, s.h*s.h*s.c, s.c, 53, "hot")
		})
	}
}

// TestDepthwisePackedLayers: plain 3x3 depthwise layers give the same
// numbers on kernels.DepthwisePacked (weights packed at plan time) as on
// DepthwiseBlocked (dwPackedOn off): V1's 16x16x256 stride 2, 8x8x512,
// 4x4x1024, odd sizes (7x7x48, 5x3x32 with VALID padding), a stride-2
// layer from an odd size, bounds, none and HARD_SWISH fused, at batch 1
// and 3 on one and two threads.
func TestDepthwisePackedLayers(t *testing.T) {
	type layer struct {
		stride int
		pad    Padding
		act    *Bounds
	}
	for _, s := range []struct {
		h, w, c int
		layers  []layer
	}{
		{16, 16, 256, []layer{{2, PadSame, &Bounds{0, 6}}, {1, PadSame, nil}}},
		{8, 8, 512, []layer{{1, PadSame, &Bounds{0, 6}}, {2, PadSame, &Bounds{0, 6}}}},
		{4, 4, 1024, []layer{{1, PadSame, nil}, {1, PadSame, &Bounds{-1, 1}}}},
		{7, 7, 48, []layer{{1, PadSame, &Bounds{0, 6}}, {1, PadValid, nil}}},
		{5, 3, 32, []layer{{1, PadValid, &Bounds{0, 6}}, {1, PadSame, nil}}},
		{9, 9, 64, []layer{{2, PadSame, nil}, {1, PadSame, &Bounds{0, 6}}}},
	} {
		t.Run(fmt.Sprintf("%dx%dx%d", s.h, s.w, s.c), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(71, 72))
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
			x := in
			for _, l := range s.layers {
				y := add(&Tensor{})
				g.Nodes = append(g.Nodes, Node{Op: OpDepthwiseConv2D, Inputs: []int{x, weights(1, 3, 3, s.c), weights(s.c)}, Output: y,
					Padding: l.pad, StrideH: l.stride, StrideW: l.stride, Act: l.act})
				x = y
			}
			hs, mean := add(&Tensor{}), add(&Tensor{})
			g.Nodes = append(g.Nodes, Node{Op: OpHardSwish, Inputs: []int{x}, Output: hs},
				Node{Op: OpMean, Inputs: []int{hs}, Output: mean, Axes: []int{1, 2}, KeepDims: true})
			g.Input, g.Output = in, mean
			m, err := Plan(g)
			if err != nil {
				t.Fatal(err)
			}
			sameWithSwitch(t, m, &dwPackedOn, s.h*s.w*s.c, s.c, 73, "packed")
		})
	}
}

// sameWithSwitch runs m at batch 1 and 3 on 1 and 2 threads (perImage input
// floats, outPer outputs an image) with *sw on and then off, and fails unless
// both give the same bits; *sw is restored.
func sameWithSwitch(t *testing.T, m *Model, sw *bool, perImage, outPer int, seed uint64, what string) {
	t.Helper()
	defer func(v bool) { *sw = v }(*sw)
	for _, tc := range []struct{ batch, threads int }{{1, 1}, {1, 2}, {3, 1}, {3, 2}} {
		x := randFloats(rand.New(rand.NewPCG(seed, seed+1)), tc.batch*perImage)
		m.SetThreads(tc.threads)
		var outs [2][]float32
		for i, on := range []bool{true, false} {
			*sw = on
			outs[i] = make([]float32, tc.batch*outPer)
			if err := m.Run(x, tc.batch, outs[i]); err != nil {
				t.Fatal(err)
			}
		}
		if !slices.Equal(outs[0], outs[1]) {
			t.Fatalf("batch %d, %d threads: %s on %v, off %v", tc.batch, tc.threads, what, outs[0][:4], outs[1][:4])
		}
	}
}
