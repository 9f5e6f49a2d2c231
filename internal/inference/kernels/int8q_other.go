//go:build !amd64

package kernels

func useInt8SIMD() bool { return false }

func requantRow(r *Requant, out *int8, acc *int32, blocks int) {
	panic("kernels: no vector requantization on this architecture")
}

func dwI8Pixels(out *int8, ostride int, xs *int32, xstep int, taps *int, ntaps, n, blocks int, w *int32, r *Requant) {
	panic("kernels: no vector depthwise on this architecture")
}

func widenI8(dst *int32, src *int8, n int, zp int32) {
	panic("kernels: no vector widening on this architecture")
}

func xorI8(dst *uint8, src *int8, n int) {
	panic("kernels: no vector xor on this architecture")
}
