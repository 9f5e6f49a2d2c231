//go:build amd64

package kernels

import "golang.org/x/sys/cpu"

// Implemented in int8t4_amd64.s.
//
//go:noescape
func dw3x3T4(out *int8, ostride int, t0, t1, t2 *uint8, n, groups, gstep int, w *int8, tab *int32, mode uint8, lo, hi int32, rowstep, orow, nrows int)

//go:noescape
func t4Pack(dst *uint8, src *int8, quads, groups, c int)

//go:noescape
func gemmI8x8x32RQT4(k4 int, a *uint8, lda int, b *int8, out *uint8, gb int, tab *int32, lo, hi int32, maskA, maskB uint64, mode int)

// gemmT4Vec runs one tile of GemmU8I8RequantT4 (HasGemmT4 checked).
func gemmT4Vec(k4 int, a *uint8, lda int, b *int8, out *uint8, gb int, tab *int32, lo, hi int32, maskA, maskB uint64, mode int) {
	gemmI8x8x32RQT4(k4, a, lda, b, out, gb, tab, lo, hi, maskA, maskB, mode)
}

// hasVBMI2 holds for VPSHRDD (AVX-512 VBMI2) and VPERMB (VBMI).
var hasVBMI2 = cpu.X86.HasAVX512VBMI && cpu.X86.HasAVX512VBMI2

// t4Ok reports whether the T4 kernels run: AVX-512 with VNNI and VBMI2,
// and the tabF rescale (tests turn each off).
func t4Ok() bool { return use512() && hasVNNI512 && hasVBMI2 && hasRQFast }

func t4PackVec(dst *uint8, src *int8, quads, groups, c int) { t4Pack(dst, src, quads, groups, c) }

func dw3x3T4Vec(out *int8, ostride int, t0, t1, t2 *uint8, n, groups, gstep int, w *int8, tab *int32, mode uint8, lo, hi int32, rowstep, orow, nrows int) bool {
	dw3x3T4(out, ostride, t0, t1, t2, n, groups, gstep, w, tab, mode, lo, hi, rowstep, orow, nrows)
	return true
}
