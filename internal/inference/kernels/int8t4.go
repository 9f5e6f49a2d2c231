package kernels

import "unsafe"

// The int8 3x3 depthwise convolution on rows in T4 form.
//
// A row in T4 form holds its pixels in groups of four: per group, for
// each channel c one 32-bit word whose bytes are the four pixels' values
// of channel c as x+128 (the unsigned bytes VPDPBUSD multiplies). The 3x3
// kernel's three horizontal taps of one channel then lie in one word, and
// a single VPDPBUSD multiplies them for 16 channels at once against the
// weights (w0, w1, w2, 0); the same word against (0, w0, w1, w2) gives the
// next output, and a funnel shift of two neighbouring groups by two bytes
// the two after it. The 64-channel kernel (prepDW64) multiplies one tap
// per VPDPBUSD and needs three times as many. The rescale is Requant's
// tabF form, the bias folded for x+128 inputs as the 64-channel kernel's,
// so the outputs are the same integers.
//
// A row of the image (zero-point padded as the padded paths pad it) is
// put in T4 form once by T4Row and read by the three output rows whose
// windows cover it.

// T4Groups returns the groups of four pixels a T4 row must hold for n
// outputs at horizontal stride 1 or 2 (windows from pixel 0).
func T4Groups(n, stride int) int {
	q := (n + 3) / 4
	if stride == 1 {
		return q + 1
	}
	return 2*q + 1
}

// prepT4 sets d.wT, d.qT and d.qTU for the T4 kernel when the channels
// are whole groups of 16, every weight fits in int8 and the rescale has a
// tabF table: per 16 channels and kernel row, the weight words (w0, w1,
// w2, 0) and (0, w0, w1, w2); the rescale of fold with the bias less 128
// times each channel's weight sum (fold has the input zero point in it
// already), and its x+128 outputs form.
func (d *DWI8) prepT4(fold *Requant) {
	d.wT, d.qT, d.qTU = nil, nil, nil
	d.q4, d.q4U, d.h4, d.h4U = false, false, false, false
	if d.KH != 3 || d.KW != 3 || d.C%16 != 0 || fold == nil {
		return
	}
	for _, v := range d.W {
		if v < -128 || v > 127 {
			return
		}
	}
	c := d.C
	bias := make([]int32, c)
	for ch := range bias {
		s := int32(0)
		for t := 0; t < 9; t++ {
			s += d.W[t*c+ch]
		}
		bias[ch] = fold.Bias[ch] - 128*s
	}
	q := NewRequant(bias, fold.Mult, fold.Shift, fold.Double, fold.ZP, fold.Lo, fold.Hi)
	qu := unsignedOut(q)
	if q.tabF == nil || qu.tabF == nil {
		return
	}
	w := make([]int8, c/16*384)
	for g := 0; g < c/16; g++ {
		for r := 0; r < 3; r++ {
			w0 := w[g*384+r*128:][:64]
			w1 := w[g*384+r*128+64:][:64]
			for j := 0; j < 16; j++ {
				for t := 0; t < 3; t++ {
					v := int8(d.W[(3*r+t)*c+16*g+j])
					w0[4*j+t] = v
					w1[4*j+t+1] = v
				}
			}
		}
	}
	d.wT, d.qT, d.qTU = w, q, qu
	d.q4, d.q4U = t4Quad(q), t4Quad(qu)
	d.h4, d.h4U = t4Hi(q), t4Hi(qu)
}

// t4Hi reports whether the T4 kernel may rescale q (single rounding, in
// tabF's form) adding its rounding constants as dwords after the
// products' high dwords are gathered (RQF16 in int8rqf_amd64.s): every
// channel's tot above 32.
func t4Hi(q *Requant) bool {
	if q == nil || q.Double || q.tabF == nil {
		return false
	}
	for ch := 0; ch < q.C; ch++ {
		if _, tot := q.fastConst(ch); tot <= 32 {
			return false
		}
	}
	return true
}

// t4QuadMax bounds the T4 kernel's sums in the quad form: four times
// the largest still fits in an int32.
const t4QuadMax = 1<<29 - 1

// t4Quad reports whether the T4 kernel may rescale q (the double
// rounding, in tabF's form) in the quad form, two instructions shorter
// per 16 outputs: the sum x taken four times, so that both the first
// rounding's nudge 2^30 and the 2^31 taken off where x < 0 become
// multiples of 2^32,
//
//	y + zp = (4x*q + 4c - 2^33*[x < 0]) >> (tot+2)
//	       = (hi(4x*q) + (4c >> 32) - 2*[x < 0]) >> (tot-30),
//
// hi the high dword (a floor by 2^32; nested floors by powers of two are
// one floor), c the tabF constant (low dword 2^30 where tot > 32, so 4c >>
// 32 is 4*(c >> 32) + 1, which the kernel builds from tabF's word 112).
// It holds where every channel's tot is above 32, its constant's high
// dword small enough that the dword sum cannot wrap, and every sum below
// t4QuadMax in magnitude: the bias plus 9 taps of 255 times 128.
func t4Quad(q *Requant) bool {
	if q == nil || !q.Double || q.tabF == nil {
		return false
	}
	for ch := 0; ch < q.C; ch++ {
		c, tot := q.fastConst(ch)
		if tot <= 32 || tot > 50 {
			return false
		}
		if h := 4*(c>>32) + 1; h >= 1<<29 || h <= -(1<<29) {
			return false
		}
		if b := int64(q.Bias[ch]); b > t4QuadMax-9*255*128 || b < -(t4QuadMax-9*255*128) {
			return false
		}
	}
	return true
}

// hasT4Quad lets the T4 kernel use the quad form and t4Hi's (tests and
// benchmarks turn it off).
var hasT4Quad = true

// HasT4 reports whether T4Row and T4Pixels3x3 run here (FoldZP called,
// channels in whole groups of 16, AVX-512 VNNI and VBMI2).
func (d *DWI8) HasT4() bool { return d.qT != nil && t4Ok() }

// T4Row writes src's pixels in T4 form into dst, whose length is a whole
// number of groups (4*C bytes each): src must hold the 4 pixels of every
// group (4*C bytes each too, the padding included).
func (d *DWI8) T4Row(dst []uint8, src []int8) {
	gb := 4 * d.C
	if !d.HasT4() || len(dst)%gb != 0 || len(src) < len(dst) {
		panic("kernels: DWI8.T4Row arguments out of range")
	}
	if len(dst) > 0 {
		t4PackVec(&dst[0], &src[0], len(dst)/gb, d.C/16, d.C)
	}
}

// T4Pixels3x3 computes n outputs of the 3x3 kernel at horizontal stride
// 1 or 2 from rows in T4 form (T4Row of zero-point-padded rows; FoldZP's
// zero point): rows holds the offsets in in of the first output's three
// window rows, each T4Groups(n, stride) groups long; outputs are ostride
// bytes apart. The bytes are those Int8Pixels3x3 computes on the rows
// before T4Row. It reports false, doing nothing, where HasT4 does not
// hold.
func (d *DWI8) T4Pixels3x3(out []int8, ostride int, in []uint8, rows [3]int, stride, n int) bool {
	return d.t4Rows(out, 0, ostride, in, rows, 0, stride, n, 1, false)
}

// T4Pixels3x3U is T4Pixels3x3 writing each output x as the unsigned byte
// x+128, as Int8Pixels3x3U does.
func (d *DWI8) T4Pixels3x3U(out []uint8, ostride int, in []uint8, rows [3]int, stride, n int) bool {
	return d.t4Rows(i8s(out), 0, ostride, in, rows, 0, stride, n, 1, true)
}

// T4Rows3x3 is T4Pixels3x3 over nrows output rows: row r's outputs start
// at out[r*orow], its window rows at rows[k]+r*rowstep. The channel
// groups are the outer loop, so each group's weights and rescale are
// loaded once for all rows (at V2's 8x8 and 4x4 layers a row is only two
// or one group of four outputs).
func (d *DWI8) T4Rows3x3(out []int8, orow, ostride int, in []uint8, rows [3]int, rowstep, stride, n, nrows int) bool {
	return d.t4Rows(out, orow, ostride, in, rows, rowstep, stride, n, nrows, false)
}

// T4Rows3x3U is T4Rows3x3 writing each output x as the unsigned byte
// x+128.
func (d *DWI8) T4Rows3x3U(out []uint8, orow, ostride int, in []uint8, rows [3]int, rowstep, stride, n, nrows int) bool {
	return d.t4Rows(i8s(out), orow, ostride, in, rows, rowstep, stride, n, nrows, true)
}

func (d *DWI8) t4Rows(out []int8, orow, ostride int, in []uint8, rows [3]int, rowstep, stride, n, nrows int, unsigned bool) bool {
	if n <= 0 || nrows <= 0 || !d.HasT4() {
		return n <= 0 || nrows <= 0
	}
	if stride < 1 || stride > 2 || ostride < d.C || orow < 0 || rowstep < 0 ||
		len(out) < (nrows-1)*orow+(n-1)*ostride+d.C || (nrows > 1 && orow < (n-1)*ostride+d.C) {
		panic("kernels: DWI8.T4Rows3x3 arguments out of range")
	}
	span := T4Groups(n, stride) * 4 * d.C
	for _, r := range rows {
		if r < 0 || r+(nrows-1)*rowstep+span > len(in) {
			panic("kernels: DWI8.T4Rows3x3 row out of range")
		}
	}
	q, quad, hi := d.qT, d.q4, d.h4
	if unsigned {
		q, quad, hi = d.qTU, d.q4U, d.h4U
	}
	mode := uint8(0)
	if quad && hasT4Quad {
		mode |= 32
	}
	if hi && hasT4Quad {
		mode |= 64
	}
	if q.Double {
		mode |= 1
	}
	if unsigned {
		mode |= 8
		if q.Lo <= 0 && q.Hi >= 255 {
			mode |= 4
		}
	} else if q.Lo <= -128 && q.Hi >= 127 {
		mode |= 4
	}
	if stride == 2 {
		mode |= 16
	}
	return dw3x3T4Vec(&out[0], ostride, &in[rows[0]], &in[rows[1]], &in[rows[2]], n, d.C/16, 4*d.C, &d.wT[0], &q.tabF[0], mode, q.Lo, q.Hi, rowstep, orow, nrows)
}

// i8s views b's bytes as int8s.
func i8s(b []uint8) []int8 { return unsafe.Slice((*int8)(unsafe.Pointer(unsafe.SliceData(b))), len(b)) }
