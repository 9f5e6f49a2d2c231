package graph

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
)

// testPair builds a depthwise 3x3 (stride s) -> project 1x1 (-> cout)
// pair as planned nodes: MobileNet V2's first block, V1's layers.
func testPair(rng *rand.Rand, h, w, c, s, cout int) *Model {
	pad := 1
	if s == 2 {
		pad = 0 // TFLite's SAME at stride 2: bottom and right only
	}
	dw := newTestQDW(rng, h, w, c, 3, 3, s, s, pad, pad, int32(rng.IntN(256))-128, false)
	dw.oh, dw.ow = (h+s-1)/s, (w+s-1)/s
	dw.padded = dw.choosePadded()
	pr := newTestQConv(rng, dw.oh, dw.ow, c, cout, 1, 1, 1, 1, 0, 0)
	pr.inZP = dw.outZP
	pr.packGemm()
	return &Model{tensors: []*Tensor{{}, {}, {}}, output: 2,
		nodes: []planned{{k: dw, ins: []int{0}, out: 1}, {k: pr, ins: []int{1}, out: 2}}}
}

// TestQPairMatchesSeparate: the banded depthwise -> project pair computes
// bit for bit what the two operators do one after the other, on odd
// shapes, at stride 1 and 2, with bands of one row, three rows and the
// chosen size, on one and two threads and batches of one and three; with
// the switch off, or where the image is narrower than minBlockWidth, or
// where the output is read twice, the operators stay separate.
func TestQPairMatchesSeparate(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	for _, tc := range []struct{ h, w, c, s, cout int }{
		{64, 64, 32, 1, 16}, // V2 1.0@128's first block
		{33, 31, 32, 1, 24},
		{33, 31, 16, 2, 40},
		{9, 8, 64, 1, 8},
		{17, 12, 48, 2, 64},
		{16, 16, 96, 1, 4},
	} {
		m := testPair(rng, tc.h, tc.w, tc.c, tc.s, tc.cout)
		dw := m.nodes[0].k.(*qconvKernel)
		outN := dw.oh * dw.ow * tc.cout
		f := &Model{tensors: m.tensors, output: m.output, nodes: slices.Clone(m.nodes)}
		f.fuseQuantBlocks()
		blk, ok := f.nodes[0].k.(*qblockKernel)
		if len(f.nodes) != 1 || !ok {
			if !dw.dw.HasInt8Pixels3x3() {
				t.Skip("no int8 3x3 depthwise kernel on this CPU (CSPIPE_KERNELS or no AVX-512)")
			}
			t.Fatalf("%+v: %d nodes after fusion, want one pair", tc, len(f.nodes))
		}
		if blk.t4 != dw.dw.HasT4() {
			t.Fatalf("%+v: block on T4 rows %v, T4 kernel here %v", tc, blk.t4, dw.dw.HasT4())
		}
		if blk.ex != nil || !slices.Equal(f.nodes[0].ins, []int{0}) || f.nodes[0].out != 2 {
			t.Fatalf("%+v: fused node reads %v, writes %d", tc, f.nodes[0].ins, f.nodes[0].out)
		}
		for _, batch := range []int{1, 3} {
			in := make([]int8, batch*tc.h*tc.w*tc.c)
			for i := range in {
				in[i] = int8(rng.IntN(256) - 128)
			}
			want := runNodes(m, in, batch, 1, outN)
			for _, t4 := range []bool{blk.t4, false} {
				blk.t4 = t4
				for _, band := range []int{blk.band, 1, 3} {
					blk.band, blk.ring = band, (band-1)*dw.sh+3
					for _, threads := range []int{1, 2} {
						if got := runNodes(f, in, batch, threads, outN); !slices.Equal(got, want) {
							i := 0
							for got[i] == want[i] {
								i++
							}
							t.Fatalf("%+v batch %d t4 %v band %d threads %d: output %d is %d, want %d", tc, batch, t4, band, threads, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
	restore := SetQuantPairs(false)
	m := testPair(rng, 64, 64, 32, 1, 16)
	m.fuseQuantBlocks()
	restore()
	if len(m.nodes) != 2 {
		t.Fatalf("with pairs off, the pair was fused into %d nodes", len(m.nodes))
	}
	m = testPair(rng, 4, 4, 64, 1, 64)
	m.fuseQuantBlocks()
	if len(m.nodes) != 2 {
		t.Fatalf("a 4x4 pair was fused into %d nodes", len(m.nodes))
	}
	// The depthwise output is also the model's output: not fused.
	m = testPair(rng, 16, 16, 32, 1, 16)
	m.output = 1
	m.fuseQuantBlocks()
	if len(m.nodes) != 2 {
		t.Fatalf("a pair whose depthwise output is read elsewhere was fused into %d nodes", len(m.nodes))
	}
}

// BenchmarkQPair: V2 1.0@128's first block (64x64x32 depthwise, 1x1 to
// 16) and V1 1.0@128's first pair (to 64), fused against the two
// operators one after the other on one image; "speedup" is the median
// over rounds of the separate operators' time over the pair's, run back
// to back.
func BenchmarkQPair(b *testing.B) {
	rng := rand.New(rand.NewPCG(19, 20))
	for _, tc := range []struct{ h, w, c, s, cout int }{
		{64, 64, 32, 1, 16}, {64, 64, 32, 1, 64}, {16, 16, 256, 1, 256}, {8, 8, 256, 2, 512},
	} {
		m := testPair(rng, tc.h, tc.w, tc.c, tc.s, tc.cout)
		f := &Model{tensors: m.tensors, output: m.output, nodes: slices.Clone(m.nodes)}
		f.fuseQuantBlocks()
		if len(f.nodes) != 1 {
			continue // no int8 depthwise kernel here, or not fused
		}
		runner := func(mod *Model) func() {
			bufs := map[int][]float32{0: make([]float32, tc.h*tc.w*tc.c/4+1)}
			for _, nd := range mod.nodes {
				bufs[nd.out] = make([]float32, 1<<18)
			}
			e := &env{batch: 1, threads: 1}
			var ins [2][]float32
			return func() {
				for _, nd := range mod.nodes {
					args := ins[:0]
					for _, ti := range nd.ins {
						args = append(args, bufs[ti])
					}
					nd.k.run(e, args, bufs[nd.out])
				}
			}
		}
		sep, fus := runner(m), runner(f)
		b.Run(fmt.Sprintf("%dx%dx%d-s%d-to%d", tc.h, tc.w, tc.c, tc.s, tc.cout), func(b *testing.B) {
			abbench.Speedup(b, sep, fus)
		})
	}
}
