package kernels

// DepthwiseBlocked is Depthwise with a 3x3 interior kernel that computes
// four output pixels at a time (AVX-512, channels a multiple of 16), whose
// loads all read neighbouring pixels; other shapes, paths and the border
// pixels go as in Depthwise. Sums may round differently from Depthwise's in
// the last bit.
func DepthwiseBlocked(p *DWParams, in, w, bias, out []float32, y0, y1 int) {
	c := p.C
	if !hasAVX512 || c%16 != 0 || p.KH != 3 || p.KW != 3 {
		Depthwise(p, in, w, bias, out, y0, y1)
		return
	}
	xa := (p.PadL + p.SW - 1) / p.SW
	xb := min(p.OW, (p.W-p.KW+p.PadL)/p.SW+1)
	for oy := y0; oy < y1; oy++ {
		iy0 := oy*p.SH - p.PadT
		if iy0 < 0 || iy0+p.KH > p.H || xb-xa < 4 {
			Depthwise(p, in, w, bias, out, oy, oy+1)
			continue
		}
		dwTaps(p, in, w, bias, out, oy, 0, xa)
		ix0 := xa*p.SW - p.PadL
		src := in[(iy0*p.W+ix0)*c:]
		_ = src[((xb-xa-1)*p.SW+(p.KH-1)*p.W+p.KW-1)*c+c-1] // last tap of the last pixel
		dst := out[(oy*p.OW+xa)*c : (oy*p.OW+xb)*c]
		_ = w[p.KH*p.KW*c-1]
		_ = bias[c-1]
		n4 := (xb - xa) &^ 3
		if p.SW == 1 {
			dw3x3x4s1AVX512(&dst[0], &src[0], &w[0], &bias[0], n4, c, p.W*c*4, p.Lo, p.Hi)
		} else {
			dw3x3x4AVX512(&dst[0], &src[0], &w[0], &bias[0], n4, c, p.SW*c*4, p.W*c*4, p.Lo, p.Hi)
		}
		if n4 < xb-xa {
			dw3x3AVX512(&dst[n4*c], &src[n4*p.SW*c], &w[0], &bias[0], xb-xa-n4, c, p.SW*c*4, p.W*c*4, p.Lo, p.Hi)
		}
		dwTaps(p, in, w, bias, out, oy, xb, p.OW)
	}
}
