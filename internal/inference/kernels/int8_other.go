//go:build !amd64

package kernels

var hasVNNI512, hasAMX = false, false

func gemmU8I8VNNI(m int, a []uint8, lda int, b *PackedI8, c []int32, ldc int) {
	panic("kernels: no VNNI path on this architecture")
}

func gemmU8I8AVX2(m int, a []uint8, lda int, b *PackedI8, c []int32, ldc int) {
	panic("kernels: no AVX2 path on this architecture")
}

func gemmU8I8VNNIPanels(m int, a []uint8, lda int, b *PackedI8, p0, p1 int, c []int32, ldc int) {
	panic("kernels: no VNNI path on this architecture")
}

func useAMX() bool { return false }

func (p *PackedI8) packAMX() {}

func gemmRequantAMX(m int, a []uint8, lda int, b *PackedI8, r *Requant, out []int8, ldo int, c []int32) int {
	return 0
}

func gemmRequantAVX2(m int, a []uint8, lda int, b *PackedI8, r *Requant, out []int8, ldo int, c []int32) int {
	return 0
}
