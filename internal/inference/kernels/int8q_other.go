//go:build !amd64

package kernels

func useInt8SIMD() bool { return false }

func requantVec(r *Requant, out *int8, ldo int, acc *int32, lda, rows, ch0 int) int { return ch0 }

func dwI8Vec(d *DWI8, out *int8, ostride int, xs *int32, xstep int, taps *int, ntaps, n int) int {
	panic("kernels: no vector depthwise on this architecture")
}

func widenI8(dst *int32, src *int8, n int, zp int32) {
	panic("kernels: no vector widening on this architecture")
}

func xorI8(dst *uint8, src *int8, n int) {
	panic("kernels: no vector xor on this architecture")
}

func addI8(out, a, b *int8, n int, p *AddI8) {
	panic("kernels: no vector add on this architecture")
}

func dw3x3Vec(d *DWI8, out *int8, ostride int, r0, r1, r2 *int32, xstep, n int) bool { return false }

func gemmRequantVNNI(m int, a []uint8, lda int, b *PackedI8, r *Requant, out []int8, ldo int) (rows, chans int) {
	return 0, 0
}

func dw3x3I8Vec(d *DWI8, out *int8, ostride int, r0, r1, r2 *int8, xstep, n int, unsigned bool) bool {
	return false
}

func dw3x3I8Ok(d *DWI8) bool { return false }

func dw3x3I8RowsVec(d *DWI8, out *int8, orow, ostride int, r0, r1, r2 *int8, rowstep, xstep, n, nrows int, unsigned bool) bool {
	return false
}

func quantizeF32(out *int8, in *float32, n int, scale float32, zp int32) {
	panic("kernels: no vector quantize on this architecture")
}

// use512 reports whether the AVX-512 int8 kernels run; never off amd64.
func use512() bool { return false }

var hasDW64 = false

func (d *DWI8) prepDW64(fold *Requant, zp int32) {}

func accumI8(acc *int32, src *int8, n int) {
	panic("kernels: no vector accumulate on this architecture")
}

func gemmRequantSeg(m int, a []uint8, lda, segs, segStride int, b *PackedI8, r *Requant, out []int8, ldo int) bool {
	return false
}
