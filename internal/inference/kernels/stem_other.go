//go:build !amd64

package kernels

// StemRow32Fast reports whether StemRow32 has a kernel for the product:
// not on this architecture.
func StemRow32Fast(k, n int) bool { return false }

// StemRow32 has no kernel on this architecture (StemRow32Fast is false).
func StemRow32(m int, left, right bool, a *[3][]float32, lda int, b *PackedB, lo, hi float32, c []float32) {
	panic("kernels: no AVX-512 path on this architecture")
}

// SetStemPrefetch does nothing on this architecture (no stem kernel).
func SetStemPrefetch(on bool) {}
