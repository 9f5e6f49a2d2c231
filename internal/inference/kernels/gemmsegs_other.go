//go:build !amd64

package kernels

// GemmSegsFast reports whether GemmSegs has a kernel of its own for n columns:
// not on this architecture.
func GemmSegsFast(n int) bool { return false }

func gemmSegs512(m int, a [][]float32, lda int, b *PackedB, act Act, c []float32, ldc int) {
	panic("kernels: no AVX-512 path on this architecture")
}

func segs16Fast(a [][]float32, b *PackedB) bool { return false }

func gemmSegs512x16(m int, a [][]float32, lda int, b *PackedB, act Act, c []float32, ldc int) {
	panic("kernels: no AVX-512 path on this architecture")
}
