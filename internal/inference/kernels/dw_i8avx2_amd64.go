//go:build amd64

package kernels

// dw3x3I8AVX2 is the AVX2 int8 3x3 depthwise kernel of Int8Pixels3x3 on
// machines without AVX-512 (c a multiple of 16, w the DWI8.w2 layout).
// Implemented in dw_i8avx2_amd64.s.
//
//go:noescape
func dw3x3I8AVX2(out *int8, ostride int, r0, r1, r2 *int8, xstep, n, c int, w *int16, tab *int32, double, unsigned bool, zp, lo, hi int32)

// dw3x3I8AVX2Cols is dw3x3I8AVX2 for stride 1 (xstep == c): it walks the
// columns of each block of 16 channels once, each column's rows 0 and 1
// serving three output pixels and row 2 with the next column two (w the
// DWI8.w2c layout; mode 0 the single rounding, 1 the double with tab
// Requant.tab8, 2 the double in one step with tab dwRQTable's).
// Implemented in dw_i8avx2_amd64.s.
//
//go:noescape
func dw3x3I8AVX2Cols(out *int8, ostride int, r0, r1, r2 *int8, n, c int, w *int16, tab *int32, mode uint8, unsigned bool, zp, lo, hi int32)

// hasDWAVX2 selects dw3x3I8AVX2 (read when a model is planned, through
// HasInt8Pixels3x3, and as it runs; tests and benchmarks turn it off).
var hasDWAVX2 = true

// hasDWAVX2Cols selects dw3x3I8AVX2Cols for stride 1 where dw3x3I8AVX2
// runs (tests and benchmarks turn it off).
var hasDWAVX2Cols = true

// hasDWRQF selects the column kernel's rescale in one step (dwRQTable)
// where it applies (tests and benchmarks turn it off).
var hasDWRQF = true

// dwAVX2Ok reports whether dw3x3I8AVX2 runs d here.
func dwAVX2Ok(d *DWI8) bool {
	return hasDWAVX2 && useInt8SIMD() && !use512() && d.w2 != nil && d.fold != nil
}

// dw3x3I8AVX2Vec runs dw3x3I8AVX2, or dw3x3I8AVX2Cols at stride 1, for
// dw3x3I8Vec.
func dw3x3I8AVX2Vec(d *DWI8, out *int8, ostride int, r0, r1, r2 *int8, xstep, n int, unsigned bool) {
	r, rqF := d.fold, d.rqF
	if unsigned {
		r, rqF = d.foldU, d.rqFU
	}
	if xstep == d.C && hasDWAVX2Cols && d.w2c != nil {
		tab, mode := &r.tab8[0], uint8(0)
		if r.Double {
			mode = 1
			if rqF != nil && hasDWRQF {
				tab, mode = &rqF[0], 2
			}
		}
		dw3x3I8AVX2Cols(out, ostride, r0, r1, r2, n, d.C, &d.w2c[0], tab, mode, unsigned, r.ZP, r.Lo, r.Hi)
		return
	}
	dw3x3I8AVX2(out, ostride, r0, r1, r2, xstep, n, d.C, &d.w2[0], &r.tab8[0], r.Double, unsigned, r.ZP, r.Lo, r.Hi)
}
