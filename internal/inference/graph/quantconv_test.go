package graph

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// newTestQConv builds a quantized convolution with random int8 weights,
// biases and per-channel rescales, laid out as planQConv leaves it.
func newTestQConv(rng *rand.Rand, h, w, cin, cout, kh, kw, sh, sw, padT, padL int) *qconvKernel {
	k := &qconvKernel{h: h, w: w, cin: cin, cout: cout, kh: kh, kw: kw, sh: sh, sw: sw, padT: padT, padL: padL,
		inZP: int32(rng.IntN(41)) - 20, outZP: int32(rng.IntN(21)) - 10, lo: -128, hi: 127}
	k.oh = (h+2*padT-kh)/sh + 1
	k.ow = (w+2*padL-kw)/sw + 1
	k.wt = make([]int32, cout*kh*kw*cin)
	for i := range k.wt {
		k.wt[i] = int32(rng.IntN(255)) - 127
	}
	k.bias = make([]int32, cout)
	scales := make([]float64, cout)
	for c := range k.bias {
		k.bias[c] = int32(rng.IntN(4001)) - 2000
		scales[c] = 0.002 + rng.Float64()*0.01
	}
	k.rq = requants(0.05, scales, qparam{scale: 0.02 + rng.Float64()*0.2, zp: k.outZP})
	k.packGemm()
	return k
}

// TestQConvGemmMatchesScalar: the int8 GEMM convolution (its gather, the
// narrow-row copy of stem convolutions with few input channels, their
// window rows read in place from a padded copy (convRowsSeg), and the
// batch-wide direct 1x1 path) computes exactly what the scalar loop does,
// padding and borders included.
func TestQConvGemmMatchesScalar(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	type shape struct{ h, w, cin, cout, kh, kw, sh, sw, padT, padL int }
	for _, s := range []shape{
		{33, 31, 3, 32, 3, 3, 2, 2, 1, 1}, // stem, narrow rows
		{32, 32, 3, 16, 3, 3, 2, 2, 0, 0}, // stem, valid padding
		{17, 19, 1, 8, 3, 3, 1, 1, 1, 1},
		{20, 13, 5, 24, 3, 3, 1, 1, 1, 1}, // 15-byte rows
		{20, 13, 4, 24, 2, 4, 1, 2, 0, 1}, // 16-byte rows
		{20, 13, 6, 24, 3, 3, 2, 1, 1, 1}, // 18-byte rows: no narrow copy
		{9, 7, 2, 40, 5, 5, 2, 2, 2, 2},
		{8, 8, 64, 48, 1, 1, 1, 1, 0, 0},  // direct 1x1
		{12, 9, 20, 33, 1, 1, 1, 1, 0, 0}, // 1x1, channels not filling Kp
	} {
		t.Run(fmt.Sprint(s), func(t *testing.T) {
			k := newTestQConv(rng, s.h, s.w, s.cin, s.cout, s.kh, s.kw, s.sh, s.sw, s.padT, s.padL)
			if k.packed == nil {
				t.Fatal("weights did not pack for the GEMM")
			}
			if (k.seg != nil) != (s.kw*s.cin <= segMaxK && !k.direct()) {
				t.Fatalf("window rows of %d bytes: in-place weights %v", s.kw*s.cin, k.seg != nil)
			}
			for _, batch := range []int{1, 3} {
				in := make([]int8, batch*s.h*s.w*s.cin)
				for i := range in {
					in[i] = int8(rng.IntN(256) - 128)
				}
				outN := k.oh * k.ow * k.cout
				want := make([]int8, batch*outN)
				for img := 0; img < batch; img++ {
					k.convRows(in[img*s.h*s.w*s.cin:(img+1)*s.h*s.w*s.cin], want[img*outN:(img+1)*outN], 0, k.oh)
				}
				seg := k.seg
				for _, threads := range []int{1, 2, -1} {
					if threads < 0 {
						// The gathered path of a convolution that reads
						// its window rows in place.
						if seg == nil {
							continue
						}
						threads, k.seg = 1, nil
					}
					got := make([]float32, (batch*outN+3)/4)
					src := make([]float32, (len(in)+3)/4)
					copy(int8s(src), in)
					k.run(&env{batch: batch, threads: threads}, [][]float32{src}, got)
					if g := int8s(got)[:batch*outN]; !slices.Equal(g, want) {
						i := 0
						for g[i] == want[i] {
							i++
						}
						t.Fatalf("batch %d, %d threads, in place %v: output %d is %d, want %d", batch, threads, k.seg != nil, i, g[i], want[i])
					}
				}
				k.seg = seg
			}
		})
	}
}

// newTestQDW builds a quantized 3x3-or-other depthwise convolution
// (multiplier 1) with random weights, as planQConv leaves it.
func newTestQDW(rng *rand.Rand, h, w, c, kh, kw, sh, sw, padT, padL int, inZP int32, single bool) *qconvKernel {
	k := &qconvKernel{depthwise: true, mult: 1, h: h, w: w, cin: c, cout: c, kh: kh, kw: kw, sh: sh, sw: sw, padT: padT, padL: padL,
		inZP: inZP, outZP: int32(rng.IntN(21)) - 10, lo: -128, hi: 127, singleRound: single}
	k.oh = (h+2*padT-kh)/sh + 1
	k.ow = (w+2*padL-kw)/sw + 1
	k.wt = make([]int32, kh*kw*c)
	for i := range k.wt {
		k.wt[i] = int32(rng.IntN(255)) - 127
	}
	k.bias = make([]int32, c)
	scales := make([]float64, c)
	for ch := range k.bias {
		k.bias[ch] = int32(rng.IntN(4001)) - 2000
		scales[ch] = 0.005 + rng.Float64()*0.02
	}
	k.rq = requants(0.05, scales, qparam{scale: 0.05 + rng.Float64()*0.2, zp: k.outZP})
	k.planDW()
	return k
}

// TestQDepthwisePaddedMatchesScalar: the depthwise convolution on a
// padded copy of its input computes exactly what the scalar loop does, in
// TFLite's and ONNX Runtime's roundings, at every padding, stride and
// extreme zero point, over whole images and bands of rows.
func TestQDepthwisePaddedMatchesScalar(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	type shape struct{ h, w, c, sh, sw, padT, padL int }
	shapes := []shape{
		{8, 8, 512, 1, 1, 1, 1}, {4, 4, 64, 1, 1, 1, 1}, {9, 7, 32, 2, 2, 1, 1},
		{8, 8, 16, 2, 2, 0, 0}, // SAME padding at stride 2: bottom and right only
		{1, 1, 48, 1, 1, 1, 1}, {5, 3, 16, 1, 2, 1, 0}, {2, 9, 32, 2, 1, 0, 1},
	}
	tried, triedT4 := 0, 0
	for _, s := range shapes {
		for _, zp := range []int32{-128, 0, 17, 127} {
			for _, single := range []bool{false, true} {
				k := newTestQDW(rng, s.h, s.w, s.c, 3, 3, s.sh, s.sw, s.padT, s.padL, zp, single)
				if k.padded = k.paddedOK(); !k.padded {
					continue
				}
				tried++
				in := make([]int8, s.h*s.w*s.c)
				for i := range in {
					in[i] = int8(rng.IntN(256) - 128)
				}
				n := k.oh * k.ow * s.c
				want, got := make([]int8, n), make([]int8, n)
				k.depthwiseRows(in, want, 0, k.oh)
				// Whole, then in bands of one and two rows; on the T4
				// kernel where it exists and on the 64-channel one.
				for _, v := range []struct{ t4, outer bool }{{true, true}, {true, false}, {false, false}} {
					t4 := v.t4
					quantT4, t4BlocksOuter = v.t4, v.outer
					for _, band := range []int{k.oh, 1, 2} {
						clear(got)
						for lo := 0; lo < k.oh; lo += band {
							k.rows(in, got, lo, min(lo+band, k.oh))
						}
						if !slices.Equal(got, want) {
							i := 0
							for got[i] == want[i] {
								i++
							}
							quantT4, t4BlocksOuter = true, true
							t.Fatalf("%+v zp %d single %v t4 %v rows in one call %v band %d: output %d (pixel %d channel %d) is %d, want %d",
								s, zp, single, t4 && k.dw.HasT4(), v.outer, band, i, i/s.c, i%s.c, got[i], want[i])
						}
					}
					quantT4, t4BlocksOuter = true, true
				}
				if k.dw.HasT4() {
					triedT4++
				}
			}
		}
	}
	if tried == 0 {
		t.Skip("no int8 3x3 depthwise kernel on this CPU (CSPIPE_KERNELS or no AVX-512)")
	}
	t.Logf("%d padded convolutions checked, %d of them on the T4 kernel too", tried, triedT4)
}

// BenchmarkQDepthwise: MobileNet's 3x3 depthwise shapes on the padded
// path against the interior-and-border path.
func BenchmarkQDepthwise(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 10))
	// h, w, c, stride, top and left padding (stride 2 with none: TFLite's
	// SAME, or V2's folded PAD, padding bottom and right only).
	for _, s := range [][5]int{{64, 64, 32, 1, 1}, {112, 112, 32, 1, 1}, {64, 64, 16, 1, 1}, {32, 32, 144, 1, 1}, {8, 8, 512, 1, 1}, {4, 4, 1024, 1, 1},
		{16, 16, 256, 2, 1}, {64, 64, 96, 2, 0}, {32, 32, 144, 2, 0}, {16, 16, 192, 2, 0}} {
		k := newTestQDW(rng, s[0], s[1], s[2], 3, 3, s[3], s[3], s[4], s[4], 3, false)
		if !k.paddedOK() {
			b.Skip("no int8 3x3 depthwise kernel here")
		}
		in := make([]int8, s[0]*s[1]*s[2])
		out := make([]int8, k.oh*k.ow*s[2])
		for _, padded := range []bool{true, false} {
			b.Run(fmt.Sprintf("%dx%dx%d-s%d-p%d/padded=%v", s[0], s[1], s[2], s[3], s[4], padded), func(b *testing.B) {
				k.padded = padded
				for b.Loop() {
					k.rows(in, out, 0, k.oh)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(k.oh*k.ow), "ns/pixel")
			})
		}
	}
}

// TestFuseQuantPad: an int8 PAD read only by a depthwise convolution is
// folded into it (MobileNet V2's stride-2 blocks), and the fused
// convolution computes what PAD then the scalar convolution do. A PAD
// whose value is not the convolution's zero point stays.
func TestFuseQuantPad(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, tc := range []struct {
		h, w, c, pt, pb, pl, pr, stride int
		zpOff                           int32
		fuse                            bool
	}{
		{16, 16, 96, 0, 1, 0, 1, 2, 0, true}, // TFLite's SAME at stride 2
		{9, 12, 64, 1, 1, 1, 1, 1, 0, true},
		{8, 8, 16, 2, 0, 0, 2, 2, 0, true},
		{8, 8, 64, 0, 1, 0, 1, 2, 1, false},
	} {
		zp := int32(rng.IntN(200)) - 100
		ph, pw := tc.h+tc.pt+tc.pb, tc.w+tc.pl+tc.pr
		pad := &qpadKernel{p: padKernel{in: [4]int{1, tc.h, tc.w, tc.c}, out: [4]int{1, ph, pw, tc.c}, before: [4]int{0, tc.pt, tc.pl, 0}},
			value: int8(zp + tc.zpOff)}
		dw := newTestQDW(rng, ph, pw, tc.c, 3, 3, tc.stride, tc.stride, 0, 0, zp, false)
		in := make([]int8, tc.h*tc.w*tc.c)
		for i := range in {
			in[i] = int8(rng.IntN(256) - 128)
		}
		padded := make([]float32, ph*pw*tc.c/4+1)
		src := make([]float32, len(in)/4+1)
		copy(int8s(src), in)
		pad.run(&env{batch: 1, threads: 1}, [][]float32{src}, padded)
		n := dw.oh * dw.ow * tc.c
		want := make([]int8, n)
		dw.depthwiseRows(int8s(padded)[:ph*pw*tc.c], want, 0, dw.oh)

		m := &Model{tensors: []*Tensor{{}, {}, {}}, output: 2,
			nodes: []planned{{k: pad, ins: []int{0}, out: 1}, {k: dw, ins: []int{1}, out: 2}}}
		m.fuseQuantPads()
		if fused := len(m.nodes) == 1; fused != tc.fuse {
			t.Fatalf("%+v: fused %v, want %v", tc, fused, tc.fuse)
		}
		if !tc.fuse {
			continue
		}
		if m.nodes[0].k != dw || !slices.Equal(m.nodes[0].ins, []int{0}) {
			t.Fatalf("%+v: fused node reads %v", tc, m.nodes[0].ins)
		}
		if dw.padded != dw.paddedOK() {
			t.Fatalf("%+v: padded path %v where it can run: %v", tc, dw.padded, dw.paddedOK())
		}
		// Every depthwise path the kernel can take.
		got := make([]float32, n/4+1)
		saved := dw.dw
		for _, path := range []string{"chosen", "vector", "scalar"} {
			switch path {
			case "vector":
				dw.padded = false
			case "scalar":
				dw.dw = nil
			}
			for _, threads := range []int{1, 2} {
				clear(got)
				dw.run(&env{batch: 1, threads: threads}, [][]float32{src}, got)
				if g := int8s(got)[:n]; !slices.Equal(g, want) {
					t.Fatalf("%+v, %s path, %d threads: fused output differs from PAD then convolution", tc, path, threads)
				}
			}
		}
		dw.dw = saved
	}
}

// testBlock builds MobileNet V2's inverted-residual block as planned
// nodes: expand 1x1 (cin -> t*cin), depthwise 3x3 (stride s), project
// 1x1 (-> cout), and, with residual, ADD of the block input and the
// projection (projection first when first).
func testBlock(rng *rand.Rand, h, w, cin, t, s, cout int, residual, first bool) *Model {
	e := cin * t
	ex := newTestQConv(rng, h, w, cin, e, 1, 1, 1, 1, 0, 0)
	pad := 1
	if s == 2 {
		pad = 0 // TFLite's SAME at stride 2: bottom and right only
	}
	dw := newTestQDW(rng, h, w, e, 3, 3, s, s, pad, pad, ex.outZP, false)
	dw.oh, dw.ow = (h+s-1)/s, (w+s-1)/s
	dw.padded = dw.choosePadded()
	pr := newTestQConv(rng, dw.oh, dw.ow, e, cout, 1, 1, 1, 1, 0, 0)
	pr.inZP = dw.outZP
	pr.packGemm()
	m := &Model{tensors: []*Tensor{{}, {}, {}, {}, {}}, output: 3,
		nodes: []planned{{k: ex, ins: []int{0}, out: 1}, {k: dw, ins: []int{1}, out: 2}, {k: pr, ins: []int{2}, out: 3}}}
	if residual {
		n := dw.oh * dw.ow * cout
		ap, bp := qparam{scale: 0.05, zp: ex.inZP}, qparam{scale: 0.07, zp: pr.outZP}
		ins := []int{0, 3}
		if first {
			ap, bp = bp, ap
			ins = []int{3, 0}
		}
		add := &qbinaryKernel{n: n, a: ap, b: bp, o: qparam{scale: 0.09, zp: 3}, lo: -128, hi: 127, ashift: 20}
		add.am, add.bm = int32(ap.scale/0.09*(1<<20)), int32(bp.scale/0.09*(1<<20))
		add.add = &kernels.AddI8{AZP: ap.zp, BZP: bp.zp, AM: add.am, BM: add.bm, Shift: add.ashift, ZP: 3, Lo: -128, Hi: 127}
		m.nodes = append(m.nodes, planned{k: add, ins: ins, out: 4})
		m.output = 4
	}
	return m
}

// runNodes runs m's nodes in order on input in (batch images), each
// tensor in its own buffer, and returns the output tensor's int8s.
func runNodes(m *Model, in []int8, batch, threads, outN int) []int8 {
	bufs := map[int][]float32{0: make([]float32, (len(in)+3)/4)}
	copy(int8s(bufs[0]), in)
	for _, nd := range m.nodes {
		var ins [][]float32
		for _, ti := range nd.ins {
			ins = append(ins, bufs[ti])
		}
		bufs[nd.out] = make([]float32, 1<<20)
		nd.k.run(&env{batch: batch, threads: threads}, ins, bufs[nd.out])
	}
	return int8s(bufs[m.output])[:batch*outN]
}

// TestQBlockMatchesSeparate: the banded inverted-residual block computes
// exactly what its operators do one after the other, at stride 1 and 2,
// with and without the residual ADD (either operand order), with bands of
// one or more rows, on one and two threads and batches of one and two.
func TestQBlockMatchesSeparate(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, tc := range []struct {
		h, w, cin, t, s, cout int
		residual, first       bool
	}{
		{32, 32, 24, 6, 1, 24, true, false},
		{32, 32, 24, 6, 1, 24, true, true},
		{32, 32, 24, 6, 2, 32, false, false},
		{64, 64, 16, 6, 2, 24, false, false},
		{24, 40, 32, 6, 1, 40, false, false},
		{33, 31, 24, 6, 2, 24, false, false},
		{8, 8, 96, 6, 1, 96, true, false}, // V2's 8x8x96 blocks: 110 KiB of weights
	} {
		m := testBlock(rng, tc.h, tc.w, tc.cin, tc.t, tc.s, tc.cout, tc.residual, tc.first)
		dw := m.nodes[1].k.(*qconvKernel)
		outN := dw.oh * dw.ow * tc.cout
		for _, batch := range []int{1, 2} {
			in := make([]int8, batch*tc.h*tc.w*tc.cin)
			for i := range in {
				in[i] = int8(rng.IntN(256) - 128)
			}
			want := runNodes(m, in, batch, 1, outN)
			f := &Model{tensors: m.tensors, output: m.output, nodes: slices.Clone(m.nodes)}
			f.fuseQuantBlocks()
			blk, ok := f.nodes[0].k.(*qblockKernel)
			if len(f.nodes) != 1 || !ok {
				if !dw.dw.HasInt8Pixels3x3() {
					t.Skip("no int8 3x3 depthwise kernel on this CPU (CSPIPE_KERNELS or no AVX-512)")
				}
				t.Fatalf("%+v: %d nodes after fusion, want one block", tc, len(f.nodes))
			}
			if blk.t4 != dw.dw.HasT4() {
				t.Fatalf("%+v: block on T4 rows %v, T4 kernel here %v", tc, blk.t4, dw.dw.HasT4())
			}
			// The T4 expansion GEMM at the stride-2 blocks of even width
			// (no left padding; the expansions have whole groups of 16
			// channels).
			if blk.t4 && tc.s == 2 && tc.w%2 == 0 && blk.exT4 == nil {
				t.Fatalf("%+v: stride-2 block on T4 rows without the T4 expansion GEMM", tc)
			}
			for _, t4 := range []bool{blk.t4, false} {
				blk.t4 = t4
				for _, gemm := range []bool{true, false} {
					t4Gemm = gemm
					for _, band := range []int{blk.band, 1, 3} {
						blk.band, blk.ring = band, (band-1)*dw.sh+3
						for _, threads := range []int{1, 2} {
							if got := runNodes(f, in, batch, threads, outN); !slices.Equal(got, want) {
								i := 0
								for got[i] == want[i] {
									i++
								}
								t.Fatalf("%+v batch %d t4 %v gemm %v band %d threads %d: output %d is %d, want %d", tc, batch, t4, gemm, band, threads, i, got[i], want[i])
							}
						}
					}
				}
				t4Gemm = true
			}
		}
	}
	// Narrower than minBlockWidth, or weights above maxBlockWeights: the
	// operators stay separate.
	m := testBlock(rng, 4, 4, 160, 6, 1, 160, true, false)
	m.fuseQuantBlocks()
	if len(m.nodes) != 4 {
		t.Fatalf("a 4x4 block was fused into %d nodes", len(m.nodes))
	}
	m = testBlock(rng, 8, 8, 512, 1, 1, 512, false, false)
	m.fuseQuantBlocks()
	if len(m.nodes) != 3 {
		t.Fatalf("a block with 512 KiB of weights was fused into %d nodes", len(m.nodes))
	}
}

// BenchmarkQBlock: V2 1.0@128's blocks, fused against their operators
// one after the other, per image. Besides each form's time,
// "speedup" is the median over rounds of the separate operators' time
// over the fused block's, the two measured back to back (a loaded machine
// moves both alike).
func BenchmarkQBlock(b *testing.B) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, tc := range []struct {
		h, w, cin, t, s, cout int
		residual              bool
	}{
		// V2
		{64, 64, 16, 6, 2, 24, false}, {32, 32, 24, 6, 1, 24, true}, {32, 32, 24, 6, 2, 32, false}, {16, 16, 32, 6, 1, 32, true},
		{16, 16, 32, 6, 2, 64, false}, {8, 8, 64, 6, 1, 64, true}, {8, 8, 64, 6, 1, 96, false}, {4, 4, 160, 6, 1, 160, true},
		// V1: a pointwise layer, the next depthwise and its pointwise
		{32, 32, 128, 1, 1, 128, false}, {32, 32, 128, 1, 2, 256, false}, {16, 16, 256, 1, 1, 256, false}, {8, 8, 512, 1, 1, 512, false},
	} {
		m := testBlock(rng, tc.h, tc.w, tc.cin, tc.t, tc.s, tc.cout, tc.residual, false)
		f := &Model{tensors: m.tensors, output: m.output, nodes: slices.Clone(m.nodes)}
		f.fuseQuantBlocks()
		if len(f.nodes) != 1 {
			continue // too narrow, or no int8 depthwise kernel here
		}
		runner := func(mod *Model) func() {
			bufs := map[int][]float32{0: make([]float32, tc.h*tc.w*tc.cin/4+1)}
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
		b.Run(fmt.Sprintf("%dx%dx%d-t%d-s%d-res%v", tc.h, tc.w, tc.cin, tc.t, tc.s, tc.residual), func(b *testing.B) {
			abbench.Speedup(b, sep, fus)
		})
	}
}

// BenchmarkQStem: V2 1.0@128's int8 stem (128x128x3, 3x3 stride 2 to 32
// channels) on one thread, its window rows read in place (convRowsSeg)
// against gathered; "speedup" is the median of gathered's time over in
// place's, the two run back to back.
func BenchmarkQStem(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	k := newTestQConv(rng, 128, 128, 3, 32, 3, 3, 2, 2, 0, 0)
	k.oh, k.ow = 64, 64 // TFLite's SAME: one row and column of padding at the end
	in := make([]float32, 128*128*3/4)
	for i := range int8s(in) {
		int8s(in)[i] = int8(rng.IntN(256) - 128)
	}
	out := make([]float32, 64*64*32/4)
	e := &env{batch: 1, threads: 1}
	seg := k.seg
	run := func() { k.run(e, [][]float32{in}, out) }
	t := abbench.Alternate(b, abbench.Wall,
		abbench.Side{Name: "gathered", Setup: func() { k.seg = nil }, Run: run},
		abbench.Side{Name: "inplace", Setup: func() { k.seg = seg }, Run: run})
	b.ReportMetric(abbench.Med(t.Ratios(0, 0, 1)), "speedup")
}

// BenchmarkQDepthwiseBlocksOuter: the padded int8 3x3 depthwise with the
// 64-channel blocks in the outer loop over all rows (Int8Rows3x3) against
// one kernel call per row; "speedup" is the median over rounds of the
// per-row form's time over the blocks-outer one's, run back to back.
func BenchmarkQDepthwiseBlocksOuter(b *testing.B) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, s := range [][5]int{{4, 4, 960, 1, 1}, {4, 4, 1024, 1, 1}, {8, 8, 512, 1, 1}, {8, 8, 576, 1, 1}, {16, 16, 384, 1, 1}, {32, 32, 192, 1, 1}} {
		k := newTestQDW(rng, s[0], s[1], s[2], 3, 3, s[3], s[3], s[4], s[4], 3, false)
		if !k.paddedOK() {
			b.Skip("no int8 3x3 depthwise kernel here")
		}
		k.padded = true
		in := make([]int8, s[0]*s[1]*s[2])
		out := make([]int8, k.oh*k.ow*s[2])
		b.Run(fmt.Sprintf("%dx%dx%d-s%d", s[0], s[1], s[2], s[3]), func(b *testing.B) {
			defer func(v bool) { dwBlocksOuter = v }(dwBlocksOuter)
			run := func() { k.rows(in, out, 0, k.oh) }
			t := abbench.Alternate(b, abbench.Wall,
				abbench.Side{Name: "perrow", Setup: func() { dwBlocksOuter = false }, Run: run},
				abbench.Side{Name: "outer", Setup: func() { dwBlocksOuter = true }, Run: run})
			b.ReportMetric(abbench.Med(t.Ratios(0, 0, 1)), "speedup")
		})
	}
}
