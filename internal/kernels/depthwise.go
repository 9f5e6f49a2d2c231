package kernels

// DWParams describes a depthwise convolution with depth multiplier 1 on one
// NHWC image: input H×W×C, filter KH×KW×C, output OH×OW×C.
type DWParams struct {
	H, W, C    int
	KH, KW     int
	SH, SW     int
	PadT, PadL int
	OH, OW     int
	Lo, Hi     float32
}

// Depthwise computes output rows [y0, y1) of a depthwise convolution. w is
// laid out [KH][KW][C] and bias has C entries.
func Depthwise(p *DWParams, in, w, bias, out []float32, y0, y1 int) {
	c := p.C
	for oy := y0; oy < y1; oy++ {
		row := out[oy*p.OW*c : (oy+1)*p.OW*c]
		for ox := 0; ox < p.OW; ox++ {
			copy(row[ox*c:ox*c+c], bias)
		}
		for ky := 0; ky < p.KH; ky++ {
			iy := oy*p.SH + ky - p.PadT
			if iy < 0 || iy >= p.H {
				continue
			}
			inRow := in[iy*p.W*c : (iy+1)*p.W*c]
			for kx := 0; kx < p.KW; kx++ {
				// Output columns whose input column ox*SW+kx-PadL is inside the image.
				x0 := 0
				if d := p.PadL - kx; d > 0 {
					x0 = (d + p.SW - 1) / p.SW
				}
				x1 := p.OW
				if lim := (p.W - 1 + p.PadL - kx); lim < 0 {
					x1 = 0
				} else {
					x1 = min(x1, lim/p.SW+1)
				}
				if x1 <= x0 {
					continue
				}
				wt := w[(ky*p.KW+kx)*c : (ky*p.KW+kx+1)*c]
				ix0 := x0*p.SW + kx - p.PadL
				dwTap(row[x0*c:], inRow[ix0*c:], wt, x1-x0, c, p.SW*c)
			}
		}
		clampRow(row, p.Lo, p.Hi)
	}
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
