//go:build !amd64

package kernels

// The T4 kernels are AVX-512 only: HasT4 is false here, so the two below
// are never reached.

func t4Ok() bool { return false }

func t4PackVec(dst *uint8, src *int8, quads, groups, c int) {}

func dw3x3T4Vec(out *int8, ostride int, t0, t1, t2 *uint8, n, groups, gstep int, w *int8, tab *int32, mode uint8, lo, hi int32, rowstep, orow, nrows int) bool {
	return false
}

func gemmT4Vec(k4 int, a *uint8, lda int, b *int8, out *uint8, gb int, tab *int32, lo, hi int32, maskA, maskB uint64, mode int) {
}
