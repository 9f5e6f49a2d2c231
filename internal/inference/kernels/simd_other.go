//go:build !amd64

package kernels

// hasAVX2FMA is false off amd64: only the portable path exists.
var (
	hasAVX2FMA = false
	hasAVX512  = false
)

func gemmPanelsAVX2(m int, a []float32, lda int, b *PackedB, p0, p1 int, lo, hi float32, hs bool, c []float32, ldc int) {
	panic("kernels: no AVX2 path on this architecture")
}

func gemmPanels512(m int, a []float32, lda int, b *PackedB, p0, p1 int, lo, hi float32, hs bool, c []float32, ldc int) {
	panic("kernels: no AVX-512 path on this architecture")
}

func dwTapAVX2(out, in, w *float32, n, c, inStride int) {
	panic("kernels: no AVX2 path on this architecture")
}

func clampAVX2(p *float32, n int, lo, hi float32) {
	panic("kernels: no AVX2 path on this architecture")
}

func dw3x3AVX2(out, in, w, bias *float32, n, c, sx, rs int, lo, hi float32, ncb int) {
	panic("kernels: no AVX2 path on this architecture")
}

func dw3x3AVX512(out, in, w, bias *float32, n, c, sx, rs int, lo, hi float32, ncb int) {
	panic("kernels: no AVX-512 path on this architecture")
}

func fmaLoop512(n int) { panic("kernels: no AVX-512 path on this architecture") }

func fmaLoopAVX2(n int) { panic("kernels: no AVX2 path on this architecture") }

func hardSwishAVX2(p *float32, n int) { panic("kernels: no AVX2 path on this architecture") }

func vecMulAVX2(dst, a, b *float32, n int) { panic("kernels: no AVX2 path on this architecture") }

func vecAddAVX2(dst, a, b *float32, n int) { panic("kernels: no AVX2 path on this architecture") }

func poolTapAVX2(out, in *float32, n, c, inStride int, isMax bool) {
	panic("kernels: no AVX2 path on this architecture")
}

func dwKxKAVX2(out, in, w, bias *float32, n, c, sx, rs, kh, kw int, lo, hi float32, ncb int) {
	panic("kernels: no AVX2 path on this architecture")
}

func dwKxKAVX512(out, in, w, bias *float32, n, c, sx, rs, kh, kw int, lo, hi float32, ncb int) {
	panic("kernels: no AVX-512 path on this architecture")
}

func gemmPanels512x16(m int, a []float32, lda int, b *PackedB, p0, p1 int, lo, hi float32, hs bool, c []float32, ldc int) {
	panic("kernels: no AVX-512 path on this architecture")
}

var (
	bandedGemm = false
	kcOverride = 0
)

func gemmBanded512(m int, a []float32, lda int, b *PackedB, p0, p1 int, lo, hi float32, hs bool, res []float32, ldr int, c []float32, ldc int) {
	panic("kernels: no AVX-512 path on this architecture")
}

func dw3x3x4AVX512(out, in, w, bias *float32, n, c, sx, rs int, lo, hi float32, hs int) {
	panic("kernels: no AVX-512 path on this architecture")
}

func dw3x3x4s1AVX512(out, in, w, bias *float32, n, c, rs int, lo, hi float32, hs int) {
	panic("kernels: no AVX-512 path on this architecture")
}
