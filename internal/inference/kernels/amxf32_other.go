//go:build !amd64

package kernels

// BF3Available reports whether GemmBF3Act can run: never off amd64.
func BF3Available() bool { return false }

// GemmBF3Act needs AMX-BF16 (see BF3Available).
func GemmBF3Act(m int, a []float32, lda int, b *PackedBF3, p0, p1 int, act Act, c []float32, ldc int, w *BF3Work) {
	panic("kernels: GemmBF3Act without AMX-BF16")
}
