package graph

import (
	"fmt"
	"math"

	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// poolKernel is AVERAGE_POOL_2D and MAX_POOL_2D. The average divides by the
// number of window elements inside the image, as TFLite does.
type poolKernel struct {
	max        bool
	h, w, c    int
	oh, ow     int
	kh, kw     int
	sh, sw     int
	padT, padL int
	lo, hi     float32
	full       bool // divide by the whole window, padding included
}

func planPool(g *Graph, n *Node) (kernel, []int, error) {
	ts, err := inputs(g, n, 1, 1)
	if err != nil {
		return nil, nil, err
	}
	h, w, c, err := image4(ts[0])
	if err != nil {
		return nil, nil, err
	}
	lo, hi := bounds(n)
	fh, fw := n.FilterH, n.FilterW
	oh, ow, padT, padL, err := window2D(n, h, w, fh, fw)
	if err != nil {
		return nil, nil, err
	}
	k := &poolKernel{max: n.Op == OpMaxPool2D, h: h, w: w, c: c, oh: oh, ow: ow, kh: fh, kw: fw,
		sh: n.StrideH, sw: n.StrideW, padT: padT, padL: padL, lo: lo, hi: hi, full: n.CountIncludePad}
	return k, []int{1, oh, ow, c}, nil
}

// poolBackwards runs pooling from the last image's last output row to the
// first image's first (benchmarks switch it off to compare).
var poolBackwards = true

func (k *poolKernel) run(e *env, ins [][]float32, out []float32) {
	if !poolBackwards {
		eachImage(e, ins, out, k.runOne)
		return
	}
	// The layer before wrote its output front to back, so its last rows
	// are the ones still in L2 (ResNet-50's stem writes 3.2 MB an image,
	// L2 holds 2 MB): reading back to front finds them there before they
	// are pushed out by the rest.
	inPer, outPer := len(ins[0])/e.batch, len(out)/e.batch
	one := append([][]float32(nil), ins...)
	for i := e.batch - 1; i >= 0; i-- {
		one[0] = ins[0][i*inPer : (i+1)*inPer]
		k.runOne(one, out[i*outPer:(i+1)*outPer])
	}
}

func (k *poolKernel) runOne(ins [][]float32, out []float32) {
	in := ins[0]
	c := k.c
	// The output columns whose windows lie inside the image across.
	xlo, xhi := 0, k.ow
	for kx := 0; kx < k.kw; kx++ {
		lo, hi := k.inside(kx)
		xlo, xhi = max(xlo, lo), min(xhi, hi)
	}
	var taps []int
	for i := range k.oh {
		oy := k.oh - 1 - i // back to front (see run)
		if !poolBackwards {
			oy = i
		}
		row := out[oy*k.ow*c : (oy+1)*k.ow*c]
		iy0, iy1 := max(oy*k.sh-k.padT, 0), min(oy*k.sh-k.padT+k.kh, k.h)
		rowsIn := max(iy1-iy0, 0)
		if !k.max || rowsIn == 0 || xhi <= xlo {
			k.foldTaps(in, oy, row, 0, k.ow)
		} else {
			// Max pooling: the columns inside the image take each window's
			// taps (rows top to bottom, columns left to right, the order
			// foldTaps folds them in) in one pass; the border columns are
			// folded tap by tap.
			taps = taps[:0]
			for iy := iy0; iy < iy1; iy++ {
				for kx := 0; kx < k.kw; kx++ {
					taps = append(taps, ((iy-iy0)*k.w+kx)*c)
				}
			}
			base := (iy0*k.w + xlo*k.sw - k.padL) * c
			kernels.MaxWindow(row[xlo*c:xhi*c], in[base:], xhi-xlo, c, k.sw*c, taps)
			k.foldTaps(in, oy, row, 0, xlo)
			k.foldTaps(in, oy, row, xhi, k.ow)
		}
		if !k.max {
			for ox := 0; ox < k.ow; ox++ {
				n := float32(k.kh * k.kw)
				if !k.full {
					n = float32(rowsIn * k.colsInside(ox))
				}
				if n == 0 {
					continue
				}
				o := row[ox*c : (ox+1)*c]
				for i := range o {
					o[i] /= n
				}
			}
		}
		clampSlice(row, k.lo, k.hi)
	}
}

// foldTaps computes output columns [x0, x1) of output row oy into row
// (the bounds and an average's division aside): tap by tap, as the
// depthwise kernel does, each tap folding a strided run of input pixels
// into the row, which starts at -Inf for the maximum and 0 for the sum.
func (k *poolKernel) foldTaps(in []float32, oy int, row []float32, x0, x1 int) {
	if x1 <= x0 {
		return
	}
	c := k.c
	init := float32(0)
	if k.max {
		init = float32(math.Inf(-1))
	}
	part := row[x0*c : x1*c]
	for i := range part {
		part[i] = init
	}
	for ky := 0; ky < k.kh; ky++ {
		iy := oy*k.sh + ky - k.padT
		if iy < 0 || iy >= k.h {
			continue
		}
		inRow := in[iy*k.w*c : (iy+1)*k.w*c]
		for kx := 0; kx < k.kw; kx++ {
			lo, hi := k.inside(kx)
			lo, hi = max(lo, x0), min(hi, x1)
			if hi <= lo {
				continue
			}
			ix0 := lo*k.sw + kx - k.padL
			kernels.PoolTap(row[lo*c:], inRow[ix0*c:], hi-lo, c, k.sw*c, k.max)
		}
	}
}

// inside returns the output columns [lo, hi) whose input column for window
// column kx lies inside the image.
func (k *poolKernel) inside(kx int) (lo, hi int) {
	if d := k.padL - kx; d > 0 {
		lo = (d + k.sw - 1) / k.sw
	}
	lim := k.w - 1 + k.padL - kx
	if lim < 0 {
		return lo, lo
	}
	return lo, min(k.ow, lim/k.sw+1)
}

// colsInside counts the window columns of output column ox inside the image.
func (k *poolKernel) colsInside(ox int) int {
	n := 0
	for kx := 0; kx < k.kw; kx++ {
		if ix := ox*k.sw + kx - k.padL; ix >= 0 && ix < k.w {
			n++
		}
	}
	return n
}

// meanKernel is MEAN over a set of axes of a tensor of rank up to 4.
type meanKernel struct {
	dims    [4]int
	reduced [4]bool
	count   int
}

func planMean(g *Graph, n *Node) (kernel, []int, error) {
	ts, err := inputs(g, n, 1, 1)
	if err != nil {
		return nil, nil, err
	}
	keep := n.KeepDims
	in := ts[0]
	rank := len(in.Shape)
	if rank == 0 || rank > 4 {
		return nil, nil, fmt.Errorf("input %q has unsupported shape %v", in.Name, in.Shape)
	}
	if len(n.Axes) == 0 {
		return nil, nil, fmt.Errorf("no axes to reduce")
	}
	k := &meanKernel{count: 1}
	pad := 4 - rank
	for i := range k.dims {
		k.dims[i] = 1
	}
	copy(k.dims[pad:], in.Shape)
	for _, a := range n.Axes {
		if a < 0 {
			a += rank
		}
		if a < 0 || a >= rank {
			return nil, nil, fmt.Errorf("axis %d outside rank %d", a, rank)
		}
		if a == 0 {
			return nil, nil, fmt.Errorf("unsupported reduction over the batch axis")
		}
		if !k.reduced[a+pad] {
			k.reduced[a+pad] = true
			k.count *= in.Shape[a]
		}
	}
	var shape []int
	for i, d := range in.Shape {
		switch {
		case !k.reduced[i+pad]:
			shape = append(shape, d)
		case keep:
			shape = append(shape, 1)
		}
	}
	return k, shape, nil
}

func (k *meanKernel) run(e *env, ins [][]float32, out []float32) {
	eachImage(e, ins, out, k.runOne)
}

func (k *meanKernel) runOne(ins [][]float32, out []float32) {
	clear(out)
	if !k.reduced[3] && !k.reduced[0] {
		// Channels kept (spatial means, squeeze-and-excite): sum rows of the
		// innermost axis into the output row they reduce to.
		k.rows(ins[0], out)
		return
	}
	var od [4]int
	for i, d := range k.dims {
		od[i] = d
		if k.reduced[i] {
			od[i] = 1
		}
	}
	in := ins[0]
	idx := 0
	for a := 0; a < k.dims[0]; a++ {
		for b := 0; b < k.dims[1]; b++ {
			for c := 0; c < k.dims[2]; c++ {
				for d := 0; d < k.dims[3]; d++ {
					oi := [4]int{a, b, c, d}
					for i := range oi {
						if k.reduced[i] {
							oi[i] = 0
						}
					}
					o := ((oi[0]*od[1]+oi[1])*od[2]+oi[2])*od[3] + oi[3]
					out[o] += in[idx]
					idx++
				}
			}
		}
	}
	n := float32(k.count)
	for i := range out {
		out[i] /= n
	}
}

// rows is runOne for reductions that keep the last axis: every run of
// dims[3] input values adds to one output row.
func (k *meanKernel) rows(in, out []float32) {
	c := k.dims[3]
	var od [3]int
	for i := 0; i < 3; i++ {
		od[i] = k.dims[i]
		if k.reduced[i] {
			od[i] = 1
		}
	}
	src := 0
	for a := 0; a < k.dims[0]; a++ {
		if k.reduced[1] && k.reduced[2] && seRows {
			// Every pixel of the image adds to one row (squeeze-excite's
			// spatial mean): one call, the rows in the same order.
			oa := a
			if k.reduced[0] {
				oa = 0
			}
			n := k.dims[1] * k.dims[2]
			kernels.SumRows(out[oa*c:(oa+1)*c], in[src:src+n*c], n, c)
			src += n * c
			continue
		}
		for b := 0; b < k.dims[1]; b++ {
			for d := 0; d < k.dims[2]; d++ {
				oa, ob, odd := a, b, d
				if k.reduced[0] {
					oa = 0
				}
				if k.reduced[1] {
					ob = 0
				}
				if k.reduced[2] {
					odd = 0
				}
				o := out[((oa*od[1]+ob)*od[2]+odd)*c:][:c]
				kernels.Add(o, o, in[src:src+c])
				src += c
			}
		}
	}
	n := float32(k.count)
	for i := range out {
		out[i] /= n
	}
}
