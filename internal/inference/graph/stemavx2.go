package graph

import "github.com/cspipe/cspipe/internal/inference/kernels"

// stemAVX2 reports whether the column-window convolution k is an RGB stem
// that runStemAVX2 takes: 3x3 windows of three channels whose weights
// kernels.StemColumnsAVX2 has a kernel for (the AVX2 path, 16 or 32
// output channels), rows narrow enough for zeroRow.
func (k *convKernel) stemAVX2() bool {
	return k.kh == 3 && k.kw == 3 && k.cin == 3 && (k.ow-1)*k.sw*k.cin+k.kw*k.cin <= len(zeroRow) &&
		kernels.StemColumnsAVX2Fast(k.pb)
}

// runStemAVX2 is runColumns for an RGB stem on AVX2 (stemAVX2): the
// windows of the pixels inside the image's width are read where the image
// holds them, window row ky of pixel x from input row oy*SH+ky-PadT (zeros
// above or below the image) at column x*SW-PadL, with no strip filled;
// the few pixels whose window leaves the image left or right get theirs
// copied with the zeros in place. kernels.StemColumnsAVX2 takes the steps
// in the column path's order, so the outputs are its bits. (V1 1.0@128's
// stem, one thread: the strip filled as much time as the GEMM took.)
func (k *convKernel) runStemAVX2(e *env, in, out []float32) {
	c, kw := k.cin, k.kw
	win := kw * c
	imgLen := k.h * k.w * c
	x0, x1, edge := k.insideColumns()
	act := k.act()
	e.parallelFor(k.oh*e.batch, 1, func(lo, hi int) {
		var scratch [3][]float32
		if edge > 0 {
			sp, _ := k.scratch.Get().(*[]float32)
			if sp == nil || len(*sp) < 3*edge*win {
				s := make([]float32, 3*edge*win)
				sp = &s
			}
			defer k.scratch.Put(sp)
			for ky := range scratch {
				scratch[ky] = (*sp)[ky*edge*win : (ky+1)*edge*win]
			}
		}
		var segs [3][]float32
		for r := lo; r < hi; r++ {
			img, oy := r/k.oh, r%k.oh
			im := in[img*imgLen : (img+1)*imgLen]
			o := out[r*k.ow*k.cout : (r+1)*k.ow*k.cout]
			if x1 > x0 {
				for ky := range segs {
					if iy := oy*k.sh + ky - k.padT; iy >= 0 && iy < k.h {
						segs[ky] = im[(iy*k.w+x0*k.sw-k.padL)*c : (iy+1)*k.w*c]
					} else {
						segs[ky] = zeroRow[:]
					}
				}
				kernels.StemColumnsAVX2(x1-x0, &segs, k.sw*c, k.pb, act, o[x0*k.cout:])
			}
			for _, span := range [2][2]int{{0, x0}, {x1, k.ow}} {
				n := span[1] - span[0]
				if n <= 0 {
					continue
				}
				for ky := range segs {
					seg := scratch[ky][:n*win]
					k.edgeWindowRow(seg, im, oy*k.sh+ky-k.padT, span[0], n)
					segs[ky] = seg
				}
				kernels.StemColumnsAVX2(n, &segs, win, k.pb, act, o[span[0]*k.cout:])
			}
		}
	})
}
