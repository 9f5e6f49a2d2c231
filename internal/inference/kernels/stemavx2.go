package kernels

// stemAVX2 lets StemColumnsAVX2Fast take the RGB stem on AVX2; tests and
// benchmarks switch it off to compare with the column strip and the GEMM.
var stemAVX2 = true

// SetStemAVX2 turns the AVX2 stem kernel on or off and returns the
// previous setting (tests and benchmarks).
func SetStemAVX2(on bool) (was bool) {
	was, stemAVX2 = stemAVX2, on
	return was
}

// StemColumnsAVX2 is the RGB stem's 3x3 convolution, m output pixels of
// one row, when StemColumnsAVX2Fast(b): pixel i's window is the 9 floats
// of segs[ky] from float i*lda on (window row ky, its three columns of
// three channels), b the filter in the column path's order (K =
// (kx*3+ky)*3+c, as graph's columnOrder) packed by PackB, and the outputs
// go to c, m rows of b.N floats back to back. The sums, the bias, the
// bounds and HARD_SWISH are those of GemmAct over the gathered windows,
// bit for bit: the same steps in the same order. act.Res must be nil.
func StemColumnsAVX2(m int, segs *[3][]float32, lda int, b *PackedB, act Act, c []float32) {
	if m <= 0 {
		return
	}
	if !StemColumnsAVX2Fast(b) || act.Res != nil {
		panic("kernels: StemColumnsAVX2 without its kernel or with a residual")
	}
	for _, s := range segs {
		if len(s) < (m-1)*lda+9 {
			panic("kernels: stem window rows shorter than their shape")
		}
	}
	if len(c) < m*b.N {
		panic("kernels: GEMM operand shorter than its shape")
	}
	stemColumnsAVX2(m, segs, lda, b, act, c)
}
