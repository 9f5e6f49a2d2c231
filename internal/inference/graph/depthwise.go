package graph

import (
	"fmt"

	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// depthwiseKernel is DEPTHWISE_CONV_2D. Multiplier 1 uses the vector kernel;
// other multipliers use a direct loop.
type depthwiseKernel struct {
	p      kernels.DWParams
	mult   int
	cout   int
	w      []float32 // [KH][KW][Cin*mult]
	bias   []float32
	expand *expansion // a fused 1x1 convolution computing the input band by band
}

func planDepthwise(g *Graph, n *Node) (kernel, []int, error) {
	ts, err := inputs(g, n, 2, 3)
	if err != nil {
		return nil, nil, err
	}
	var ex *expansion
	if n.Expand != nil {
		if ex, err = planExpansion(g, n.Expand, ts[0]); err != nil {
			return nil, nil, fmt.Errorf("fused 1x1 convolution: %w", err)
		}
	}
	var h, w, cin int
	if ex != nil {
		h, w, cin = ex.h, ex.w, ex.cout
	} else if h, w, cin, err = image4(ts[0]); err != nil {
		return nil, nil, err
	}
	if err := constFloat(ts[1], "filter", 1, -1, -1, -1); err != nil {
		return nil, nil, err
	}
	kh, kw, cout := ts[1].Shape[1], ts[1].Shape[2], ts[1].Shape[3]
	if cout%cin != 0 {
		return nil, nil, fmt.Errorf("filter has %d channels, not a multiple of the input's %d", cout, cin)
	}
	mult := n.Multiplier
	if mult == 0 { // some converters leave it out; the filter decides
		mult = cout / cin
	}
	if mult*cin != cout {
		return nil, nil, fmt.Errorf("depth multiplier %d does not match %d input and %d filter channels", mult, cin, cout)
	}
	var bt *Tensor
	if len(ts) > 2 {
		bt = ts[2]
	}
	b, err := biasData(bt, cout)
	if err != nil {
		return nil, nil, err
	}
	lo, hi := bounds(n)
	oh, ow, padT, padL, err := window2D(n, h, w, kh, kw)
	if err != nil {
		return nil, nil, err
	}
	k := &depthwiseKernel{
		p: kernels.DWParams{H: h, W: w, C: cin, KH: kh, KW: kw, SH: n.StrideH, SW: n.StrideW,
			PadT: padT, PadL: padL, OH: oh, OW: ow, Lo: lo, Hi: hi},
		mult: mult, cout: cout, w: ts[1].Float, bias: b, expand: ex,
	}
	if ex != nil && mult != 1 {
		return nil, nil, fmt.Errorf("fused 1x1 convolution before a depth multiplier of %d", mult)
	}
	return k, []int{1, oh, ow, cout}, nil
}

func (k *depthwiseKernel) run(e *env, ins [][]float32, out []float32) {
	if k.expand != nil {
		eachImage(e, ins, out, func(ins [][]float32, out []float32) {
			parallelFor(e.threads, k.p.OH, 1, func(lo, hi int) {
				k.runExpanded(ins[0], out, lo, hi)
			})
		})
		return
	}
	eachImage(e, ins, out, func(ins [][]float32, out []float32) {
		parallelFor(e.threads, k.p.OH, 1, func(lo, hi int) {
			if k.mult == 1 {
				kernels.Depthwise(&k.p, ins[0], k.w, k.bias, out, lo, hi)
				return
			}
			k.general(ins[0], out, lo, hi)
		})
	})
}

// general handles any depth multiplier: output channel ic*mult+m reads input
// channel ic.
func (k *depthwiseKernel) general(in, out []float32, y0, y1 int) {
	p := &k.p
	for oy := y0; oy < y1; oy++ {
		for ox := 0; ox < p.OW; ox++ {
			o := out[(oy*p.OW+ox)*k.cout : (oy*p.OW+ox+1)*k.cout]
			copy(o, k.bias)
			for ky := 0; ky < p.KH; ky++ {
				iy := oy*p.SH + ky - p.PadT
				if iy < 0 || iy >= p.H {
					continue
				}
				for kx := 0; kx < p.KW; kx++ {
					ix := ox*p.SW + kx - p.PadL
					if ix < 0 || ix >= p.W {
						continue
					}
					src := in[(iy*p.W+ix)*p.C : (iy*p.W+ix+1)*p.C]
					wt := k.w[(ky*p.KW+kx)*k.cout : (ky*p.KW+kx+1)*k.cout]
					for oc := range o {
						o[oc] += src[oc/k.mult] * wt[oc]
					}
				}
			}
			clampSlice(o, p.Lo, p.Hi)
		}
	}
}

// cost is the multiply-adds per output value, those of a fused 1x1
// convolution included (shared out over the output values, so the total is
// off by less than one per output value).
func (k *depthwiseKernel) cost() int {
	c := k.p.KH * k.p.KW
	if x := k.expand; x != nil {
		c += (x.h*x.w*x.cin + k.p.OH*k.p.OW/2) / (k.p.OH * k.p.OW) // to the nearest
	}
	return c
}
