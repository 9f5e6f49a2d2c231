package kernels

// prepW2 sets d.w2 and d.w2c, the weights of the AVX2 int8 3x3 depthwise
// kernels (dw3x3I8AVX2, dw3x3I8AVX2Cols), for a 3x3 kernel of whole blocks
// of 16 channels whose weights fit in int16 (NewDWI8 checks that). Per
// block, 5 pairs of taps, each pair 32 int16s: for channels 0-7 then 8-15
// of the block, the first tap's weight and the second's (zero for none)
// side by side, VPMADDWD's operand. In d.w2 the pairs are (0,1), (2,3),
// (4,5), (6,7), (8, none); in d.w2c, the stride-1 kernel's, (0,3), (1,4),
// (2,5) (rows 0 and 1 of one column), (6,7) and (none, 8) (row 2); in
// d.w2s, the stride-2 column kernel's (dw3x3I8AVX2S2), (1,4), (2,5), (0,3),
// (7,8), (none,6).
func (d *DWI8) prepW2() {
	d.w2, d.w2c, d.w2s, d.rqF, d.rqFU, d.rqG, d.rqGU = nil, nil, nil, nil, nil, nil, nil
	if d.KH != 3 || d.KW != 3 || d.C%16 != 0 || d.C == 0 {
		return
	}
	d.rqF, d.rqFU = dwRQTable(d.fold, false), dwRQTable(d.foldU, false)
	d.rqG, d.rqGU = dwRQTable(d.fold, true), dwRQTable(d.foldU, true)
	d.rqGNoLeft = true
	for _, s := range d.fold.Shift {
		d.rqGNoLeft = d.rqGNoLeft && s <= 0
	}
	d.w2 = d.tapPairs([5][2]int{{0, 1}, {2, 3}, {4, 5}, {6, 7}, {8, -1}})
	d.w2c = d.tapPairs([5][2]int{{0, 3}, {1, 4}, {2, 5}, {6, 7}, {-1, 8}})
	d.w2s = d.tapPairs([5][2]int{{1, 4}, {2, 5}, {0, 3}, {7, 8}, {-1, 6}})
}

// tapPairs lays out d's 3x3 weights in the given pairs of taps (-1: none,
// weight zero) as prepW2 describes.
func (d *DWI8) tapPairs(pairs [5][2]int) []int16 {
	w := make([]int16, d.C/16*5*32)
	for b := 0; b < d.C/16; b++ {
		for p, pair := range pairs {
			for j := 0; j < 16; j++ {
				ch := 16*b + j
				i := (b*5+p)*32 + 2*j
				for k, tap := range pair {
					if tap >= 0 {
						w[i+k] = int16(d.W[tap*d.C+ch])
					}
				}
			}
		}
	}
	return w
}

// dwRQTable is the table of the AVX2 int8 depthwise column kernel's double
// rounding in one step (RQF16 in dw_i8avx2_amd64.s), for r in the double
// rounding with every multiplier 0 or in [2^30, 2^31) (TFLite's range), or
// nil. TFLite's two roundings of an int32 y = (acc+bias)<<left by the
// multiplier M and a right shift rs, h = floor((y*M + 2^30) / 2^31) and h
// divided by 2^rs with ties away from zero, are one floor of the 64-bit
// product: floor((y*M + K - n) / 2^(31+rs)) with K = 2^30 + 2^(30+rs)
// and n = 2^31 where h < 0 (K = 2^30, n = 0 for rs = 0), and h < 0 is
// y < 0 for such multipliers (y = -1 with M = 2^30 gives h = 0 either
// way). AVX2 has no 64-bit arithmetic shift: K carries 2^63 too, so the
// sum is never negative and a logical shift gives the quotient plus
// 2^(32-rs) in its low 32 bits, which the zero point word takes off again.
// Per block of 8 channels, 88 int32s: the bias, the left shifts, M, the
// odd channels' M in the even words, K of the even and the odd channels
// (4 qwords each), n in the even words of the even channels and of the
// odd channels, 31+rs of the even and of the odd channels (qwords), and
// the zero point less 2^(32-rs).
//
// With blend (RQG16 in dw_i8avx2_amd64.s, DWI8.rqG) the words of n hold
// K-n instead, per qword (K-n of the even channels, then of the odd): the
// kernel picks K or K-n by the sign of y with VBLENDVPD in place of
// masking n and subtracting it.
func dwRQTable(r *Requant, blend bool) []int32 {
	if r == nil || !r.Double || r.C%8 != 0 {
		return nil
	}
	for _, m := range r.Mult {
		if m != 0 && m < 1<<30 {
			return nil
		}
	}
	t := make([]int32, r.C/8*88)
	for ch := 0; ch < r.C; ch++ {
		b, j := t[ch/8*88:][:88], ch%8
		left, rs := max(r.Shift[ch], 0), max(-r.Shift[ch], 0)
		k, n := uint64(1)<<30+1<<63, int32(0)
		if rs > 0 {
			k += 1 << (30 + rs)
			n = -1 << 31
		}
		q := 2 * (j / 2) // the qword of ch among its parity's four
		b[j], b[8+j], b[16+j] = r.Bias[ch], int32(left), r.Mult[ch]
		if j%2 == 1 {
			b[24+q] = r.Mult[ch]
			q += 8
		}
		b[32+q], b[33+q] = int32(uint32(k)), int32(uint32(k>>32))
		if blend {
			kn := k - uint64(uint32(n))
			b[48+q], b[49+q] = int32(uint32(kn)), int32(uint32(kn>>32))
		} else {
			b[48+q] = n
		}
		b[64+q] = int32(31 + rs)
		b[80+j] = int32(uint32(r.ZP) - uint32(uint64(1)<<(32-rs)))
	}
	return t
}
