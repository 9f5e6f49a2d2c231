//go:build !amd64

package kernels

// avx2Blocked is false off amd64: only the portable path exists.
var avx2Blocked = false

func gemmAVX2(m int, a []float32, lda int, b *PackedB, p0, p1 int, lo, hi float32, hs bool, res []float32, ldr int, c []float32, ldc int) {
	panic("kernels: no AVX2 path on this architecture")
}

// SetAVX2Blocked does nothing off amd64: there is no AVX2 path.
func SetAVX2Blocked(on bool) {}
