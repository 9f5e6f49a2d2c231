//go:build amd64

package kernels

// dw3x3I8AVX2 is the AVX2 int8 3x3 depthwise kernel of Int8Pixels3x3 on
// machines without AVX-512 (c a multiple of 16, w the DWI8.w2 layout;
// mode and tab as dw3x3I8AVX2Cols's, but not mode 2; tstep the bytes of
// tab per block of 16 channels). Implemented in dw_i8avx2_amd64.s.
//
//go:noescape
func dw3x3I8AVX2(out *int8, ostride int, r0, r1, r2 *int8, xstep, n, c int, w *int16, tab *int32, tstep int, mode uint8, unsigned bool, zp, lo, hi int32)

// dw3x3I8AVX2Cols is dw3x3I8AVX2 for stride 1 (xstep == c): it walks the
// columns of each block of 16 channels once, each column's rows 0 and 1
// serving three output pixels and row 2 with the next column two (w the
// DWI8.w2c layout; mode 0 the single rounding, 1 the double with tab
// Requant.tab8, 2 the double in one step with tab dwRQTable's, 3 that
// with the sign picked by blends and the clamp on 16 bits, tab
// dwRQTable's with blend (DWI8.rqG), 4 mode 3 with no left shifts).
// Implemented in dw_i8avx2_amd64.s.
//
//go:noescape
func dw3x3I8AVX2Cols(out *int8, ostride int, r0, r1, r2 *int8, n, c int, w *int16, tab *int32, mode uint8, unsigned bool, zp, lo, hi int32)

// dw3x3I8AVX2S2 is dw3x3I8AVX2 for stride 2 (xstep == 2c) in modes 0, 3
// and 4: per block of 16 channels one pass over the row, two columns a
// pixel, three interleaved pairs of rows where dw3x3I8AVX2 takes five (w
// the DWI8.w2s layout). Implemented in dw_i8avx2_amd64.s.
//
//go:noescape
func dw3x3I8AVX2S2(out *int8, ostride int, r0, r1, r2 *int8, n, c int, w *int16, tab *int32, tstep int, mode uint8, unsigned bool, lo, hi int32)

// hasDWAVX2S2 selects dw3x3I8AVX2S2 for stride 2 in the single rounding
// and where the rescale with blends runs (tests and benchmarks turn it
// off).
var hasDWAVX2S2 = true

// hasDWAVX2 selects dw3x3I8AVX2 (read when a model is planned, through
// HasInt8Pixels3x3, and as it runs; tests and benchmarks turn it off).
var hasDWAVX2 = true

// hasDWAVX2Cols selects dw3x3I8AVX2Cols for stride 1 where dw3x3I8AVX2
// runs (tests and benchmarks turn it off).
var hasDWAVX2Cols = true

// hasDWRQF selects the column kernel's rescale in one step (dwRQTable)
// where it applies (tests and benchmarks turn it off).
var hasDWRQF = true

// hasDWRQG selects the rescale in one step with blends (modes 3 and 4,
// DWI8.rqG) for both kernels where it applies (tests and benchmarks turn
// it off: then the column kernel takes mode 2 under hasDWRQF and the
// pair kernel Requant.tab8's).
var hasDWRQG = true

// dwAVX2Ok reports whether dw3x3I8AVX2 runs d here.
func dwAVX2Ok(d *DWI8) bool {
	return hasDWAVX2 && useInt8SIMD() && !use512() && d.w2 != nil && d.fold != nil
}

// dw3x3I8AVX2Vec runs dw3x3I8AVX2, or dw3x3I8AVX2Cols at stride 1, for
// dw3x3I8Vec.
func dw3x3I8AVX2Vec(d *DWI8, out *int8, ostride int, r0, r1, r2 *int8, xstep, n int, unsigned bool) {
	r, rqF, rqG := d.fold, d.rqF, d.rqG
	if unsigned {
		r, rqF, rqG = d.foldU, d.rqFU, d.rqGU
	}
	cols := xstep == d.C && hasDWAVX2Cols && d.w2c != nil
	tab, tstep, mode := &r.tab8[0], 512, uint8(0)
	switch {
	case !r.Double:
	case rqG != nil && hasDWRQG:
		tab, tstep, mode = &rqG[0], 704, 3
		if d.rqGNoLeft {
			mode = 4
		}
	case cols && rqF != nil && hasDWRQF:
		tab, tstep, mode = &rqF[0], 704, 2
	default:
		mode = 1
	}
	if (mode >= 3 || mode == 0) && xstep == 2*d.C && hasDWAVX2S2 && d.w2s != nil {
		dw3x3I8AVX2S2(out, ostride, r0, r1, r2, n, d.C, &d.w2s[0], tab, tstep, mode, unsigned, r.Lo, r.Hi)
		return
	}
	if cols {
		dw3x3I8AVX2Cols(out, ostride, r0, r1, r2, n, d.C, &d.w2c[0], tab, mode, unsigned, r.ZP, r.Lo, r.Hi)
		return
	}
	dw3x3I8AVX2(out, ostride, r0, r1, r2, xstep, n, d.C, &d.w2[0], tab, tstep, mode, unsigned, r.ZP, r.Lo, r.Hi)
}
