package graph

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestDWPWAheadSmallK: fused depthwise+1x1 pairs whose 1x1 runs on
// kernels.GemmSmallKAhead (K above pairMaxK, inputs of smallKAheadMin
// bytes and more) give the unfused operators' bits with the next band's
// rows prefetched (dwpwAheadSmallK) and not: odd widths and heights,
// strides 1 and 2, outputs of whole and partial 16-column panels, K not a
// multiple of four steps, a band of one row and the default bands, batch 1
// and 2, one and two threads.
func TestDWPWAheadSmallK(t *testing.T) {
	defer func(b, p int) { fusedBandBytes, fusedMinPixels = b, p }(fusedBandBytes, fusedMinPixels)
	defer func(v bool) { dwpwAheadSmallK = v }(dwpwAheadSmallK)
	for _, s := range []struct{ h, w, cin, stride, cout int }{
		{33, 31, 128, 1, 128}, {32, 32, 128, 2, 256}, {23, 25, 144, 2, 32}, {29, 27, 96, 1, 48}, {27, 29, 90, 1, 40}, {31, 23, 98, 2, 64},
	} {
		if 4*s.h*s.w*s.cin < smallKAheadMin {
			t.Fatalf("%+v: input below smallKAheadMin", s)
		}
		build := func() *Graph {
			rng := rand.New(rand.NewPCG(uint64(s.h), uint64(s.cin)))
			g := &Graph{PackBudget: 1 << 24}
			add := func(t *Tensor) int { g.Tensors = append(g.Tensors, t); return len(g.Tensors) - 1 }
			in := add(&Tensor{Name: "in", Shape: []int{1, s.h, s.w, s.cin}})
			dw := add(&Tensor{Shape: []int{1, 3, 3, s.cin}, Float: randFloats(rng, 9*s.cin), Const: true})
			dwb := add(&Tensor{Shape: []int{s.cin}, Float: randFloats(rng, s.cin), Const: true})
			pw := add(&Tensor{Shape: []int{s.cout, 1, 1, s.cin}, Float: randFloats(rng, s.cout*s.cin), Const: true})
			pwb := add(&Tensor{Shape: []int{s.cout}, Float: randFloats(rng, s.cout), Const: true})
			d, p := add(&Tensor{}), add(&Tensor{})
			g.Nodes = []Node{
				{Op: OpDepthwiseConv2D, Inputs: []int{in, dw, dwb}, Output: d, Padding: PadSame, StrideH: s.stride, StrideW: s.stride, Act: &Bounds{0, 6}},
				{Op: OpConv2D, Inputs: []int{d, pw, pwb}, Output: p, Padding: PadValid, StrideH: 1, StrideW: 1, Act: &Bounds{-1, 3}},
			}
			g.Input, g.Output = in, p
			return g
		}
		fuseDWPW = false
		ref, err := Plan(build())
		fuseDWPW = true
		if err != nil {
			t.Fatal(err)
		}
		const batch = 2
		per := s.h * s.w * s.cin
		in := randFloats(rand.New(rand.NewPCG(7, 8)), batch*per)
		want := make([]float32, batch*ref.NumClasses())
		ref.SetThreads(1)
		if err := ref.Run(in, batch, want); err != nil {
			t.Fatal(err)
		}
		for _, minPix := range []int{0, 1} { // default bands; bands of one row
			restore := SetFusedBands(fusedBandBytes, fusedMinPixels)
			if minPix > 0 {
				fusedBandBytes, fusedMinPixels = 1, minPix
			}
			m, err := Plan(build())
			restore()
			if err != nil {
				t.Fatal(err)
			}
			f, ok := m.nodes[0].k.(*dwPointwise)
			if !ok || f.pairGemm() {
				t.Fatalf("%+v: planned %q (on GemmPair: %v), want the fused pair on GemmSmallK", s, kernelName(m.nodes[0].k), ok)
			}
			dwpwAheadSmallK = true
			if f.dw.p.OH > f.band && len(f.smallKAhead(in[:per], f.band, f.dw.p.OH)) == 0 {
				t.Fatalf("%+v: no rows to prefetch after the first band", s)
			}
			for _, ahead := range []bool{true, false} {
				dwpwAheadSmallK = ahead
				for _, tc := range []struct{ batch, threads int }{{1, 1}, {1, 2}, {batch, 1}, {batch, 2}} {
					name := fmt.Sprintf("%dx%dx%d-s%d-%d/minpix%d/ahead=%v/batch%d/threads%d", s.h, s.w, s.cin, s.stride, s.cout, minPix, ahead, tc.batch, tc.threads)
					m.SetThreads(tc.threads)
					got := make([]float32, tc.batch*m.NumClasses())
					if err := m.Run(in[:tc.batch*per], tc.batch, got); err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(got, want[:len(got)]) {
						for i := range got {
							if got[i] != want[i] {
								t.Fatalf("%s: output %d = %g, unfused %g", name, i, got[i], want[i])
							}
						}
					}
				}
			}
		}
	}
}
