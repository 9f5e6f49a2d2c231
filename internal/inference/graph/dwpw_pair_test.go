package graph

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// TestDWPWPair: fused depthwise+1x1 pairs whose 1x1 runs on
// kernels.GemmPair (dwpwPair) give the unfused operators' bits, and so do
// the same pairs with it off (here on every K, not only to pairMaxK),
// each with the depthwise on kernels.DepthwisePacked where it takes the
// band (dwpwPacked, channels a multiple of 16 on AVX2: bands of one row
// have window rows above and below the image and a negative top padding)
// and on DepthwiseBlocked, with GemmPair prefetching the next band's
// input rows (dwpwAhead) and not: odd widths and heights, strides 1 and 2,
// outputs of whole and partial 16-column panels, K not a multiple of four
// steps, a band of one row and the default bands, batch 1 and 3, one and
// two threads.
func TestDWPWPair(t *testing.T) {
	defer func(b, p int) { fusedBandBytes, fusedMinPixels = b, p }(fusedBandBytes, fusedMinPixels)
	defer func(v bool, k int) { dwpwPair, pairMaxK = v, k }(dwpwPair, pairMaxK)
	defer func(v [2]bool) { dwpwPacked = v }(dwpwPacked)
	defer func(v bool) { dwpwAhead = v }(dwpwAhead)
	pairMaxK = 1 << 20 // every K on GemmPair
	for _, s := range []struct{ h, w, cin, stride, cout int }{
		{13, 11, 32, 1, 64}, {17, 19, 64, 2, 128}, {13, 11, 128, 1, 128}, {25, 23, 128, 2, 256},
		{7, 13, 24, 1, 40}, {11, 5, 8, 2, 24}, {9, 9, 48, 1, 17}, {16, 16, 16, 2, 32}, {18, 17, 48, 2, 40},
	} {
		build := dwpwPairGraph(s.h, s.w, s.cin, s.stride, s.cout)
		const batch = 3
		per := s.h * s.w * s.cin
		in, want := unfusedPairRef(t, build, batch, per, 5)
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
			if k := kernelName(m.nodes[0].k); k != "depthwise+conv" {
				t.Fatalf("%+v: planned %q, want the fused pair", s, k)
			}
			f := m.nodes[0].k.(*dwPointwise)
			if want := kernels.Path() == "avx2" && s.cin%16 == 0; (f.dw.wpack != nil) != want {
				t.Fatalf("%+v: packed depthwise weights %v, want %v", s, f.dw.wpack != nil, want)
			}
			for _, v := range []struct{ pair, packed, ahead bool }{{true, true, true}, {true, true, false}, {true, false, true}, {false, true, true}} {
				dwpwPair, dwpwPacked, dwpwAhead = v.pair, [2]bool{v.packed, v.packed}, v.ahead
				for _, tc := range []struct{ batch, threads int }{{1, 1}, {1, 2}, {batch, 1}, {batch, 2}} {
					name := fmt.Sprintf("%dx%dx%d-s%d-%d/minpix%d/pair=%v/packed=%v/ahead=%v/batch%d/threads%d", s.h, s.w, s.cin, s.stride, s.cout, minPix, v.pair, v.packed, v.ahead, tc.batch, tc.threads)
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

// dwpwPairGraph returns a builder of the graph a 3x3 depthwise (ReLU6) of
// the given stride -> a 1x1 of cout channels (clamped to [-1, 3]) on an
// h x w x cin input, its weights random from a seed of the shape.
func dwpwPairGraph(h, w, cin, stride, cout int) func() *Graph {
	return func() *Graph {
		rng := rand.New(rand.NewPCG(uint64(h), uint64(cin)))
		g := &Graph{PackBudget: 1 << 24}
		add := func(t *Tensor) int { g.Tensors = append(g.Tensors, t); return len(g.Tensors) - 1 }
		in := add(&Tensor{Name: "in", Shape: []int{1, h, w, cin}})
		dw := add(&Tensor{Shape: []int{1, 3, 3, cin}, Float: randFloats(rng, 9*cin), Const: true})
		dwb := add(&Tensor{Shape: []int{cin}, Float: randFloats(rng, cin), Const: true})
		pw := add(&Tensor{Shape: []int{cout, 1, 1, cin}, Float: randFloats(rng, cout*cin), Const: true})
		pwb := add(&Tensor{Shape: []int{cout}, Float: randFloats(rng, cout), Const: true})
		d, p := add(&Tensor{}), add(&Tensor{})
		g.Nodes = []Node{
			{Op: OpDepthwiseConv2D, Inputs: []int{in, dw, dwb}, Output: d, Padding: PadSame, StrideH: stride, StrideW: stride, Act: &Bounds{0, 6}},
			{Op: OpConv2D, Inputs: []int{d, pw, pwb}, Output: p, Padding: PadValid, StrideH: 1, StrideW: 1, Act: &Bounds{-1, 3}},
		}
		g.Input, g.Output = in, p
		return g
	}
}

// unfusedPairRef plans build's graph with the depthwise -> 1x1 fusion off
// and runs it on one thread over a random batch (per floats an image)
// from seed: the input, and the output a fused pair must reproduce bit
// for bit.
func unfusedPairRef(t *testing.T, build func() *Graph, batch, per int, seed uint64) (in, want []float32) {
	t.Helper()
	fuseDWPW = false
	ref, err := Plan(build())
	fuseDWPW = true
	if err != nil {
		t.Fatal(err)
	}
	in = randFloats(rand.New(rand.NewPCG(seed, seed+1)), batch*per)
	want = make([]float32, batch*ref.NumClasses())
	ref.SetThreads(1)
	if err := ref.Run(in, batch, want); err != nil {
		t.Fatal(err)
	}
	return in, want
}
