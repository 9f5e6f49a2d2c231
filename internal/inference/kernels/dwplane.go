package kernels

// dwPlaneFunc runs nr output rows of n pixels of one channel block: out is
// the first row's first pixel (ops bytes per pixel, ors per row), plane the
// first of the window rows it reads (prs bytes per row, the block's pixels
// side by side, padding included; srs bytes from one output row's window
// to the next), w the block's weights [k][k][width], bias its bias; hs not
// 0 applies HARD_SWISH.
type dwPlaneFunc func(out, plane, w, bias *float32, n, ops, prs, nr, ors, srs int, lo, hi float32, hs int)

// DWPlanes reports whether DepthwisePlanes takes p: square 3x3, 5x5 and
// 7x7 windows at stride 1 or 2 across (any stride down).
func DWPlanes(p *DWParams) bool {
	k := p.KW
	return p.KH == k && (k == 3 || k == 5 || k == 7) && (p.SW == 1 || p.SW == 2) && p.SH >= 1 &&
		p.C > 0 && p.OW > 0 && p.OH > 0
}

// DWPlanesFaster reports whether the depthwise operator should run p
// through DepthwisePlanes rather than DepthwiseBlocked on this CPU: 5x5
// and 7x7 windows with channels a multiple of 8, where the two give the
// same bits (BenchmarkDepthwisePlanes, V3-Large's layers: 28x28x120 1.7x,
// 56x56x72 stride 2 1.6x, 7x7x960 1.3x, 14x14x672 stride 2 1.15-1.6x).
// 3x3 windows stay on DepthwiseBlocked although the planes are faster at
// stride 1 on images of 7x7 to 16x16 pixels (14x14x184..672 1.3-1.5x,
// 16x16x256 and 8x8x512 1.4x): DepthwiseBlocked's one-pixel 3x3 kernels
// sum window columns apart, so the planes would change the last bits
// (and the fused depthwise + 1x1 would no longer match the operator
// alone); summing them in tap order instead moved EfficientNet-Lite0's
// largest error against ONNX Runtime from 5.0e-6 to 1.2e-5, over the
// oracle tests' 1e-5. Larger 3x3 layers (32x32x128 0.85x, 64x64x32 0.8x)
// and 3x3 at stride 2 (0.55-0.65x: the plane copies four input pixels per
// output pixel for nine multiply-adds) are slower on the planes anyway.
func DWPlanesFaster(p *DWParams) bool {
	return DWPlanes(p) && hasAVX2FMA && p.KW > 3 && p.C%8 == 0
}

// dwPlaneWidth is the channel block of the vector path in use: 16 floats
// with AVX-512, 8 with AVX2 or the portable code.
func dwPlaneWidth() int {
	if hasAVX512 {
		return 16
	}
	return 8
}

// DWPlaneScratch is the scratch length DepthwisePlanes needs for p (any
// row range): one channel block's padded plane for all output rows and
// its weights.
func DWPlaneScratch(p *DWParams) int {
	v := dwPlaneWidth()
	wp := (p.OW-1)*p.SW + p.KW
	return ((p.OH-1)*p.SH+p.KH)*wp*v + p.KH*p.KW*v
}

// DepthwisePlanes computes output rows [y0, y1) of a depthwise convolution
// that DWPlanes takes, channel block by channel block (16 channels with
// AVX-512, else 8; with AVX-512 a last 8 to 15 channels take the AVX2
// kernel, and fewer than 8 left over the portable code). For each block
// the input rows are copied, a band of output rows' worth just before the
// band is computed, into a plane that holds only that block's channels,
// its pixels side by side, zero-padded on every side (the padding is
// zeroed once and shared by the blocks); the kernels then sweep each
// output row eight pixels at a time with a window row's weights in
// registers, loading every input vector once per window row (see
// gen_dwplane.go). Each sum starts from the bias and takes the taps row by
// row, left to right, a tap on padding adding 0·w: the order of dwKxK,
// dwTaps and the four-pixel 3x3 kernels, so the sums are
// DepthwiseBlocked's on the same instruction set for 5x5 and 7x7 windows
// (its one-pixel 3x3 kernels, dw3x3, sum window columns apart and differ
// in the last bits). With hs, the kernels
// pass each sum through HARD_SWISH as they store it, bit for bit
// HardSwish's. scratch should hold DWPlaneScratch(p) floats (a shorter one
// is replaced).
func DepthwisePlanes(p *DWParams, in, w, bias, out []float32, y0, y1 int, scratch []float32, hs bool) {
	if y1 <= y0 {
		return
	}
	c, k, s := p.C, p.KW, p.SW
	_ = in[p.H*p.W*c-1]
	_ = w[k*k*c-1]
	_ = bias[c-1]
	_ = out[y1*p.OW*c-1]
	v := dwPlaneWidth()
	wp := (p.OW-1)*s + k
	rows := (y1-1-y0)*p.SH + k
	if n := rows*wp*v + k*k*v; len(scratch) < n {
		scratch = make([]float32, n)
	}
	wb := scratch[:k*k*v]
	plane := scratch[k*k*v : k*k*v+rows*wp*v]
	r0 := y0*p.SH - p.PadT
	hsArg := 0
	if hs {
		hsArg = 1
	}
	// The plane columns [lo, hi) and rows [ra, rb) (from r0) hold the
	// image; the rest is padding, zeroed once for each block width and
	// left alone by the blocks' copies.
	lo := min(p.PadL, wp)
	hi := max(min(wp, p.W+p.PadL), lo)
	ra, rb := min(max(-r0, 0), rows), max(min(p.H-r0, rows), 0)
	rb = max(rb, ra)
	// Output rows go in bands whose window rows take about dwBandBytes of
	// plane, copied just before the band, so that they are still in L1.
	band := max(1, dwBandBytes/(p.SH*wp*v*4))
	zeroed := 0
	for cb := 0; cb < c; {
		vw := min(v, c-cb)
		var f dwPlaneFunc
		switch {
		case hasAVX512 && vw == 16:
			f = dwPlaneAsm[0][k/2-1][s-1]
		case hasAVX2FMA && vw >= 8:
			vw, f = 8, dwPlaneAsm[1][k/2-1][s-1]
		}
		rw := wp * vw // floats per plane row
		if zeroed != vw {
			clear(plane[:ra*rw])
			for r := ra; r < rb; r++ {
				clear(plane[r*rw : r*rw+lo*vw])
				clear(plane[r*rw+hi*vw : (r+1)*rw])
			}
			clear(plane[rb*rw : rows*rw])
			zeroed = vw
		}
		for t := 0; t < k*k; t++ {
			copy(wb[t*vw:(t+1)*vw], w[t*c+cb:t*c+cb+vw])
		}
		filled := ra // plane rows copied so far (those before ra are padding)
		for oy := y0; oy < y1; oy += band {
			nr := min(band, y1-oy)
			first := (oy - y0) * p.SH
			if need := min((nr-1)*p.SH+k+first, rb); need > filled {
				dwPlaneCopy(p, in, plane[filled*rw:need*rw], r0+filled, need-filled, cb, vw, lo, hi, wp)
				filled = need
			}
			pl := plane[first*rw : (first+(nr-1)*p.SH+k)*rw]
			dst := out[oy*p.OW*c+cb : (oy+nr-1)*p.OW*c+(p.OW-1)*c+cb+vw]
			if f != nil {
				f(&dst[0], &pl[0], &wb[0], &bias[cb], p.OW, c*4, rw*4, nr, p.OW*c*4, p.SH*rw*4, p.Lo, p.Hi, hsArg)
			} else {
				for y := range nr {
					dwPlaneRowGo(dst[y*p.OW*c:], pl[y*p.SH*rw:], wb, bias[cb:cb+vw], p.OW, vw, c, rw, k, s, p.Lo, p.Hi, hs)
				}
			}
		}
		cb += vw
	}
}

// dwBandBytes is the plane a band of output rows reads (see
// DepthwisePlanes).
var dwBandBytes = 16 << 10

// dwPlaneCopy copies input rows iy.. (rows of them, all inside the image)
// of channels [cb, cb+vw) into plane rows of wp pixels, input column x-PadL
// at plane column x for lo <= x < hi.
func dwPlaneCopy(p *DWParams, in, plane []float32, iy, rows, cb, vw, lo, hi, wp int) {
	n := hi - lo
	if n <= 0 || rows <= 0 {
		return
	}
	c := p.C
	src := in[(iy*p.W+lo-p.PadL)*c+cb : ((iy+rows-1)*p.W+hi-p.PadL-1)*c+cb+vw]
	dst := plane[lo*vw : ((rows-1)*wp+hi)*vw]
	switch {
	case vw == 16 && hasAVX512:
		dwGatherAVX512(&dst[0], &src[0], rows, n, p.W*c*4, c*4, wp*vw*4)
	case vw == 8 && hasAVX2FMA:
		dwGatherAVX2(&dst[0], &src[0], rows, n, p.W*c*4, c*4, wp*vw*4)
	default:
		for r := range rows {
			for x := range n {
				copy(dst[(r*wp+x)*vw:(r*wp+x+1)*vw], src[(r*p.W+x)*c:(r*p.W+x)*c+vw])
			}
		}
	}
}

// dwPlaneRowGo is the plane kernel in Go for any block width vw: n output
// pixels ops floats apart from a plane of prs floats per row.
func dwPlaneRowGo(out, plane, w, bias []float32, n, vw, ops, prs, k, s int, lo, hi float32, hs bool) {
	for x := 0; x < n; x++ {
		o := out[x*ops : x*ops+vw]
		copy(o, bias)
		for ky := 0; ky < k; ky++ {
			for kx := 0; kx < k; kx++ {
				src := plane[ky*prs+(x*s+kx)*vw : ky*prs+(x*s+kx+1)*vw]
				wt := w[(ky*k+kx)*vw : (ky*k+kx+1)*vw]
				for j := range o {
					o[j] += src[j] * wt[j]
				}
			}
		}
		for j, v := range o {
			v = clamp(v, lo, hi)
			if hs {
				v = v * min(max(v+3, 0), 6) / 6
			}
			o[j] = v
		}
	}
}
