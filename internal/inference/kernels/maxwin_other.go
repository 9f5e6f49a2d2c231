//go:build !amd64

package kernels

func maxWindowAVX2(out, in *float32, n, c, inStride int, taps *int, ntaps int) {
	panic("kernels: no AVX2 path on this architecture")
}
