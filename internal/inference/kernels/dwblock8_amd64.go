//go:build amd64

package kernels

// dw3x3x8s1AVX512 is dw3x3x4s1AVX512 eight output pixels at a time (n a
// multiple of 8): eight independent sums where four leave an FMA unit
// idle. Its sums are identical. Implemented in dwblock_amd64.s (generated
// by gen_dwblock.go).
//
//go:noescape
func dw3x3x8s1AVX512(out, in, w, bias *float32, n, c, rs int, lo, hi float32, hs int)
