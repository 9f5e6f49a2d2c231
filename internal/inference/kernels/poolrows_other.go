//go:build !amd64

package kernels

func sumRowsAVX2(out, in *float32, rows, c, n int) {
	panic("kernels: no AVX2 on this architecture")
}

func rowsOpAVX2(dst, a, s *float32, rows, c, n, op int) {
	panic("kernels: no AVX2 on this architecture")
}
