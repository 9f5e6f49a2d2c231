package kernels

// GemmSegs is GemmAct for a matrix A whose rows are split into len(a)
// segments kept apart: b's K rows are len(a) equal blocks, and block s
// multiplies segment s, m rows lda floats apart in a[s]. A convolution
// whose windows are a few image rows of contiguous pixels (the RGB stem)
// then reads each window row where the image holds it instead of copying
// the windows together first. act.Res must be nil.
func GemmSegs(m int, a [][]float32, lda int, b *PackedB, act Act, c []float32, ldc int) {
	if m <= 0 {
		return
	}
	segs := len(a)
	if segs == 0 || b.K%segs != 0 || act.Res != nil {
		panic("kernels: GemmSegs wants K in equal segments and no residual")
	}
	ks := b.K / segs
	for _, as := range a {
		if len(as) < (m-1)*lda+ks {
			panic("kernels: GEMM operand shorter than its shape")
		}
	}
	if len(c) < (m-1)*ldc+b.N {
		panic("kernels: GEMM operand shorter than its shape")
	}
	if b.nr == NR512 && GemmSegsFast(b.N) {
		gemmSegs512(m, a, lda, b, act, c, ldc)
		return
	}
	if segs16Fast(a, b) {
		gemmSegs512x16(m, a, lda, b, act, c, ldc)
		return
	}
	// The segments copied together, row by row, for the other kernels.
	buf := make([]float32, m*b.K)
	for i := 0; i < m; i++ {
		for s, as := range a {
			copy(buf[i*b.K+s*ks:i*b.K+(s+1)*ks], as[i*lda:i*lda+ks])
		}
	}
	GemmAct(m, buf, b.K, b, act, c, ldc)
}
