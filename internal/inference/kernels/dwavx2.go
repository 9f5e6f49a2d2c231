package kernels

// dwRowsAVX2 lets DepthwiseBlocked run the 3x3 layers that dw3x3AVX2Takes
// whole on the AVX2 row kernels dw3x3s1AVX2 and dw3x3s2AVX2 (tests and
// benchmarks switch it off to compare with the one-pixel kernel on padded
// copies and Depthwise).
var dwRowsAVX2 = true

// dwX16 reports whether the row kernels take c channels (a multiple of
// 16) at stride sw sixteen at a time, two pixels per group, rather than
// eight at a time, four per group: at stride 2, and where a pixel is a
// multiple of 2 KB (see gen_dwavx2.go). BenchmarkDepthwiseRowsAVX2 on
// V1 1.0@128's and V3-Large's layers (three runs) measured it 1.1-1.4x as
// fast there (8x8x512 1.24-1.26x, 4x4x1024 1.13-1.36x, 64x64x64 stride 2
// 1.1-1.17x, 8x8x512 stride 2 1.4x; V3's 112x112x64 stride 2 0.9x), and
// 0.75-1.0x at stride 1 on fewer channels (64x64x32 0.75x, 32x32x128
// 0.93x).
var dwX16 = func(c, sw int) bool { return sw == 2 || c%512 == 0 }

// dwChain picks, at stride 1, the chain kernels (dw3x3s1cAVX2: eight
// pixels by eight channels; with c a multiple of 16 dw3x3s1cx16AVX2: four
// by sixteen), whose sums run from the bias through the nine taps in
// window order, over dw3x3s1AVX2 and dw3x3s1x16AVX2 (three column
// partials per pixel): 0 off, 1 the eight-channel one, 2 the sixteen-
// channel one where c allows. Tests and benchmarks switch it. The
// nine-FMA chains round differently from the column partials (within
// TestDepthwiseRowsAVX2's float64 check and the model oracle tests); they
// keep the FMA pipes busier: eight accumulators with no adds at the end,
// each input vector loaded once for up to three pixels. In
// BenchmarkDepthwiseRowsAVX2 (L1/L2-hot, one run, load ~3.5) the sixteen-
// channel chain ran 64x64x32 33.8 GMAC/s against 32.0 (x8), 32x32x128
// 29.2 against 25.7, 16x16x256 22.6 against 19.1, 8x8x512 16.9 against
// 14.2 (x16 in place), 4x4x1024 9.7 against 6.4, 14x14x480 16.3 against
// 13.3; the eight-channel one 112x112x16 28.9 against 24.8 (sixteen 26.1),
// 56x56x72 27.5 against 26.5, 14x14x200 17.4 against 15.6.
var dwChain = dwChainDefault

func dwChainDefault(c int) int {
	if c%16 == 0 && c >= 32 {
		return 2
	}
	return 1
}

// dw3x3AVX2Takes reports whether dw3x3RowsAVX2 takes p on this CPU: AVX2
// without AVX-512 (whose kernels are left as they are), a 3x3 window at
// stride 1 or 2 across, channels a multiple of 8, and at most one column
// of padding on either side of a row (any rows above or below).
func dw3x3AVX2Takes(p *DWParams) bool {
	if !dwRowsAVX2 || !hasAVX2FMA || hasAVX512 || p.KH != 3 || p.KW != 3 || p.C <= 0 || p.C%8 != 0 ||
		p.SW != 1 && p.SW != 2 || p.SH < 1 || p.OW < 1 || p.OH < 1 || p.PadL < 0 || p.PadL > 1 {
		return false
	}
	// Columns the last window reaches past the image.
	over := (p.OW-1)*p.SW + 3 - p.PadL - p.W
	return over <= 1 && (p.OW-1)*p.SW+1-p.PadL <= p.W-1
}

// dw3x3RowsAVX2 computes output rows [y0, y1) of a depthwise convolution
// that dw3x3AVX2Takes, each row in one call of the row kernel: its edge
// columns' padding is left out in the kernel, and a window row above or
// below the image reads a zeroed row of scratch. Every sum is then the
// one dw3x3AVX2 gives on zero-padded copies of the rows (as
// DepthwiseBlocked computed stride-1 rows before), up to the sign of a
// zero; at stride 2 the pixels Depthwise took tap by tap (edge columns,
// rows whose window leaves the image) sum in tap order, the others as
// dw3x3AVX2, so the sums are Depthwise's. With hs, HARD_SWISH is applied
// as each sum is stored, bit for bit HardSwish's.
func dw3x3RowsAVX2(p *DWParams, in, w, bias, out []float32, y0, y1 int, scratch []float32, hs bool) {
	if y1 <= y0 {
		return
	}
	c := p.C
	flags := dw3x3RowFlags(p, in, w, bias, out, y1, hs)
	if !p.Hot && dwPadStride(c, p.SW) {
		dw3x3RowsPadded(p, in, w, bias, out, y0, y1, scratch, flags)
		return
	}
	k := dw3x3s1AVX2
	if p.SW == 2 {
		k = dw3x3s2AVX2
	}
	if c%16 == 0 && dwX16(c, p.SW) {
		k = dw3x3s1x16AVX2
		if p.SW == 2 {
			k = dw3x3s2x16AVX2
		}
	}
	if p.SW == 1 {
		switch dwChain(c) {
		case 1:
			k = dw3x3s1cAVX2
		case 2:
			if c%16 == 0 {
				k = dw3x3s1cx16AVX2
			} else {
				k = dw3x3s1cAVX2
			}
		}
	}
	dwRowsLoop(p, in, &w[0], bias, out, y0, y1, scratch, flags, k)
}

// dwRowKernel is the signature of the in-place row kernels.
type dwRowKernel func(out, r0, r1, r2, w, bias *float32, n, c int, lo, hi float32, flags int)

// dwRowsLoop runs output rows [y0, y1) one call of k each (the weights at
// w, in k's layout), with flags and each row's border bit: a window row
// outside the image reads zeros from scratch.
func dwRowsLoop(p *DWParams, in []float32, w *float32, bias, out []float32, y0, y1 int, scratch []float32, flags int, k dwRowKernel) {
	c := p.C
	// A window row outside the image reads zeros: wp pixels from the
	// first window's left column (which the kernel never reads with
	// flags bit 0, so the pointer goes one pixel in).
	var zero *float32
	for oy := y0; oy < y1; oy++ {
		iy0 := oy*p.SH - p.PadT
		var rows [3]*float32
		f := flags | dwBorderRow(p, iy0)
		for r := range rows {
			iy := iy0 + r
			if iy >= 0 && iy < p.H {
				rows[r] = &in[iy*p.W*c]
				continue
			}
			if zero == nil {
				n := ((p.OW-1)*p.SW + 3) * c
				if len(scratch) < n {
					scratch = make([]float32, n)
				}
				clear(scratch[:n])
				zero = &scratch[(flags&1)*c]
			}
			rows[r] = zero
		}
		k(&out[oy*p.OW*c], rows[0], rows[1], rows[2], w, &bias[0], p.OW, c, p.Lo, p.Hi, f)
	}
}

// dwPadStride reports whether the row kernels run c channels at stride sw
// from copies of the input rows and weights whose pixels are c+16 floats
// apart, one cache line more than c: with c a multiple of 512 (2 KB a
// pixel) every pixel read at one channel offset maps to the same one or
// two L1 sets of eight lines, where a group of four pixels reads 18.
// BenchmarkDepthwiseRowsAVX2 measured the copies 1.1-1.25x as fast as the
// sixteen-channel kernel on 8x8x512 and 1.75-1.9x on 4x4x1024 at stride
// 1, 0.85-0.9x on 8x8x512 at stride 2 (four input pixels copied per output
// pixel). Tests and benchmarks switch it to compare. An input that
// DWParams.Hot says is in L2 is read in place all the same: in V1 1.0@128
// at batch 1 (one thread, each layer's input just written by the 1x1
// before it), the six 8x8x512 layers and the 4x4x1024 one took 213-225 us
// in place and 291-318 us with the copies (0.71-0.74x, three runs of
// graph's BenchmarkDWPadStrideLayers); at batch 4, their inputs 512 KB,
// the copies were 1.09-1.12x as fast.
var dwPadStride = func(c, sw int) bool { return c%512 == 0 && sw == 1 }

// dwPaddedScratch is the scratch dw3x3RowsPadded needs for output rows
// [y0, y1): the weights and a zero row at the padded stride, then the
// input rows the output rows read.
func dwPaddedScratch(p *DWParams, y0, y1 int) int {
	ra, rb := dwPaddedRows(p, y0, y1)
	return (9 + (p.OW-1)*p.SW + 3 + (rb-ra)*p.W) * (p.C + 16)
}

// dwPaddedRows is the range of input rows output rows [y0, y1) read.
func dwPaddedRows(p *DWParams, y0, y1 int) (ra, rb int) {
	ra = max(y0*p.SH-p.PadT, 0)
	rb = max(min((y1-1)*p.SH-p.PadT+3, p.H), ra)
	return ra, rb
}

// dw3x3RowsPadded is dw3x3RowsAVX2 on copies of the weights and input rows
// whose pixels are ps = c+16 floats apart (see dwPadStride): the same
// kernel, or its chain twin, the same sums (a hot input read in place and
// a cold one copied give the same bits).
func dw3x3RowsPadded(p *DWParams, in, w, bias, out []float32, y0, y1 int, scratch []float32, flags int) {
	c := p.C
	ps := c + 16
	wp := (p.OW-1)*p.SW + 3
	if n := dwPaddedScratch(p, y0, y1); len(scratch) < n {
		scratch = make([]float32, n)
	}
	wb := scratch[:9*ps]
	zero := scratch[9*ps : (9+wp)*ps]
	rows := scratch[(9+wp)*ps:]
	for k := range 9 {
		copy(wb[k*ps:k*ps+c], w[k*c:(k+1)*c])
	}
	ra, rb := dwPaddedRows(p, y0, y1)
	for iy := ra; iy < rb; iy++ {
		for x := range p.W {
			i := (iy*p.W + x) * c
			copy(rows[((iy-ra)*p.W+x)*ps:], in[i:i+c])
		}
	}
	k := dw3x3s1pAVX2
	if p.SW == 2 {
		k = dw3x3s2pAVX2
	} else if c%16 == 0 && dwChain(c) == 2 {
		k = dw3x3s1cx16pAVX2 // the sums of the in-place kernel dwChain picks
	}
	zeroed := false
	for oy := y0; oy < y1; oy++ {
		iy0 := oy*p.SH - p.PadT
		var r [3]*float32
		f := flags | dwBorderRow(p, iy0)
		for j := range r {
			iy := iy0 + j
			if iy >= 0 && iy < p.H {
				r[j] = &rows[(iy-ra)*p.W*ps]
				continue
			}
			if !zeroed {
				clear(zero)
				zeroed = true
			}
			r[j] = &zero[(flags&1)*ps]
		}
		k(&out[oy*p.OW*c], r[0], r[1], r[2], &wb[0], &bias[0], p.OW, c, 4*ps, p.Lo, p.Hi, f)
	}
}

// dwBorderRow is flags bit 3 for the row kernels at stride 2 when the
// output row whose window starts at input row iy0 reads a row outside the
// image: its pixels then sum tap by tap, as Depthwise's dwTaps did (see
// gen_dwavx2.go's edges).
func dwBorderRow(p *DWParams, iy0 int) int {
	if p.SW == 2 && (iy0 < 0 || iy0+3 > p.H) {
		return 8
	}
	return 0
}

// dw3x3RowFlags checks that in, the 3x3 weights w (packed or not: 9c
// floats), bias and the output rows up to y1 are long enough for p (the
// row kernels read and write them unchecked) and returns the kernels'
// flags: 1 a left edge column, 2 a right one, 4 HARD_SWISH.
func dw3x3RowFlags(p *DWParams, in, w, bias, out []float32, y1 int, hs bool) int {
	c := p.C
	if p.H > 0 { // a band of rows may read none of the image
		_ = in[p.H*p.W*c-1]
	}
	_ = w[9*c-1]
	_ = bias[c-1]
	_ = out[y1*p.OW*c-1]
	flags := 0
	if p.PadL == 1 {
		flags |= 1
	}
	if (p.OW-1)*p.SW+3-p.PadL > p.W {
		flags |= 2
	}
	if hs {
		flags |= 4
	}
	return flags
}
