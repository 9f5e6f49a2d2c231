package kernels

// dwPlaneFunc runs nr output rows of n pixels of one channel block: out is
// the first row's first pixel (ops bytes per pixel, ors per row), plane the
// first input pixel of the first window row it reads (prs bytes per row,
// pps bytes per pixel: the block's pixels side by side in a padded plane,
// or the NHWC input itself; srs bytes from one output row's window to the
// next), w the block's weights [k][k][width], bias its bias; hs not 0
// applies HARD_SWISH.
type dwPlaneFunc func(out, plane, w, bias *float32, n, ops, prs, pps, nr, ors, srs int, lo, hi float32, hs int)

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
// same bits (BenchmarkDepthwisePlanes, V3-Large's layers, AVX-512: 28x28x120
// about 2.2x, 56x56x72 stride 2 1.6x, 7x7x960 2.0x, 14x14x672 stride 2
// 1.8x, since the inside columns read the input directly and a block's
// weights are gathered in one call).
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
// zeroed once and shared by the blocks). On images with at least
// dwDirectMin columns whose windows lie inside the image, the rows whose
// windows do too copy only the edge columns: the inside pixels read the
// NHWC input where it is (a block's pixel is vw floats in a row, C apart),
// the same loads in the same order. The kernels sweep each
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
	j := dwPlaneJob{p: p, in: in, bias: bias, out: out, y0: y0, y1: y1, wp: wp, hs: hs,
		wb: scratch[:k*k*v], plane: scratch[k*k*v : k*k*v+rows*wp*v], r0: y0*p.SH - p.PadT}
	// The plane columns [lo, hi) and rows [ra, rb) (from r0) hold the
	// image; the rest is padding, zeroed once for each block width and
	// left alone by the blocks' copies.
	j.lo = min(p.PadL, wp)
	j.hi = max(min(wp, p.W+p.PadL), j.lo)
	j.ra, j.rb = min(max(-j.r0, 0), rows), max(min(p.H-j.r0, rows), 0)
	j.rb = max(j.rb, j.ra)
	// Output rows go in bands whose window rows take about dwBandBytes of
	// plane, copied just before the band, so that they are still in L1.
	j.band = max(1, dwBandBytes/(p.SH*wp*v*4))
	// Output columns [xa, xb) and rows [ya, yb) have their windows inside
	// the image; the edge pixels, left of xa and from xb on, read plane
	// columns [0, wl) and [wr, wp).
	j.xa, j.xb = dwInside(p.PadL, p.W, k, s, p.OW)
	j.ya, j.yb = dwInside(p.PadT, p.H, k, p.SH, p.OH)
	j.direct = dwDirect && j.xb-j.xa >= dwDirectMin && j.yb > j.ya
	j.wr = j.xb * s
	if j.xa > 0 {
		j.wl = (j.xa-1)*s + k
	}
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
		if rw := wp * vw; zeroed != vw {
			plane := j.plane
			clear(plane[:j.ra*rw])
			for r := j.ra; r < j.rb; r++ {
				clear(plane[r*rw : r*rw+j.lo*vw])
				clear(plane[r*rw+j.hi*vw : (r+1)*rw])
			}
			clear(plane[j.rb*rw : rows*rw])
			zeroed = vw
		}
		dwGather(j.wb, w[cb:], 1, k*k, 0, c, vw)
		j.block(cb, vw, f)
		cb += vw
	}
}

// dwPlaneJob is one DepthwisePlanes call's geometry (see there).
type dwPlaneJob struct {
	p                  *DWParams
	in, bias, out      []float32
	wb, plane          []float32 // the block's weights, its plane
	y0, y1, r0         int       // output rows, the plane's first row in the image
	wp, lo, hi, ra, rb int       // plane width, image columns and rows in it
	band               int       // output rows per band
	xa, xb, ya, yb     int       // output columns and rows whose windows are inside
	wl, wr             int       // plane columns [0, wl) and [wr, wp) the edge pixels read
	direct, hs         bool
}

// block computes channels [cb, cb+vw) of the job's rows with f (nil: the
// portable code), band by band, copying into the plane what it reads.
func (j *dwPlaneJob) block(cb, vw int, f dwPlaneFunc) {
	p, k, s := j.p, j.p.KW, j.p.SW
	c, rw := p.C, j.wp*vw // floats per pixel, per plane row
	// run computes nr output rows of n pixels from out[o] on, reading
	// src (prs floats per row, pps per pixel, srs per output row).
	run := func(o int, src []float32, n, prs, pps, nr, srs int) {
		if n <= 0 {
			return
		}
		if f != nil {
			hs := 0
			if j.hs {
				hs = 1
			}
			f(&j.out[o], &src[0], &j.wb[0], &j.bias[cb], n, c*4, prs*4, pps*4, nr, p.OW*c*4, srs*4, p.Lo, p.Hi, hs)
			return
		}
		for y := range nr {
			dwPlaneRowGo(j.out[o+y*p.OW*c:], src[y*srs:], j.wb, j.bias[cb:cb+vw], n, vw, c, prs, pps, k, s, p.Lo, p.Hi, j.hs)
		}
	}
	// Plane rows [from, fullTo) hold their whole image part, rows
	// [from, edgeTo) at least the columns the edge pixels read.
	fullTo, edgeTo := j.ra, j.ra
	for oy := j.y0; oy < j.y1; {
		nr := min(j.band, j.y1-oy)
		inside := j.direct && oy >= j.ya && oy < j.yb
		switch {
		case inside:
			nr = min(nr, j.yb-oy)
		case j.direct && oy < j.ya:
			nr = min(nr, j.ya-oy)
		}
		first := (oy - j.y0) * p.SH
		need := min((nr-1)*p.SH+k+first, j.rb)
		pl := j.plane[first*rw : (first+(nr-1)*p.SH+k)*rw]
		o := oy*p.OW*c + cb
		if !inside {
			if from := max(fullTo, first); need > from {
				dwPlaneCopy(p, j.in, j.plane[from*rw:need*rw], j.r0+from, need-from, cb, vw, j.lo, j.hi, j.wp)
				fullTo, edgeTo = need, max(edgeTo, need)
			}
			run(o, pl, p.OW, rw, vw, nr, p.SH*rw)
			oy += nr
			continue
		}
		// The window rows lie in the image: the columns [xa, xb) read the
		// input where it is, the plane only has to hold the columns the
		// edge pixels read.
		if from := max(edgeTo, first); need > from {
			dst := j.plane[from*rw : need*rw]
			dwPlaneCopy(p, j.in, dst, j.r0+from, need-from, cb, vw, j.lo, min(j.hi, j.wl), j.wp)
			dwPlaneCopy(p, j.in, dst, j.r0+from, need-from, cb, vw, max(j.lo, j.wr), j.hi, j.wp)
			edgeTo = need
		}
		run(o, pl, j.xa, rw, vw, nr, p.SH*rw)
		run(o+j.xa*c, j.in[((oy*p.SH-p.PadT)*p.W+j.xa*s-p.PadL)*c+cb:], j.xb-j.xa, p.W*c, c, nr, p.SH*p.W*c)
		run(o+j.xb*c, pl[j.xb*s*vw:], p.OW-j.xb, rw, vw, nr, p.SH*rw)
		oy += nr
	}
}

// dwInside returns the output positions [a, b) (of n) whose windows of k
// at stride s lie inside an image side of size with pad before it.
func dwInside(pad, size, k, s, n int) (a, b int) {
	a = min((pad+s-1)/s, n)
	if size-k+pad >= 0 {
		b = min((size-k+pad)/s+1, n)
	}
	return a, max(a, b)
}

// dwDirectMin is the fewest inside columns for which DepthwisePlanes
// reads the input directly: on narrower images (V3's 7x7 and 14x14 stride
// 2 layers) the three kernel calls per band, their short pixel groups and
// the two edge copies cost more than copying the whole row
// (BenchmarkDepthwisePlanes: 7x7x960 and 14x14x672 stride 2 1.3-1.6x
// slower).
const dwDirectMin = 16

// dwDirect lets DepthwisePlanes read the input where it lies for the
// pixels whose windows are inside the image, copying only the edges into
// the plane (tests and benchmarks switch it off to compare).
var dwDirect = true

// dwBandBytes is the plane a band of output rows reads (see
// DepthwisePlanes).
var dwBandBytes = 16 << 10

// dwGather copies rows runs of n vectors of vw floats, stride floats apart
// within a run and srs from one run to the next, to dst side by side (run
// after run): one channel block of a rectangle of pixels, or of the
// weights' taps.
func dwGather(dst, src []float32, rows, n, srs, stride, vw int) {
	_ = dst[rows*n*vw-1]
	_ = src[(rows-1)*srs+(n-1)*stride+vw-1]
	switch {
	case vw == 16 && hasAVX512:
		dwGatherAVX512(&dst[0], &src[0], rows, n, srs*4, stride*4, n*vw*4)
	case vw == 8 && hasAVX2FMA:
		dwGatherAVX2(&dst[0], &src[0], rows, n, srs*4, stride*4, n*vw*4)
	default:
		for r := range rows {
			for x := range n {
				copy(dst[(r*n+x)*vw:(r*n+x+1)*vw], src[r*srs+x*stride:r*srs+x*stride+vw])
			}
		}
	}
}

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
// pixels ops floats apart from a plane of prs floats per row and pps per
// pixel.
func dwPlaneRowGo(out, plane, w, bias []float32, n, vw, ops, prs, pps, k, s int, lo, hi float32, hs bool) {
	for x := 0; x < n; x++ {
		o := out[x*ops : x*ops+vw]
		copy(o, bias)
		for ky := 0; ky < k; ky++ {
			for kx := 0; kx < k; kx++ {
				src := plane[ky*prs+(x*s+kx)*pps : ky*prs+(x*s+kx)*pps+vw]
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
