package kernels

// GemmSmallK is Gemm (bias, then the k products in order, then the bounds
// [lo, hi]; the same sums bit for bit) for the products whose K is small
// (the 1x1 convolutions of a MobileNet's early layers, K of 16 to 64):
// with AVX-512, each pair of 32-column panels runs as one call over the
// whole band of rows, six rows by 64 columns a tile, instead of one call
// per 12-row tile and panel. Rows and panels the tiles do not cover, and
// the other paths, run on Gemm.
func GemmSmallK(m int, a []float32, lda int, b *PackedB, lo, hi float32, c []float32, ldc int) {
	if m <= 0 {
		return
	}
	if len(a) < (m-1)*lda+b.K || len(c) < (m-1)*ldc+b.N {
		panic("kernels: GEMM operand shorter than its shape")
	}
	if !SmallKFast(b) || m < smallKRows {
		Gemm(m, a, lda, b, lo, hi, c, ldc)
		return
	}
	gemmSmallK(m, a, lda, b, lo, hi, c, ldc)
}
