//go:build !amd64

package kernels

// PairFast reports whether GemmPair has a kernel of its own for b: not on
// this architecture.
func PairFast(b *PackedB) bool { return false }

func gemmPair(m int, a []float32, lda int, b *PackedB, lo, hi float32, c []float32, ldc int, ahead []float32) {
	panic("kernels: no AVX2 pair kernel on this architecture")
}
