package kernels

// DepthwiseBlocked is Depthwise with border pixels (a window reaching over
// the image's edge) run through the vector kernels on zero-padded copies
// of the rows they read, instead of tap by tap (a tap on padding adds
// 0·w). A 3x3 window with channels a multiple of 16 (AVX-512) runs the
// four-pixel kernel, whose loads all read neighbouring pixels; other
// windows and channels a multiple of 8 at stride 1 run the one-pixel
// kernels of Depthwise (AVX-512 where the channels allow, else AVX2);
// anything else goes to Depthwise. (At stride 2 a padded copy is twice as
// wide as its output row; BenchmarkDepthwisePadded measured V3-Large's
// 14x14x672 5x5 layer slower that way, its 28x28x120 stride-1 layer
// faster.) Sums may round differently from Depthwise's in the
// last bit. The padded copies go to scratch, which should hold
// DWScratch(p) floats (a shorter one is replaced by a new slice when a
// copy is needed).
func DepthwiseBlocked(p *DWParams, in, w, bias, out []float32, y0, y1 int, scratch []float32) {
	c := p.C
	four := hasAVX512 && c%16 == 0 && p.KH == 3 && p.KW == 3
	if !four && (!hasAVX2FMA || c%8 != 0 || p.SW != 1 || !dwPadBorders) {
		Depthwise(p, in, w, bias, out, y0, y1)
		return
	}
	if y1 <= y0 {
		return
	}
	_ = w[p.KH*p.KW*c-1]
	_ = bias[c-1]
	xa := (p.PadL + p.SW - 1) / p.SW
	xb := min(p.OW, (p.W-p.KW+p.PadL)/p.SW+1)
	// The input columns a whole padded output row reads.
	wp := (p.OW-1)*p.SW + p.KW
	pad := func() []float32 {
		if len(scratch) < p.KH*wp*c {
			scratch = make([]float32, p.KH*wp*c)
		}
		return scratch[:p.KH*wp*c]
	}
	row := dwRowOne
	if four {
		row = dw3x3Row
	}
	for oy := y0; oy < y1; oy++ {
		iy0 := oy*p.SH - p.PadT
		dst := out[oy*p.OW*c : (oy+1)*p.OW*c]
		if iy0 < 0 || iy0+p.KH > p.H || xb-xa < dwMinInterior(p) {
			// The whole row from padded copies of the rows it reads.
			buf := pad()
			dwPadRows(p, in, buf, iy0, -p.PadL, wp)
			row(p, w, bias, dst, buf, p.OW, wp*c*4)
			continue
		}
		if xa > 0 {
			cols := (xa-1)*p.SW + p.KW
			buf := pad()[:p.KH*cols*c]
			dwPadRows(p, in, buf, iy0, -p.PadL, cols)
			dwRowOne(p, w, bias, dst[:xa*c], buf, xa, cols*c*4)
		}
		ix0 := xa*p.SW - p.PadL
		src := in[(iy0*p.W+ix0)*c:]
		row(p, w, bias, dst[xa*c:xb*c], src, xb-xa, p.W*c*4)
		if xb < p.OW {
			ix := xb*p.SW - p.PadL
			cols := (p.OW-1-xb)*p.SW + p.KW
			buf := pad()[:p.KH*cols*c]
			dwPadRows(p, in, buf, iy0, ix, cols)
			dwRowOne(p, w, bias, dst[xb*c:], buf, p.OW-xb, cols*c*4)
		}
	}
}

// dwPadBorders lets DepthwiseBlocked take windows other than the 3x3 of
// the four-pixel kernel (tests and benchmarks switch it off to compare
// with Depthwise's tap-by-tap borders).
var dwPadBorders = true

// dwRowOne runs n output pixels of one row whose windows lie inside src
// (rs bytes per input row) through the one-pixel kernels.
func dwRowOne(p *DWParams, w, bias, dst, src []float32, n, rs int) {
	c := p.C
	_ = dst[n*c-1]
	_ = src[((n-1)*p.SW+p.KW-1)*c+(p.KH-1)*(rs/4)+c-1]
	if p.KH == 3 && p.KW == 3 {
		dw3x3(&dst[0], &src[0], &w[0], &bias[0], n, c, p.SW*c*4, rs, p.Lo, p.Hi)
		return
	}
	dwKxK(&dst[0], &src[0], &w[0], &bias[0], n, c, p.SW*c*4, rs, p.KH, p.KW, p.Lo, p.Hi)
}

// dwMinInterior is the fewest in-image pixels for which a row runs them in
// place and only its edge pixels from padded copies; narrower rows run
// whole from a padded copy. At stride 1 the copy of a row is about as
// large as the row itself, and the four-pixel kernel then pays for it; at
// stride 2 the copy is twice as wide as the output.
func dwMinInterior(p *DWParams) int {
	if p.SW == 1 {
		return 4
	}
	return 1
}

// dw3x3Row runs n output pixels of one row whose windows lie inside src
// (rs bytes per input row): groups of four, then the rest one by one.
func dw3x3Row(p *DWParams, w, bias, dst, src []float32, n, rs int) {
	c := p.C
	_ = dst[n*c-1]
	_ = src[((n-1)*p.SW+p.KW-1)*c+(p.KH-1)*(rs/4)+c-1]
	n4 := n &^ 3
	if n4 > 0 {
		if p.SW == 1 {
			dw3x3x4s1AVX512(&dst[0], &src[0], &w[0], &bias[0], n4, c, rs, p.Lo, p.Hi)
		} else {
			dw3x3x4AVX512(&dst[0], &src[0], &w[0], &bias[0], n4, c, p.SW*c*4, rs, p.Lo, p.Hi)
		}
	}
	if n4 < n {
		dw3x3AVX512(&dst[n4*c], &src[n4*p.SW*c], &w[0], &bias[0], n-n4, c, p.SW*c*4, rs, p.Lo, p.Hi, 4*c)
	}
}

// dwPadRows copies the KH input rows from iy0 on, columns [ix0, ix0+cols),
// into buf (KH rows of cols pixels), with zeros where a row or column is
// outside the image.
func dwPadRows(p *DWParams, in, buf []float32, iy0, ix0, cols int) {
	c := p.C
	lo, hi := max(ix0, 0), min(ix0+cols, p.W)
	for ky := 0; ky < p.KH; ky++ {
		row := buf[ky*cols*c : (ky+1)*cols*c]
		iy := iy0 + ky
		if iy < 0 || iy >= p.H || hi <= lo {
			clear(row)
			continue
		}
		clear(row[:(lo-ix0)*c])
		copy(row[(lo-ix0)*c:(hi-ix0)*c], in[(iy*p.W+lo)*c:(iy*p.W+hi)*c])
		clear(row[(hi-ix0)*c:])
	}
}

// DWScratch is the scratch length DepthwiseBlocked needs for p: KH rows
// as wide as the input one output row reads, padding included.
func DWScratch(p *DWParams) int {
	return p.KH * ((p.OW-1)*p.SW + p.KW) * p.C
}
