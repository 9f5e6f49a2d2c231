//go:build !amd64

package kernels

const gemvRows = 0

var useGemv = false

func gemv512(m int, a []float32, lda int, b *PackedB, p0, p1 int, lo, hi float32, hs bool, c []float32, ldc int) {
	panic("kernels: no AVX-512 path on this architecture")
}

func gemvTakes(m int) bool { return false }
