package graph

import "math"

// INT8 operators with ONNX Runtime's rounding, for quantized ONNX models
// (Node.ORTRounding). ORT requantizes every operator once (a float scale,
// ties to even) where TFLite's interpreter rounds the depthwise
// convolution's rescale twice and the average pool's mean half away from
// zero; those two differ by one quantum on about 0.5 % and 2 % of their
// outputs, and the differences grow through a network. The other INT8
// operators already agree with ORT on their outputs.

// planORTQuant plans the operators whose rounding differs, reporting
// false for the others (planQuant's kernels serve both).
func planORTQuant(g *Graph, n *Node) (kernel, []int, bool, error) {
	switch n.Op {
	case OpDepthwiseConv2D:
		k, shape, err := planQuant(g, n)
		if err != nil {
			return nil, nil, true, err
		}
		qk := k.(*qconvKernel)
		if qk.dw != nil {
			// planQuant built the vector depthwise with single rounding.
			return qk, shape, true, nil
		}
		return &qdwSingleKernel{qk}, shape, true, nil
	case OpAveragePool2D:
		k, shape, err := planQuant(g, n)
		if err != nil {
			return nil, nil, true, err
		}
		qk := k.(*qpoolKernel)
		in, err := perTensor(g.Tensors[n.Inputs[0]])
		if err != nil {
			return nil, nil, true, err
		}
		return &qavgEvenKernel{qpoolKernel: qk, zp: in.zp}, shape, true, nil
	case OpMean:
		if !n.QLinearMean {
			return nil, nil, false, nil
		}
		k, shape, err := planQuant(g, n)
		if err != nil {
			return nil, nil, true, err
		}
		return &qlinearMeanKernel{qmeanKernel: k.(*qmeanKernel)}, shape, true, nil
	}
	return nil, nil, false, nil
}

// qlinearMeanKernel is MEAN as onnxruntime's QLinearGlobalAveragePool
// computes it: the integer sum less count times the input zero point,
// times the float32 scale in/count/out, rounded to nearest even.
type qlinearMeanKernel struct{ *qmeanKernel }

func (k qlinearMeanKernel) run(e *env, ins [][]float32, out []float32) {
	d := k.dims
	inN := d[0] * d[1] * d[2] * d[3]
	outN := inN / k.count
	src, dst := int8s(ins[0]), int8s(out)
	sums := make([]int32, outN)
	scale := float32(k.in.scale) / float32(k.count) / float32(k.out.scale)
	for img := 0; img < e.batch; img++ {
		in := src[img*inN : (img+1)*inN]
		clear(sums)
		i := 0
		for a := 0; a < d[0]; a++ {
			for b := 0; b < d[1]; b++ {
				for c := 0; c < d[2]; c++ {
					for x := 0; x < d[3]; x++ {
						sums[k.outIndex(a, b, c, x)] += int32(in[i])
						i++
					}
				}
			}
		}
		o := dst[img*outN : (img+1)*outN]
		for j, s := range sums {
			v := float32(s-int32(k.count)*k.in.zp) * scale
			q := int32(math.RoundToEven(float64(v))) + k.out.zp
			o[j] = int8(clamp32(q, -128, 127))
		}
	}
}

// qdwSingleKernel is a depthwise convolution whose accumulators are
// rescaled with one rounding, like the other convolutions.
type qdwSingleKernel struct{ *qconvKernel }

func (k qdwSingleKernel) run(e *env, ins [][]float32, out []float32) {
	inN, outN := k.h*k.w*k.cin, k.oh*k.ow*k.cout
	src, dst := int8s(ins[0]), int8s(out)
	for img := 0; img < e.batch; img++ {
		in, o := src[img*inN:(img+1)*inN], dst[img*outN:(img+1)*outN]
		parallelFor(e.threads, k.oh, 1, func(lo, hi int) { k.rows(in, o, lo, hi) })
	}
}

func (k qdwSingleKernel) rows(in, o []int8, lo, hi int) {
	acc := make([]int32, k.cout)
	// The input rows this band reads, minus the zero point, as int32.
	y0 := max(lo*k.sh-k.padT, 0)
	y1 := min((hi-1)*k.sh-k.padT+k.kh, k.h)
	if y1 <= y0 {
		y0, y1 = 0, 0
	}
	rowLen := k.w * k.cin
	xs := make([]int32, (y1-y0)*rowLen)
	for i, v := range in[y0*rowLen : y1*rowLen] {
		xs[i] = int32(v) - k.inZP
	}
	for oy := lo; oy < hi; oy++ {
		for ox := 0; ox < k.ow; ox++ {
			copy(acc, k.bias)
			for ky := 0; ky < k.kh; ky++ {
				iy := oy*k.sh + ky - k.padT
				if iy < 0 || iy >= k.h {
					continue
				}
				for kx := 0; kx < k.kw; kx++ {
					ix := ox*k.sw + kx - k.padL
					if ix < 0 || ix >= k.w {
						continue
					}
					row := xs[(iy-y0)*rowLen+ix*k.cin:][:k.cin]
					wr := k.wt[(ky*k.kw+kx)*k.cout:][:k.cout]
					if k.mult == 1 {
						a := acc[:len(row)]
						wr = wr[:len(row)]
						for c, x := range row {
							a[c] += x * wr[c]
						}
						continue
					}
					for c, x := range row {
						for m := 0; m < k.mult; m++ {
							acc[c*k.mult+m] += x * wr[c*k.mult+m]
						}
					}
				}
			}
			dst := o[(oy*k.ow+ox)*k.cout:][:k.cout]
			rq := k.rq[:len(dst)]
			a := acc[:len(dst)]
			for c := range dst {
				r := &rq[c]
				v := int32((int64(a[c])*r.m+r.rnd)>>r.tot) + k.outZP
				dst[c] = int8(min(max(v, k.lo), k.hi))
			}
		}
	}
}

// qavgEvenKernel is an average pool whose mean, taken from the zero point,
// rounds ties to even.
type qavgEvenKernel struct {
	*qpoolKernel
	zp int32
}

func (k *qavgEvenKernel) run(e *env, ins [][]float32, out []float32) {
	p := &k.p
	inN, outN := p.h*p.w*p.c, p.oh*p.ow*p.c
	src, dst := int8s(ins[0]), int8s(out)
	acc := make([]int32, p.c)
	for img := 0; img < e.batch; img++ {
		in, o := src[img*inN:(img+1)*inN], dst[img*outN:(img+1)*outN]
		for oy := 0; oy < p.oh; oy++ {
			for ox := 0; ox < p.ow; ox++ {
				clear(acc)
				cnt := int32(0)
				for ky := 0; ky < p.kh; ky++ {
					iy := oy*p.sh + ky - p.padT
					if iy < 0 || iy >= p.h {
						continue
					}
					for kx := 0; kx < p.kw; kx++ {
						ix := ox*p.sw + kx - p.padL
						if ix < 0 || ix >= p.w {
							continue
						}
						cnt++
						for c, v := range in[(iy*p.w+ix)*p.c:][:p.c] {
							acc[c] += int32(v)
						}
					}
				}
				d := o[(oy*p.ow+ox)*p.c:][:p.c]
				for c := range d {
					v := k.zp
					if cnt > 0 {
						v += divRoundEven(acc[c]-cnt*k.zp, cnt)
					}
					d[c] = int8(clamp32(v, k.lo, k.hi))
				}
			}
		}
	}
}

// divRoundEven is a/b (b > 0) rounded to the nearest integer, ties to even.
func divRoundEven(a, b int32) int32 {
	q, r := a/b, a%b
	if r < 0 {
		q, r = q-1, r+b
	}
	// a/b = q + r/b with 0 <= r < b.
	switch {
	case 2*r > b, 2*r == b && q%2 != 0:
		q++
	}
	return q
}
