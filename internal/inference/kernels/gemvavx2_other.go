//go:build !amd64

package kernels

var useGemvAVX2 = false

func gemvAVX2(m int, a []float32, lda int, b *PackedB, p0, p1 int, lo, hi float32, hs bool, c []float32, ldc int) {
	panic("kernels: no AVX2 path on this architecture")
}

func gemvAVX2Takes(m int) bool { return false }
