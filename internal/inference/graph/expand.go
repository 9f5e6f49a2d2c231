package graph

import (
	"fmt"
	"sync"

	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// expansion is a 1x1 stride-1 convolution fused in front of a depthwise
// convolution (see fuseExpandDepthwise): the depthwise kernel computes the
// rows of its input a band at a time into a buffer that stays in cache,
// each row once: rows shared by two bands move to the front of the buffer
// for the second.
type expansion struct {
	h, w, cin, cout int
	lo, hi          float32
	hardSwish       bool
	pb              *kernels.PackedB
	scratch         sync.Pool // *[]float32 of one band's input rows
}

// planExpansion checks the fused convolution c against the fused node's
// first input and packs its weights.
func planExpansion(g *Graph, c *Node, in *Tensor) (*expansion, error) {
	if len(c.Inputs) < 2 || len(c.Inputs) > 3 || c.StrideH != 1 || c.StrideW != 1 {
		return nil, fmt.Errorf("want a 1x1 stride-1 convolution with a filter and an optional bias")
	}
	if in.DType != Float32 || in.Const {
		return nil, fmt.Errorf("input %q: want a FLOAT32 activation, got %s", in.Name, describe(in))
	}
	h, w, cin, err := image4(in)
	if err != nil {
		return nil, err
	}
	ft := g.Tensors[c.Inputs[1]]
	if err := constFloat(ft, "filter", -1, 1, 1, cin); err != nil {
		return nil, err
	}
	cout := ft.Shape[0]
	var bt *Tensor
	if len(c.Inputs) > 2 && c.Inputs[2] >= 0 {
		bt = g.Tensors[c.Inputs[2]]
	}
	b, err := biasData(bt, cout)
	if err != nil {
		return nil, err
	}
	if err := g.reservePacked(cout, cin); err != nil {
		return nil, err
	}
	lo, hi := bounds(c)
	return &expansion{h: h, w: w, cin: cin, cout: cout, lo: lo, hi: hi, hardSwish: c.HardSwish,
		pb: kernels.PackB(ft.Float, cout, cin, b)}, nil
}

// expandBandFloats is how large a band's buffer of expanded rows may grow
// (512 KiB): it must stay in the level-2 cache between being written by
// the 1x1 convolution and read by the depthwise one.
var expandBandFloats = 1 << 17

// runExpanded computes output rows [y0, y1) of one image from the fused
// convolution's input in, band by band.
func (k *depthwiseKernel) runExpanded(in, out []float32, y0, y1 int) {
	x, p := k.expand, k.p
	rowLen := x.w * x.cout
	band := max(1, (expandBandFloats/rowLen-p.KH)/p.SH+1)
	sp, _ := x.scratch.Get().(*[]float32)
	need := ((band-1)*p.SH + p.KH) * rowLen
	if sp == nil || len(*sp) < need {
		s := make([]float32, need)
		sp = &s
	}
	defer x.scratch.Put(sp)
	buf := *sp
	pad := k.padScratch()
	defer k.pad.Put(pad)
	act := kernels.Act{Lo: x.lo, Hi: x.hi, HardSwish: x.hardSwish}
	// Input rows [c0, c1) of the image are in buf from its start: a band
	// moves the rows it shares with the last one to the front rather than
	// computing them again.
	c0, c1 := 0, 0
	for b0 := y0; b0 < y1; b0 += band {
		b1 := min(b0+band, y1)
		// Input rows the band's windows reach, clipped to the image.
		r0 := max(b0*p.SH-p.PadT, 0)
		r1 := min((b1-1)*p.SH-p.PadT+p.KH, p.H)
		lp := p
		lp.H, lp.OH = 0, b1-b0
		if r1 > r0 {
			from := r0
			if r0 >= c0 && r0 < c1 && c1 <= r1 {
				copy(buf, buf[(r0-c0)*rowLen:(c1-c0)*rowLen])
				from = c1
			}
			if r1 > from {
				kernels.GemmAct((r1-from)*x.w, in[from*x.w*x.cin:], x.cin, x.pb, act, buf[(from-r0)*rowLen:], x.cout)
			}
			c0, c1 = r0, r1
			lp.H = r1 - r0
		}
		// In band coordinates: row r0 is row 0 and the padding above
		// shifts by what the band skips.
		lp.PadT = p.PadT + r0 - b0*p.SH
		o := out[b0*p.OW*k.cout : b1*p.OW*k.cout]
		switch {
		case !expandBlocked:
			kernels.Depthwise(&lp, buf[:lp.H*rowLen], k.w, k.bias, o, 0, b1-b0)
			if k.hs {
				kernels.HardSwish(o)
			}
		case k.hs:
			kernels.DepthwiseBlockedHardSwish(&lp, buf[:lp.H*rowLen], k.w, k.bias, o, 0, b1-b0, *pad)
		default:
			kernels.DepthwiseBlocked(&lp, buf[:lp.H*rowLen], k.w, k.bias, o, 0, b1-b0, *pad)
		}
	}
}

// expandBlocked has a fused expansion's bands run through
// DepthwiseBlocked (the four-pixel 3x3 kernel, borders on padded copies)
// rather than Depthwise (one pixel at a time, borders tap by tap); tests
// and benchmarks switch it off to compare.
var expandBlocked = true
