//go:build !amd64

package kernels

func dw3x3x8s1AVX512(out, in, w, bias *float32, n, c, rs int, lo, hi float32, hs int) {
	panic("kernels: no AVX-512 path on this architecture")
}

func dw3x3x8s1eAVX512(out, in, w, bias *float32, n, c, rs int, lo, hi float32, hs, edges int) {
	panic("kernels: no AVX-512 path on this architecture")
}

func dw3x3x8s2eAVX512(out, in, w, bias *float32, n, c, rs int, lo, hi float32, hs, edges int) {
	panic("kernels: no AVX-512 path on this architecture")
}

func dw3x3x4s2eAVX512(out, in, w, bias *float32, n, c, rs int, lo, hi float32, hs, edges int) {
	panic("kernels: no AVX-512 path on this architecture")
}

func dw3x3x4s1eAVX512(out, in, w, bias *float32, n, c, rs int, lo, hi float32, hs, edges int) {
	panic("kernels: no AVX-512 path on this architecture")
}
