//go:build amd64

package kernels

// dw3x3s1AVX2 computes n output pixels of one row of a 3x3 depthwise
// convolution at stride 1, with dw3x3AVX2's sums (see gen_dwavx2.go): r0,
// r1 and r2 point at the first pixel's three window rows, at its left
// column, or with flags bit 0 at its middle column (the left one is
// padding, never read); with bit 1 the last pixel's right column is
// padding, never read; with bit 2 HARD_SWISH follows the bounds. c is a
// multiple of 8. Implemented in dwavx2_amd64.s.
//
//go:noescape
func dw3x3s1AVX2(out, r0, r1, r2, w, bias *float32, n, c int, lo, hi float32, flags int)

// dw3x3s2AVX2 is dw3x3s1AVX2 at stride 2. Implemented in dwavx2_amd64.s.
//
//go:noescape
func dw3x3s2AVX2(out, r0, r1, r2, w, bias *float32, n, c int, lo, hi float32, flags int)

// dw3x3s1x16AVX2 is dw3x3s1AVX2 two pixels and sixteen channels at a time
// (c a multiple of 16), with the same sums. Implemented in dwavx2_amd64.s.
//
//go:noescape
func dw3x3s1x16AVX2(out, r0, r1, r2, w, bias *float32, n, c int, lo, hi float32, flags int)

// dw3x3s2x16AVX2 is dw3x3s1x16AVX2 at stride 2. Implemented in
// dwavx2_amd64.s.
//
//go:noescape
func dw3x3s2x16AVX2(out, r0, r1, r2, w, bias *float32, n, c int, lo, hi float32, flags int)

// dw3x3s1pAVX2 is dw3x3s1AVX2 on window rows and weights whose pixels
// (taps) are ps bytes apart, the output's still c floats. Implemented in
// dwavx2_amd64.s.
//
//go:noescape
func dw3x3s1pAVX2(out, r0, r1, r2, w, bias *float32, n, c, ps int, lo, hi float32, flags int)

// dw3x3s2pAVX2 is dw3x3s1pAVX2 at stride 2. Implemented in dwavx2_amd64.s.
//
//go:noescape
func dw3x3s2pAVX2(out, r0, r1, r2, w, bias *float32, n, c, ps int, lo, hi float32, flags int)

// dw3x3s1cAVX2 is dw3x3s1AVX2 eight pixels at a time, each pixel's sum one
// chain from the bias through the nine taps in window order (see
// gen_dwavx2.go's chunkChain). Implemented in dwavx2_amd64.s.
//
//go:noescape
func dw3x3s1cAVX2(out, r0, r1, r2, w, bias *float32, n, c int, lo, hi float32, flags int)

// dw3x3s1cx16AVX2 is dw3x3s1cAVX2 four pixels and sixteen channels at a
// time (c a multiple of 16). Implemented in dwavx2_amd64.s.
//
//go:noescape
func dw3x3s1cx16AVX2(out, r0, r1, r2, w, bias *float32, n, c int, lo, hi float32, flags int)

// dw3x3s1cx16pAVX2 is dw3x3s1cx16AVX2 on window rows and weights whose
// pixels (taps) are ps bytes apart, the output's still c floats (as
// dw3x3s1pAVX2). Implemented in dwavx2_amd64.s.
//
//go:noescape
func dw3x3s1cx16pAVX2(out, r0, r1, r2, w, bias *float32, n, c, ps int, lo, hi float32, flags int)

// dw3x3s1cx16wAVX2 is dw3x3s1cx16AVX2 on weights packed by PackDW3x3x16
// (sixteen channels by nine taps), with the same sums. Implemented in
// dwavx2_amd64.s.
//
//go:noescape
func dw3x3s1cx16wAVX2(out, r0, r1, r2, w, bias *float32, n, c int, lo, hi float32, flags int)

// dw3x3s2x16wAVX2 is dw3x3s2x16AVX2 on weights packed by PackDW3x3x16,
// flags bits 4 and 5 saying the first and last window rows are outside
// the image (never read), with the same sums up to the sign of a zero.
// Implemented in dwavx2_amd64.s.
//
//go:noescape
func dw3x3s2x16wAVX2(out, r0, r1, r2, w, bias *float32, n, c int, lo, hi float32, flags int)
