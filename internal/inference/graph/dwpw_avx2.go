package graph

import "github.com/cspipe/cspipe/internal/inference/kernels"

// dwpwPair runs a fused pair's 1x1 convolution on kernels.GemmPair where
// kernels.PairFast takes its weights (AVX2 without AVX-512) and its K is
// at most pairMaxK: one call a panel over all the band's tiles, without
// Gemm's per-call and per-tile set-up, which weighs most where a tile has
// few k steps. The sums are Gemm's. Tests and benchmarks switch it off to
// compare with GemmSmallK and Gemm. In a band benchmark (the depthwise
// then the product, band by band, one thread, thread CPU, 300 rounds, load
// ~10) it ran V1 1.0@128's 64x64x32->64 pair 1.024-1.096x as fast (four
// runs), 64x64x64 stride 2 ->128 1.013-1.023x, and K of 128 1.00-1.01x,
// so it stops at 64. In V1 at batch 1 in the model
// (BenchmarkDWPWPairModel, 200-400 rounds, three runs at load 7-14) the
// 64x64 pair ran 1.106-1.131x as fast (338 against 378 us, 291 against
// 329), all the pairs 1.027-1.035x, the whole model 1.003-1.004x.
//
// Measured and left out: GemmPair on every K (V2 1.0@224's pairs 1.004x,
// V3-Large's 0.994x, V1's 1.010x, quartiles +-5-13 %); on the pairs to 16
// channels instead of GemmSegs (V3-Large, Lite0, V2 0.996-1.004x); tile by
// tile across the panels rather than panel by panel (see
// kernels.pairPanelMajor); the bias and bounds in registers for the
// epilogue instead of memory operands (0.98-1.03x); and, for the stride-2
// depthwise of the pairs, a kernel taking the pixels inside the image
// eight channels at a time with the nine weight vectors in registers (the
// same sums): 0.77-0.86x DepthwiseBlocked on V1's 64x64x64, 32x32x128 and
// 16x16x256 bands, one or two pixels a pass alike. That depthwise runs at
// 12-17 GMAC/s with its input in L2 or not (the same time either way), so
// its cost is not the 1 MB input from L3. Nor did chaining two pairs pay
// (the second pair's bands run as soon as the first pair's bands wrote
// the rows they read, so the 64x64x64 and 32x32x128 images are read back
// from L2): V1's chained pairs 0.974x, the model 0.989x (150 rounds, load
// 9.5), the profile showing the GEMMs and the stride-1 depthwise slower
// (the two pairs' working sets share L2); dwpwAhead's prefetch gets the
// stride-2 pair's rows nearer at no such cost. Bands of 32, 64 or 96 KB
// instead of fusedBandDefault's 48 ran V1's four pairs 0.953-1.003x as
// fast (medians; 150 rounds, load 17).
var (
	dwpwPair = true
	pairMaxK = 64
)

// pairGemm reports whether the fused pair k runs its 1x1 convolution on
// kernels.GemmPair.
func (k *dwPointwise) pairGemm() bool {
	return dwpwPair && kernels.PairFast(k.pw.pb) && k.dw.p.C <= pairMaxK
}

// dwpwPackedOn has a fused pair keep the depthwise weights that
// planDepthwise packed for kernels.DepthwisePacked (AVX2, channels a
// multiple of 16), and dwpwPacked (per stride across, index SW-1) lets a
// band run on it where kernels.DWPackedTakes the band: the row kernel on
// packed weights, window rows above or below the image left out. The sums
// are DepthwiseBlocked's up to the sign of a zero. Tests and benchmarks
// switch it to compare. In the model (BenchmarkDWPWPackedModel,
// switchNodesAB, thread CPU, 200-300 rounds, load 5-9) V1 1.0@128's
// stride-2 pairs ran 1.024-1.037x (64x64x64) and 1.008-1.018x
// (32x32x128), its stride-1 ones 1.015-1.031x (64x64x32) and
// 1.008-1.038x (32x32x128), the whole model 1.000-1.003x at batch 1 and
// 1.001-1.018x at batch 8 on two threads (quartiles +-3-15 %); V2
// 1.0@224's pairs 1.056x, V3-Large's 1.001x (BenchmarkDWPWPackedOthers).
var (
	dwpwPackedOn = true
	dwpwPacked   = [2]bool{true, true}
)

// packed reports whether the band bp of the fused pair k runs its
// depthwise on kernels.DepthwisePacked.
func (k *dwPointwise) packed(bp *kernels.DWParams) bool {
	return k.dw.wpack != nil && bp.SW <= 2 && dwpwPacked[bp.SW-1] && kernels.DWPackedTakes(bp)
}

// dwpwAhead has a fused pair's 1x1 on kernels.GemmPair prefetch into L2
// the input rows that the thread's next band reads and this one did not
// (GemmPairAhead), so the depthwise finds them there rather than in L3
// (V1's 64x64 pairs read 512 KB and 1 MB images that the layer before
// wrote). Tests and benchmarks switch it to compare; the result is the
// same either way. BenchmarkDWPWAheadModel (switchNodesAB, thread CPU,
// 300 rounds, two runs at load 9-10): the 64x64x64 stride-2 pair
// 1.054-1.087x (255.8 against 269.3 us, 306.8 against 338.5), the
// 64x64x32 one 0.995-1.022x, the model 1.002-1.005x at batch 1 and
// 0.995-1.005x at batch 8 on two threads (quartiles +-4-15 %). Not
// kept: the 32x32x128 stride-2 pair (K 128) on GemmPair to prefetch,
// 0.985x against GemmSmallK without. V2 1.0@224's pairs 1.015x, V3-Large's
// 1.027x (BenchmarkDWPWAheadOthers, 150 rounds, load 14). With
// dwpwPacked, against neither (BenchmarkDWPWPackedAheadModel, 300
// rounds, load 11): V1's pairs 1.015x (1410 against 1433 us), the model
// 1.012x at batch 1 and 1.016x at batch 8 on two threads.
var dwpwAhead = true

// ahead returns the input rows the band after one ending at output row y1
// reads and it did not, within the thread's rows up to r1 (none: nil).
func (k *dwPointwise) ahead(in []float32, y1, r1 int) []float32 {
	if !dwpwAhead || y1 >= r1 {
		return nil
	}
	p := &k.dw.p
	lo := max((y1-1)*p.SH-p.PadT+p.KH, 0)
	hi := min((min(y1+k.band, r1)-1)*p.SH-p.PadT+p.KH, p.H)
	if hi <= lo {
		return nil
	}
	return in[lo*p.W*p.C : hi*p.W*p.C]
}

// dwpwAheadSmallK has a fused pair's 1x1 on kernels.GemmSmallK (on AVX2,
// the pairs of K above pairMaxK: V1's 32x32x128 ones) prefetch the input
// rows of the thread's next band into L2 as dwpwAhead does on GemmPair
// (kernels.GemmSmallKAhead, whose AVX2 6-row tiles read one line a pass
// of four k steps), where the depthwise's input is at least
// smallKAheadMin. Tests and benchmarks switch it to compare; the result
// is the same either way. BenchmarkDWPWAheadSmallKModel (switchNodesAB,
// thread CPU, 300 rounds, five runs at load 8-13, medians of the pair
// ratios; quartiles +-4-11 %): V1 1.0@128's 32x32x128 stride-1 pair
// 1.022, 1.029, 1.066x and two runs at 467 against 489 and 479 against
// 498 us; the stride-2 pair to 16x16x256 1.008, 1.013, 1.032x and 263
// against 268, 230 against 237 us; the model 0.999-1.015x at batch 1
// (median 1.004) and 0.999-1.022x at batch 8 on two threads (median
// 1.019; quartiles +-9-17 %). BenchmarkDWPWAheadSmallKOthers (200
// rounds): V2 1.0@224's pairs 1.011-1.028x (six runs), V3-Large's
// 0.986-0.998x (four runs) while its pairs of 14x14 inputs (150 KB, in L2
// already) prefetched too, 0.981-1.009x (median 0.996, five runs) with
// smallKAheadMin. In a kernel benchmark (BenchmarkGemmSmallKAhead) the
// AVX2 tile without a stream ran 0.991-0.999x GemmSmallK's and with a
// stream of far lines 0.984-0.992x: the gain is the depthwise's.
var dwpwAheadSmallK = true

// smallKAheadMin is the smallest depthwise input (bytes per image) whose
// pairs on GemmSmallK prefetch (dwpwAheadSmallK): a smaller one stays in
// L2 from the layer before, and the prefetch only costs.
const smallKAheadMin = 256 << 10

// smallKAhead is ahead for a pair on GemmSmallK (dwpwAheadSmallK).
func (k *dwPointwise) smallKAhead(in []float32, y1, r1 int) []float32 {
	p := &k.dw.p
	if !dwpwAheadSmallK || 4*p.H*p.W*p.C < smallKAheadMin {
		return nil
	}
	return k.ahead(in, y1, r1)
}
