//go:build amd64

package kernels

// dw3x3x8s1AVX512 is dw3x3x4s1AVX512 eight output pixels at a time (n a
// multiple of 8): eight independent sums where four leave an FMA unit
// idle. Its sums are identical. Implemented in dwblock_amd64.s (generated
// by gen_dwblock.go).
//
//go:noescape
func dw3x3x8s1AVX512(out, in, w, bias *float32, n, c, rs int, lo, hi float32, hs int)

// dw3x3x8s1eAVX512 is dw3x3x8s1AVX512 on n pixels (a multiple of 8) of a
// stride-1 row with one column of zero padding on either side, in pointing
// at the input column of the first pixel: with edges bit 0 the column left
// of it, with bit 1 the column right of the last pixel, are taken as zeros
// in registers (never read), so every pixel's sum is the one
// dw3x3x8s1AVX512 gives on a zero-padded copy of the row. Implemented in
// dwblock_amd64.s.
//
//go:noescape
func dw3x3x8s1eAVX512(out, in, w, bias *float32, n, c, rs int, lo, hi float32, hs, edges int)

// dw3x3x8s2eAVX512 is dw3x3x4AVX512 eight pixels at a time (n a multiple of
// 8) at stride 2, in pointing at the first pixel's window: with edges bit 1
// the column right of the last pixel's window's middle one is taken as
// zeros (never read), so every pixel's sum is the one dw3x3x4AVX512 gives
// on a zero-padded copy of the row. Implemented in dwblock_amd64.s.
//
//go:noescape
func dw3x3x8s2eAVX512(out, in, w, bias *float32, n, c, rs int, lo, hi float32, hs, edges int)

// dw3x3x4s1eAVX512 is dw3x3x8s1eAVX512 four pixels at a time (n a
// multiple of 4), for rows of four pixels: its sums are those of
// dw3x3x4s1AVX512 on a zero-padded copy of the rows, which is how such a
// row ran before. Implemented in dwblock_amd64.s.
//
//go:noescape
func dw3x3x4s1eAVX512(out, in, w, bias *float32, n, c, rs int, lo, hi float32, hs, edges int)

// dw3x3x4s2eAVX512 is dw3x3x8s2eAVX512 four pixels at a time (n a
// multiple of 4), for rows of four to seven pixels. Implemented in
// dwblock_amd64.s.
//
//go:noescape
func dw3x3x4s2eAVX512(out, in, w, bias *float32, n, c, rs int, lo, hi float32, hs, edges int)
