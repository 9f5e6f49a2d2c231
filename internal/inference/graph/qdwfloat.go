package graph

import (
	"sync"

	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// qdwFloatKernel runs an INT8 depthwise convolution (depth multiplier 1)
// on the float depthwise kernel: the input minus its zero point, the
// weights and the bias are small integers, and every partial sum stays
// below 2^24 in magnitude (checked at plan time), so float32 computes the
// integer accumulator exactly, in any order, with the vector kernel. The
// accumulators are then rescaled once, as ONNX Runtime does.
type qdwFloatKernel struct {
	*qconvKernel
	p       kernels.DWParams
	wf, bf  []float32
	scratch sync.Pool // *qdwScratch
}

type qdwScratch struct{ in, out []float32 }

// newQDWFloat returns the float-accumulating kernel for k, or nil when k
// has a depth multiplier or sums that float32 would not hold exactly.
func newQDWFloat(k *qconvKernel) *qdwFloatKernel {
	if !k.depthwise || k.mult != 1 {
		return nil
	}
	const exact = 1 << 24
	for c := 0; c < k.cout; c++ {
		// |x - zp| <= 255 for int8 data and a zero point in [-128, 127].
		s := int64(k.bias[c])
		if s < 0 {
			s = -s
		}
		for t := 0; t < k.kh*k.kw; t++ {
			w := int64(k.wt[t*k.cout+c])
			if w < 0 {
				w = -w
			}
			s += 255 * w
		}
		if s >= exact {
			return nil
		}
	}
	f := &qdwFloatKernel{qconvKernel: k,
		p: kernels.DWParams{H: k.h, W: k.w, C: k.cin, KH: k.kh, KW: k.kw, SH: k.sh, SW: k.sw,
			PadT: k.padT, PadL: k.padL, OH: k.oh, OW: k.ow, Lo: kernels.NoClampLo, Hi: kernels.NoClampHi},
		wf: make([]float32, len(k.wt)), bf: make([]float32, len(k.bias))}
	for i, v := range k.wt {
		f.wf[i] = float32(v)
	}
	for i, v := range k.bias {
		f.bf[i] = float32(v)
	}
	return f
}

func (k *qdwFloatKernel) run(e *env, ins [][]float32, out []float32) {
	inN, outN := k.h*k.w*k.cin, k.oh*k.ow*k.cout
	sc, _ := k.scratch.Get().(*qdwScratch)
	if sc == nil {
		sc = &qdwScratch{in: make([]float32, inN), out: make([]float32, outN)}
	}
	defer k.scratch.Put(sc)
	src, dst := int8s(ins[0]), int8s(out)
	zp := k.inZP
	for img := 0; img < e.batch; img++ {
		in, o := src[img*inN:(img+1)*inN], dst[img*outN:(img+1)*outN]
		xf := sc.in[:inN]
		for i, v := range in {
			xf[i] = float32(int32(v) - zp)
		}
		parallelFor(e.threads, k.oh, 1, func(lo, hi int) {
			kernels.Depthwise(&k.p, xf, k.wf, k.bf, sc.out, lo, hi)
			rq := k.rq[:k.cout]
			for p := lo * k.ow; p < hi*k.ow; p++ {
				acc := sc.out[p*k.cout:][:k.cout]
				d := o[p*k.cout:][:k.cout]
				for c := range d {
					r := &rq[c]
					v := int32((int64(int32(acc[c]))*r.m+r.rnd)>>r.tot) + k.outZP
					d[c] = int8(min(max(v, k.lo), k.hi))
				}
			}
		})
	}
}
