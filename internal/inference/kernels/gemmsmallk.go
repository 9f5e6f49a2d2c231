package kernels

// GemmSmallK is Gemm (bias, then the k products in order, then the bounds
// [lo, hi]; the same sums bit for bit) for the products whose K is small
// (the 1x1 convolutions of MobileNets and ResNets, K of 16 to 128):
// with AVX-512, each pair of 32-column panels runs as one call over the
// whole band of rows, six rows by 64 columns a tile, instead of one call
// per 12-row tile and panel. Rows and panels the tiles do not cover, and
// the other paths, run on Gemm.
func GemmSmallK(m int, a []float32, lda int, b *PackedB, lo, hi float32, c []float32, ldc int) {
	GemmSmallKAct(m, a, lda, b, Act{Lo: lo, Hi: hi}, c, ldc)
}

// GemmSmallKAct is GemmSmallK with the epilogue act, as GemmAct applies
// it bit for bit: the residual act.Res (rows act.LdRes floats apart) if
// not nil, the bounds, then HARD_SWISH if act.HardSwish.
func GemmSmallKAct(m int, a []float32, lda int, b *PackedB, act Act, c []float32, ldc int) {
	if m <= 0 {
		return
	}
	checkGemm(m, a, lda, b.K, b.N, act, c, ldc)
	if !SmallKFast(b) || m < smallKRows || !smallKAhead && readsAhead(m, b) {
		GemmAct(m, a, lda, b, act, c, ldc)
		return
	}
	gemmSmallK(m, a, lda, b, act, c, ldc)
}

// smallKAhead lets the small-K kernels read a later layer's weights ahead
// themselves where GemmAct would (readsAhead); off, those products are
// left to GemmAct (benchmarks compare).
var smallKAhead = true

// SetSmallKAhead sets smallKAhead (for benchmarks in other packages).
func SetSmallKAhead(on bool) { smallKAhead = on }

// readsAhead reports whether GemmAct over m rows of b reads the weights b
// is linked to ahead (SetReadAhead): a later layer bound by its weights.
func readsAhead(m int, b *PackedB) bool {
	return readAhead && b.next != nil && aheadWorth(m, b.aheadRows, b.aheadNextRows)
}

// GemmSmallKAhead is GemmSmallK that meanwhile prefetches the lines of
// ahead into L2 (the input rows a fused depthwise+1x1 pair's next band
// will read), a line every four k steps of its 6-row tiles as far as they
// reach, where it has a kernel for that (smallKAheadTakes: AVX2 without
// AVX-512, a band of one K block and whole 16-column panels, on the path
// GemmSmallK takes there, gemmAVX2's). The result is GemmSmallK's bit for
// bit; with ahead empty, or elsewhere, it is GemmSmallK.
func GemmSmallKAhead(m int, a []float32, lda int, b *PackedB, lo, hi float32, c []float32, ldc int, ahead []float32) {
	if len(ahead) == 0 || !smallKAheadTakes(m, b) {
		GemmSmallK(m, a, lda, b, lo, hi, c, ldc)
		return
	}
	checkGemm(m, a, lda, b.K, b.N, Act{Lo: lo, Hi: hi}, c, ldc)
	gemmSmallKAheadAVX2(m, a, lda, b, lo, hi, c, ldc, ahead)
}
