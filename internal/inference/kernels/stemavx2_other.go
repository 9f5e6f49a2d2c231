//go:build !amd64

package kernels

// StemColumnsAVX2Fast reports whether StemColumnsAVX2 has a kernel for b:
// not on this architecture.
func StemColumnsAVX2Fast(b *PackedB) bool { return false }

func stemColumnsAVX2(m int, segs *[3][]float32, lda int, b *PackedB, act Act, c []float32) {
	panic("kernels: no AVX2 stem on this architecture")
}
