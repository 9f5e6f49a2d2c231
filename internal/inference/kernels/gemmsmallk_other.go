//go:build !amd64

package kernels

const smallKRows = 6

// SmallKFast reports whether GemmSmallK has a kernel of its own for b: not
// on this architecture.
func SmallKFast(b *PackedB) bool { return false }

func gemmSmallK(m int, a []float32, lda int, b *PackedB, act Act, c []float32, ldc int) {
	panic("kernels: no AVX-512 path on this architecture")
}

func smallKAheadTakes(m int, b *PackedB) bool { return false }

func gemmSmallKAheadAVX2(m int, a []float32, lda int, b *PackedB, lo, hi float32, c []float32, ldc int, ahead []float32) {
	panic("kernels: no AVX2 path on this architecture")
}
