package kernels

import "unsafe"

// DWParams describes a depthwise convolution with depth multiplier 1 on one
// NHWC image: input H×W×C, filter KH×KW×C, output OH×OW×C.
type DWParams struct {
	H, W, C    int
	KH, KW     int
	SH, SW     int
	PadT, PadL int
	OH, OW     int
	Lo, Hi     float32
	// Hot says the input was written just before and is likely still in
	// L2 (the caller's guess): the AVX2 row kernels then read it in place
	// rather than from padded-stride copies (see dwPadStride).
	Hot bool
}

// Depthwise computes output rows [y0, y1) of a depthwise convolution. w is
// laid out [KH][KW][C] and bias has C entries.
func Depthwise(p *DWParams, in, w, bias, out []float32, y0, y1 int) {
	c := p.C
	fast := hasAVX2FMA && c%8 == 0
	// Output columns [xa, xb) have their whole KW-wide window inside the image.
	xa := (p.PadL + p.SW - 1) / p.SW
	xb := dwInsideEnd(p)
	for oy := y0; oy < y1; oy++ {
		iy0 := oy*p.SH - p.PadT
		if !fast || iy0 < 0 || iy0+p.KH > p.H || xb <= xa {
			dwTaps(p, in, w, bias, out, oy, 0, p.OW)
			continue
		}
		dwTaps(p, in, w, bias, out, oy, 0, xa)
		ix0 := xa*p.SW - p.PadL
		src := in[(iy0*p.W+ix0)*c:]
		_ = src[((xb-xa-1)*p.SW+(p.KH-1)*p.W+p.KW-1)*c+c-1] // last tap of the last pixel
		dst := out[(oy*p.OW+xa)*c : (oy*p.OW+xb)*c]
		_ = w[p.KH*p.KW*c-1]
		_ = bias[c-1]
		if p.KH == 3 && p.KW == 3 {
			dw3x3(&dst[0], &src[0], &w[0], &bias[0], xb-xa, c, p.SW*c*4, p.W*c*4, p.Lo, p.Hi)
		} else {
			dwKxK(&dst[0], &src[0], &w[0], &bias[0], xb-xa, c, p.SW*c*4, p.W*c*4, p.KH, p.KW, p.Lo, p.Hi)
		}
		dwTaps(p, in, w, bias, out, oy, xb, p.OW)
	}
}

// dwTaps computes output pixels [x0, x1) of row oy tap by tap, skipping
// taps outside the image.
func dwTaps(p *DWParams, in, w, bias, out []float32, oy, x0, x1 int) {
	if x1 <= x0 {
		return
	}
	c := p.C
	row := out[(oy*p.OW+x0)*c : (oy*p.OW+x1)*c]
	for i := 0; i < x1-x0; i++ {
		copy(row[i*c:i*c+c], bias)
	}
	for ky := 0; ky < p.KH; ky++ {
		iy := oy*p.SH + ky - p.PadT
		if iy < 0 || iy >= p.H {
			continue
		}
		inRow := in[iy*p.W*c : (iy+1)*p.W*c]
		for kx := 0; kx < p.KW; kx++ {
			// Output columns whose input column ox*SW+kx-PadL is inside the image.
			lo := x0
			if d := p.PadL - kx; d > 0 {
				lo = max(lo, (d+p.SW-1)/p.SW)
			}
			hi := x1
			if lim := p.W - 1 + p.PadL - kx; lim < 0 {
				hi = lo
			} else {
				hi = min(hi, lim/p.SW+1)
			}
			if hi <= lo {
				continue
			}
			wt := w[(ky*p.KW+kx)*c : (ky*p.KW+kx+1)*c]
			ix0 := lo*p.SW + kx - p.PadL
			dwTap(row[(lo-x0)*c:], inRow[ix0*c:], wt, hi-lo, c, p.SW*c)
		}
	}
	clampRow(row, p.Lo, p.Hi)
}

// dw3x3 picks the widest vector kernel for c (a multiple of 8). With
// AVX-512 and c an odd multiple of 8 (V3's 72, 120, 184, 200 channels), the
// AVX-512 kernel takes all but the last 8 channels and the AVX2 kernel
// those: each channel's sum is taken in the same order either way.
func dw3x3(out, in, w, bias *float32, n, c, sx, rs int, lo, hi float32) {
	v := c &^ 15
	switch {
	case hasAVX512 && v == c:
		dw3x3AVX512(out, in, w, bias, n, c, sx, rs, lo, hi, 4*c)
	case hasAVX512 && v > 0:
		dw3x3AVX512(out, in, w, bias, n, c, sx, rs, lo, hi, 4*v)
		dw3x3AVX2(floatAt(out, v), floatAt(in, v), floatAt(w, v), floatAt(bias, v), n, c, sx, rs, lo, hi, 4*(c-v))
	default:
		dw3x3AVX2(out, in, w, bias, n, c, sx, rs, lo, hi, 4*c)
	}
}

// dwKxK picks the widest vector kernel for c, as dw3x3.
func dwKxK(out, in, w, bias *float32, n, c, sx, rs, kh, kw int, lo, hi float32) {
	v := c &^ 15
	switch {
	case hasAVX512 && v == c:
		dwKxKAVX512(out, in, w, bias, n, c, sx, rs, kh, kw, lo, hi, 4*c)
	case hasAVX512 && v > 0:
		dwKxKAVX512(out, in, w, bias, n, c, sx, rs, kh, kw, lo, hi, 4*v)
		dwKxKAVX2(floatAt(out, v), floatAt(in, v), floatAt(w, v), floatAt(bias, v), n, c, sx, rs, kh, kw, lo, hi, 4*(c-v))
	default:
		dwKxKAVX2(out, in, w, bias, n, c, sx, rs, kh, kw, lo, hi, 4*c)
	}
}

// floatAt is p advanced by i floats (within the slice p points into: the
// callers above stay inside the pixel p starts).
func floatAt(p *float32, i int) *float32 {
	return (*float32)(unsafe.Add(unsafe.Pointer(p), 4*i))
}

// dwTap accumulates out[x*c+j] += in[x*inStride+j]*w[j] for x < n, j < c.
func dwTap(out, in, w []float32, n, c, inStride int) {
	if n <= 0 {
		return
	}
	_ = out[(n-1)*c+c-1]
	_ = in[(n-1)*inStride+c-1]
	_ = w[c-1]
	if hasAVX2FMA && c%8 == 0 {
		dwTapAVX2(&out[0], &in[0], &w[0], n, c, inStride)
		return
	}
	for x := 0; x < n; x++ {
		o := out[x*c : x*c+c]
		i := in[x*inStride : x*inStride+c]
		for j := range o {
			o[j] += i[j] * w[j]
		}
	}
}

func clampRow(row []float32, lo, hi float32) {
	if hasAVX2FMA && len(row)%8 == 0 && len(row) > 0 {
		clampAVX2(&row[0], len(row), lo, hi)
		return
	}
	for j, v := range row {
		row[j] = clamp(v, lo, hi)
	}
}

// dwInsideEnd is the end of the output columns whose whole window lies
// inside the image (they start at (PadL+SW-1)/SW): none when the image is
// narrower than the window's part inside it, where the division would
// round a negative count up to 0 and take column 0 for inside (a row of
// two pixels at stride 2 with one column of padding on the right read
// the next row's first pixel as its third column).
func dwInsideEnd(p *DWParams) int {
	d := p.W - p.KW + p.PadL
	if d < 0 {
		return 0
	}
	return min(p.OW, d/p.SW+1)
}
