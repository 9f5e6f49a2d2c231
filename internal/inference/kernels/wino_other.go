//go:build !amd64

package kernels

func winoInputAVX512(dst *float32, ld int, src *float32, rs, cs, n int) {
	panic("kernels: no AVX-512 path on this architecture")
}

func winoInputAVX2(dst *float32, ld int, src *float32, rs, cs, n int) {
	panic("kernels: no AVX2 path on this architecture")
}

func winoOutputAVX512(out *float32, rs, cs int, m *float32, ld int, bias *float32, n int, lo, hi float32) {
	panic("kernels: no AVX-512 path on this architecture")
}

func winoOutputAVX2(out *float32, rs, cs int, m *float32, ld int, bias *float32, n int, lo, hi float32) {
	panic("kernels: no AVX2 path on this architecture")
}

func wino4InputAVX512(dst *float32, ld int, src *float32, rs, cs, n int, tmp *float32) {
	panic("kernels: no AVX-512 path on this architecture")
}

func wino4InputAVX2(dst *float32, ld int, src *float32, rs, cs, n int, tmp *float32) {
	panic("kernels: no AVX2 path on this architecture")
}

func wino4OutputAVX512(out *float32, rs, cs int, m *float32, ld int, bias *float32, n int, lo, hi float32, tmp *float32) {
	panic("kernels: no AVX-512 path on this architecture")
}

func wino4OutputAVX2(out *float32, rs, cs int, m *float32, ld int, bias *float32, n int, lo, hi float32, tmp *float32) {
	panic("kernels: no AVX2 path on this architecture")
}
