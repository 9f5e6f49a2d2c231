package graph

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// TestStemRow32Operator: a 3x3 RGB stem to 32 channels read in place
// (runRows) gives the same bits on kernels.StemRow32 as on GemmSegs, for
// SAME padding of even sizes (a column of zeros right) and odd ones
// (windows leaving the image on every side), VALID padding, stride 1 and
// 2, bounds and none, a batch of two on one thread and one image on two
// threads; with HARD_SWISH fused (which StemRow32 does not take) the
// result is GemmSegs's too.
func TestStemRow32Operator(t *testing.T) {
	if !kernels.StemRow32Fast(27, 32) {
		t.Skip("no whole-row stem kernel on this CPU")
	}
	defer func(v bool) { stemRow32 = v }(stemRow32)
	for _, tc := range []struct {
		h, w, stride int
		pad          Padding
		act          *Bounds
		hs           bool
	}{
		{128, 128, 2, PadSame, &Bounds{0, 6}, false}, {23, 29, 2, PadSame, nil, false}, {23, 29, 2, PadValid, &Bounds{-1, 1}, false},
		{17, 20, 1, PadSame, nil, false}, {224, 224, 2, PadSame, &Bounds{0, 6}, false}, {9, 9, 2, PadSame, &Bounds{0, 6}, false},
		{24, 30, 2, PadSame, nil, true},
	} {
		t.Run(fmt.Sprintf("%dx%d/s%d/pad%d/hs%v", tc.h, tc.w, tc.stride, tc.pad, tc.hs), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(51, uint64(tc.h)))
			g := &Graph{PackBudget: 1 << 22}
			add := func(t *Tensor) int { g.Tensors = append(g.Tensors, t); return len(g.Tensors) - 1 }
			in := add(&Tensor{Name: "in", Shape: []int{1, tc.h, tc.w, 3}})
			f := add(&Tensor{Shape: []int{32, 3, 3, 3}, Float: randFloats(rng, 32*27), Const: true})
			b := add(&Tensor{Shape: []int{32}, Float: randFloats(rng, 32), Const: true})
			c := add(&Tensor{})
			g.Nodes = []Node{{Op: OpConv2D, Inputs: []int{in, f, b}, Output: c, Padding: tc.pad, StrideH: tc.stride, StrideW: tc.stride, Act: tc.act}}
			if tc.hs {
				o := add(&Tensor{})
				g.Nodes = append(g.Nodes, Node{Op: OpHardSwish, Inputs: []int{c}, Output: o})
				c = o
			}
			g.Input, g.Output = in, c
			m, err := Plan(g)
			if err != nil {
				t.Fatal(err)
			}
			if k := m.nodes[0].k.(*convKernel); !k.rows || k.hs != tc.hs {
				t.Fatalf("stem not on runRows (rows %v) or HARD_SWISH fused %v, want %v", k.rows, k.hs, tc.hs)
			}
			const batch = 2
			per := tc.h * tc.w * 3
			x := randFloats(rand.New(rand.NewPCG(52, 53)), batch*per)
			for i := range x {
				x[i] *= 4
			}
			outPer := m.NumClasses()
			for _, run := range []struct{ batch, threads int }{{batch, 1}, {1, 2}} {
				m.SetThreads(run.threads)
				var outs [2][]float32
				for i, on := range []bool{false, true} {
					stemRow32 = on
					outs[i] = make([]float32, run.batch*outPer)
					if err := m.Run(x[:run.batch*per], run.batch, outs[i]); err != nil {
						t.Fatal(err)
					}
				}
				if !slices.Equal(outs[0], outs[1]) {
					t.Fatalf("batch %d threads %d: StemRow32 differs from GemmSegs", run.batch, run.threads)
				}
			}
		})
	}
}
