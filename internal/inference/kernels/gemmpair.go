package kernels

// GemmPair is Gemm (bias, then the k products in order, then the bounds
// [lo, hi]; the same sums bit for bit) for the 1x1 convolution of a fused
// depthwise+1x1 pair, whose A is a band of the depthwise's output just
// written: with AVX2 (no AVX-512, PairFast), each whole 16-column panel
// runs over all the band's 6-row tiles in one call of gemmP6x16, whose
// per-call and per-tile set-up is a few register moves (Gemm's 6x16
// kernel reads its arguments and prefetches lines for every tile), which
// weighs most where a tile has few k steps. A partial last panel, and
// the other paths, run on Gemm.
func GemmPair(m int, a []float32, lda int, b *PackedB, lo, hi float32, c []float32, ldc int) {
	GemmPairAhead(m, a, lda, b, lo, hi, c, ldc, nil)
}

// GemmPairAhead is GemmPair that meanwhile, on gemmP6x16, prefetches the
// lines of ahead into L2 (the input rows the pair's next band will read),
// a line every four k steps as far as the product's steps reach: the
// result is GemmPair's.
func GemmPairAhead(m int, a []float32, lda int, b *PackedB, lo, hi float32, c []float32, ldc int, ahead []float32) {
	if m <= 0 {
		return
	}
	if !PairFast(b) || m < MR {
		Gemm(m, a, lda, b, lo, hi, c, ldc)
		return
	}
	checkGemm(m, a, lda, b.K, b.N, Act{Lo: lo, Hi: hi}, c, ldc)
	gemmPair(m, a, lda, b, lo, hi, c, ldc, ahead)
}
