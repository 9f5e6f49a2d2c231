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
// faster.) On AVX2 without AVX-512, 3x3 windows at stride 1 or 2 with
// channels a multiple of 8 and at most a column of padding either side
// run instead row by row on the AVX2 row kernels (dw3x3AVX2Takes,
// dw3x3RowsAVX2), with no copies. Sums may round differently from
// Depthwise's in the last bit. The padded copies go to scratch, which should hold
// DWScratch(p) floats (a shorter one is replaced by a new slice when a
// copy is needed).
func DepthwiseBlocked(p *DWParams, in, w, bias, out []float32, y0, y1 int, scratch []float32) {
	depthwiseBlocked(p, in, w, bias, out, y0, y1, scratch, false)
}

// DepthwiseBlockedHardSwish is DepthwiseBlocked followed by HARD_SWISH,
// applied to each output row right after it is computed, while it is in
// L1. One call for many rows lets a small image be padded once for all of
// them (see dwPadWhole).
func DepthwiseBlockedHardSwish(p *DWParams, in, w, bias, out []float32, y0, y1 int, scratch []float32) {
	depthwiseBlocked(p, in, w, bias, out, y0, y1, scratch, true)
}

func depthwiseBlocked(p *DWParams, in, w, bias, out []float32, y0, y1 int, scratch []float32, hs bool) {
	if dw3x3AVX2Takes(p) {
		dw3x3RowsAVX2(p, in, w, bias, out, y0, y1, scratch, hs)
		return
	}
	c := p.C
	four := hasAVX512 && c%16 == 0 && p.KH == 3 && p.KW == 3
	if !four && (!hasAVX2FMA || c%8 != 0 || p.SW != 1 || !dwPadBorders) {
		if !hs {
			Depthwise(p, in, w, bias, out, y0, y1)
			return
		}
		for oy := y0; oy < y1; oy++ {
			Depthwise(p, in, w, bias, out, oy, oy+1)
			HardSwish(out[oy*p.OW*c : (oy+1)*p.OW*c])
		}
		return
	}
	if y1 <= y0 {
		return
	}
	_ = w[p.KH*p.KW*c-1]
	_ = bias[c-1]
	xa := (p.PadL + p.SW - 1) / p.SW
	xb := dwInsideEnd(p)
	// The input columns a whole padded output row reads.
	wp := (p.OW-1)*p.SW + p.KW
	if !four && dwUseWhole(p, y0, y1, xa, xb, wp) {
		// Every row on this path runs through dwRowOne whether it reads
		// the image or a padded copy, so the sums are the same.
		n := dwWholeCopy(p, y0, y1, wp) * c
		if len(scratch) < n {
			scratch = make([]float32, n)
		}
		buf := scratch[:n]
		dwPadRows(p, in, buf, y0*p.SH-p.PadT, n/(wp*c), -p.PadL, wp)
		for oy := y0; oy < y1; oy++ {
			dst := out[oy*p.OW*c : (oy+1)*p.OW*c]
			dwRowOne(p, w, bias, dst, buf[(oy-y0)*p.SH*wp*c:], p.OW, wp*c*4)
			if hs {
				HardSwish(dst)
			}
		}
		return
	}
	pad := func() []float32 {
		if len(scratch) < p.KH*wp*c {
			scratch = make([]float32, p.KH*wp*c)
		}
		return scratch[:p.KH*wp*c]
	}
	// row runs n pixels of a row, HARD_SWISH included if hs.
	row := func(dst, src []float32, n, rs int) {
		if four {
			dw3x3Row(p, w, bias, dst, src, n, rs, hs)
			return
		}
		dwRowOne(p, w, bias, dst, src, n, rs)
		if hs {
			HardSwish(dst[:n*c])
		}
	}
	// A stride-1 row of eight pixels or more with one column of padding
	// either side, or a stride-2 one whose last window ends one column
	// past the image (SAME padding of an even width), runs whole on the
	// edge-aware kernels.
	edges := four && dwEdgeRows && dwEight &&
		(p.SW == 1 && p.PadL == 1 && p.W == p.OW && (p.OW >= 8 || p.OW == 4) || p.SW == 2 && p.PadL == 0 && p.W == 2*p.OW && p.OW >= 4)
	in8 := 0
	if hs && dwHSEpilogue {
		in8 = 1
	}
	for oy := y0; oy < y1; oy++ {
		iy0 := oy*p.SH - p.PadT
		dst := out[oy*p.OW*c : (oy+1)*p.OW*c]
		if edges && iy0 >= -1 && iy0+p.KH <= p.H+1 {
			// At most one row of the window above or below the image: the
			// kernels take it as zeros (edges bits 2 and 3).
			r0, r1, rows := max(iy0, 0), min(iy0+p.KH, p.H), 0
			if iy0 < 0 {
				rows |= 4
			}
			if iy0+p.KH > p.H {
				rows |= 8
			}
			src := in[r0*p.W*c : r1*p.W*c]
			// Groups of eight (at stride 2, of four in a row of four to
			// seven pixels); the last group, when the width is not a
			// multiple of the group, overlaps the ones before: the pixels
			// before full are computed again, to the same values.
			g := 8
			k := dw3x3x8s1eAVX512
			switch {
			case p.SW == 1 && p.OW < 8:
				g, k = 4, dw3x3x4s1eAVX512
			case p.SW == 2 && p.OW < 8:
				g, k = 4, dw3x3x4s2eAVX512
			case p.SW == 2:
				k = dw3x3x8s2eAVX512
			}
			full, right := p.OW/g*g, rows
			if full == p.OW {
				right |= 2
			}
			left := 0
			if p.SW == 1 {
				left = 1
			}
			k(&dst[0], &src[0], &w[0], &bias[0], full, c, p.W*c*4, p.Lo, p.Hi, in8, left|right)
			if o := p.OW - g; full < p.OW {
				k(&dst[o*c], &src[o*p.SW*c], &w[0], &bias[0], g, c, p.W*c*4, p.Lo, p.Hi, in8, 2|rows)
			}
			if hs && in8 == 0 {
				HardSwish(dst)
			}
			continue
		}
		if dwRowPadded(p, oy, xa, xb) {
			// The whole row from padded copies of the rows it reads.
			buf := pad()
			dwPadRows(p, in, buf, iy0, p.KH, -p.PadL, wp)
			row(dst, buf, p.OW, wp*c*4)
			continue
		}
		if xa > 0 {
			cols := (xa-1)*p.SW + p.KW
			buf := pad()[:p.KH*cols*c]
			dwPadRows(p, in, buf, iy0, p.KH, -p.PadL, cols)
			dwRowOne(p, w, bias, dst[:xa*c], buf, xa, cols*c*4)
			if hs {
				HardSwish(dst[:xa*c])
			}
		}
		ix0 := xa*p.SW - p.PadL
		src := in[(iy0*p.W+ix0)*c:]
		row(dst[xa*c:xb*c], src, xb-xa, p.W*c*4)
		if xb < p.OW {
			ix := xb*p.SW - p.PadL
			cols := (p.OW-1-xb)*p.SW + p.KW
			buf := pad()[:p.KH*cols*c]
			dwPadRows(p, in, buf, iy0, p.KH, ix, cols)
			dwRowOne(p, w, bias, dst[xb*c:], buf, p.OW-xb, cols*c*4)
			if hs {
				HardSwish(dst[xb*c:])
			}
		}
	}
}

// dwPadWhole lets DepthwiseBlocked copy the input rows of a range of
// output rows into one zero-padded block and run every row from it, when
// that copies fewer pixels than padding each row's windows on its own:
// on V3-Large's 7x7x960 5x5 layers every row is a border row, and row by
// row each input row was copied five times. (Tests and benchmarks switch
// it off to compare.)
var dwPadWhole = true

// dwUseWhole reports whether DepthwiseBlocked pads output rows [y0, y1)
// as one block: when that copies less than 2/3 of the pixels row by row
// copies, both for these rows and for the whole image (which DWScratch
// sizes the scratch for). Row by row, an edge's copy is small and stays
// in L1; BenchmarkDepthwisePadWhole measured the block 0.97x as fast on
// 14x14 3x3 layers (256 pixels against 312), 1.16x on 28x28 5x5 ones
// (1024 against 2080) and 1.44x on 7x7 5x5 ones (121 against 385).
func dwUseWhole(p *DWParams, y0, y1, xa, xb, wp int) bool {
	return dwPadWhole && 3*dwWholeCopy(p, y0, y1, wp) < 2*dwRowsCopy(p, y0, y1, xa, xb, wp) &&
		3*dwWholeCopy(p, 0, p.OH, wp) < 2*dwRowsCopy(p, 0, p.OH, xa, xb, wp)
}

// dwRowPadded reports whether output row oy runs whole from a padded copy
// (its window leaves the image above or below, or too few of its pixels
// are inside to be worth running in place).
func dwRowPadded(p *DWParams, oy, xa, xb int) bool {
	iy0 := oy*p.SH - p.PadT
	return iy0 < 0 || iy0+p.KH > p.H || xb-xa < dwMinInterior(p)
}

// dwRowsCopy is the number of pixels the row-by-row path copies for
// output rows [y0, y1): KH padded input rows for a border row, the edge
// windows for the others.
func dwRowsCopy(p *DWParams, y0, y1, xa, xb, wp int) int {
	n := 0
	for oy := y0; oy < y1; oy++ {
		switch {
		case dwRowPadded(p, oy, xa, xb):
			n += p.KH * wp
		default:
			if xa > 0 {
				n += p.KH * ((xa-1)*p.SW + p.KW)
			}
			if xb < p.OW {
				n += p.KH * ((p.OW-1-xb)*p.SW + p.KW)
			}
		}
	}
	return n
}

// dwWholeCopy is the number of pixels one padded block for output rows
// [y0, y1) holds: the input rows they read, wp columns each.
func dwWholeCopy(p *DWParams, y0, y1, wp int) int {
	return ((y1-y0-1)*p.SH + p.KH) * wp
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
// (rs bytes per input row): groups of eight at stride 1 (dwEight), of
// four, then the rest one by one;
// with hs, HARD_SWISH follows, applied by the four-pixel kernel as it
// stores (dwHSEpilogue) and by a pass over the rest.
func dw3x3Row(p *DWParams, w, bias, dst, src []float32, n, rs int, hs bool) {
	c := p.C
	_ = dst[n*c-1]
	_ = src[((n-1)*p.SW+p.KW-1)*c+(p.KH-1)*(rs/4)+c-1]
	n4 := n &^ 3
	in4 := 0
	if hs && dwHSEpilogue {
		in4 = 1
	}
	// four runs the four-pixel kernel on pixels [o, o+4n).
	four := func(o, n int) {
		if p.SW == 1 {
			dw3x3x4s1AVX512(&dst[o*c], &src[o*c], &w[0], &bias[0], 4*n, c, rs, p.Lo, p.Hi, in4)
			return
		}
		dw3x3x4AVX512(&dst[o*c], &src[o*p.SW*c], &w[0], &bias[0], 4*n, c, p.SW*c*4, rs, p.Lo, p.Hi, in4)
	}
	if n4 > 0 {
		n8 := 0
		if p.SW == 1 && dwEight {
			n8 = n &^ 7
			if n8 > 0 {
				dw3x3x8s1AVX512(&dst[0], &src[0], &w[0], &bias[0], n8, c, rs, p.Lo, p.Hi, in4)
			}
		}
		if n4 > n8 {
			four(n8, (n4-n8)/4)
		}
	}
	if n4 < n {
		dw3x3AVX512(&dst[n4*c], &src[n4*p.SW*c], &w[0], &bias[0], n-n4, c, p.SW*c*4, rs, p.Lo, p.Hi, 4*c)
	}
	switch {
	case hs && in4 == 0:
		HardSwish(dst[:n*c])
	case hs:
		HardSwish(dst[n4*c : n*c])
	}
}

// dwEdgeRows lets DepthwiseBlocked run a 3x3 row whole on an edge-aware
// kernel, a row of padding above or below the image included:
// dw3x3x8s1eAVX512 at stride 1 with one column of padding either side
// (rows of eight pixels or more; rows of four on its four-pixel form, bit
// for bit the padded copies they ran from), dw3x3x8s2eAVX512 at stride 2
// with SAME padding of an even width, a column on the right (rows of four
// to seven pixels on its four-pixel form). A width not a multiple of the
// group ends in a group overlapping the one before. Every pixel then sums
// in the four- and eight-pixel kernels' order, instead of each edge
// pixel's window being copied and run alone, the tail pixel by pixel, and
// a row at the top or bottom copied whole with its padding: on V1's
// 64x64x32 and 32x32x128 bands that cost 1.4-1.5 times the rows'
// interiors. (Stride-1 rows of five to seven pixels on the four-pixel
// form, the last group overlapping, were 2.4 times as fast on V2's
// 7x7x960, but moved EfficientNet-Lite0 0.5@112's largest difference from
// ONNX Runtime from 5.0e-6 to 1.2e-5, past the oracle tests' 1e-5: left
// out.) Tests and benchmarks switch it off to compare.
var dwEdgeRows = true

// dwEight lets dw3x3Row run stride-1 rows eight pixels at a time (tests
// and benchmarks switch it off to compare with the four-pixel kernel).
var dwEight = true

// dwHSEpilogue lets the four-pixel kernels apply a row's HARD_SWISH as
// they store (tests and benchmarks switch it off to compare with the pass
// over the row).
var dwHSEpilogue = true

// dwPadRows copies the rows input rows from iy0 on, columns [ix0,
// ix0+cols), into buf (rows rows of cols pixels), with zeros where a row
// or column is outside the image.
func dwPadRows(p *DWParams, in, buf []float32, iy0, rows, ix0, cols int) {
	c := p.C
	lo, hi := max(ix0, 0), min(ix0+cols, p.W)
	for ky := 0; ky < rows; ky++ {
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
// as wide as the input one output row reads, padding included, or the
// padded block of all of the image's rows where it copies that instead,
// or the padded-stride copies of the AVX2 row kernels (dwPadStride).
func DWScratch(p *DWParams) int {
	wp := (p.OW-1)*p.SW + p.KW
	n := p.KH * wp
	xa := (p.PadL + p.SW - 1) / p.SW
	xb := dwInsideEnd(p)
	if p.OH > 0 && dwUseWhole(p, 0, p.OH, xa, xb, wp) {
		n = max(n, dwWholeCopy(p, 0, p.OH, wp))
	}
	if dw3x3AVX2Takes(p) && dwPadStride(p.C, p.SW) {
		return max(n*p.C, dwPaddedScratch(p, 0, p.OH))
	}
	return n * p.C
}
