//go:build amd64

package kernels

// Implemented in int8q_amd64.s.
//
//go:noescape
func requantAVX2(out *int8, acc *int32, tab *int32, blocks int, double bool, zp, lo, hi int32)

//go:noescape
func dwI8AVX2(out *int8, ostride int, xs *int32, xstep int, taps *int, ntaps, n, blocks int, w *int32, tab *int32, double bool, zp, lo, hi int32)

//go:noescape
func widenI8AVX2(dst *int32, src *int8, n int, zp int32)

//go:noescape
func xorI8AVX2(dst *uint8, src *int8, n int)

// useInt8SIMD reports whether the int8 requantization, depthwise and
// widening kernels run vectorised (AVX2 integer instructions).
func useInt8SIMD() bool { return hasAVX2FMA }

func requantRow(r *Requant, out *int8, acc *int32, blocks int) {
	requantAVX2(out, acc, &r.tab[0], blocks, r.Double, r.ZP, r.Lo, r.Hi)
}

func dwI8Pixels(out *int8, ostride int, xs *int32, xstep int, taps *int, ntaps, n, blocks int, w *int32, r *Requant) {
	dwI8AVX2(out, ostride, xs, xstep, taps, ntaps, n, blocks, w, &r.tab[0], r.Double, r.ZP, r.Lo, r.Hi)
}

func widenI8(dst *int32, src *int8, n int, zp int32) { widenI8AVX2(dst, src, n, zp) }

func xorI8(dst *uint8, src *int8, n int) { xorI8AVX2(dst, src, n) }
