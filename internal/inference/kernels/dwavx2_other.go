//go:build !amd64

package kernels

func dw3x3s1AVX2(out, r0, r1, r2, w, bias *float32, n, c int, lo, hi float32, flags int) {
	panic("kernels: no AVX2 path on this architecture")
}

func dw3x3s2AVX2(out, r0, r1, r2, w, bias *float32, n, c int, lo, hi float32, flags int) {
	panic("kernels: no AVX2 path on this architecture")
}

func dw3x3s1x16AVX2(out, r0, r1, r2, w, bias *float32, n, c int, lo, hi float32, flags int) {
	panic("kernels: no AVX2 path on this architecture")
}

func dw3x3s2x16AVX2(out, r0, r1, r2, w, bias *float32, n, c int, lo, hi float32, flags int) {
	panic("kernels: no AVX2 path on this architecture")
}

func dw3x3s1pAVX2(out, r0, r1, r2, w, bias *float32, n, c, ps int, lo, hi float32, flags int) {
	panic("kernels: no AVX2 path on this architecture")
}

func dw3x3s2pAVX2(out, r0, r1, r2, w, bias *float32, n, c, ps int, lo, hi float32, flags int) {
	panic("kernels: no AVX2 path on this architecture")
}

func dw3x3s1cAVX2(out, r0, r1, r2, w, bias *float32, n, c int, lo, hi float32, flags int) {
	panic("kernels: no AVX2 path on this architecture")
}

func dw3x3s1cx16AVX2(out, r0, r1, r2, w, bias *float32, n, c int, lo, hi float32, flags int) {
	panic("kernels: no AVX2 path on this architecture")
}

func dw3x3s1cx16pAVX2(out, r0, r1, r2, w, bias *float32, n, c, ps int, lo, hi float32, flags int) {
	panic("kernels: no AVX2 path on this architecture")
}

func dw3x3s1cx16wAVX2(out, r0, r1, r2, w, bias *float32, n, c int, lo, hi float32, flags int) {
	panic("kernels: no AVX2 path on this architecture")
}

func dw3x3s2x16wAVX2(out, r0, r1, r2, w, bias *float32, n, c int, lo, hi float32, flags int) {
	panic("kernels: no AVX2 path on this architecture")
}
