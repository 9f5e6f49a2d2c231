package onnx

import (
	"fmt"
	"math"
	"slices"

	"github.com/cspipe/cspipe/internal/inference/graph"
)

// window reads kernel_shape, strides, pads, auto_pad and dilations.
func window(n *protoNode, gn *graph.Node, h, w int, kernel []int64) error {
	if len(kernel) != 2 || kernel[0] <= 0 || kernel[1] <= 0 || kernel[0] > 1<<16 || kernel[1] > 1<<16 {
		return fmt.Errorf("unsupported kernel_shape %v (want 2 positive values)", kernel)
	}
	kh, kw := int(kernel[0]), int(kernel[1])
	gn.FilterH, gn.FilterW = kh, kw
	gn.StrideH, gn.StrideW = 1, 1
	if s := attrInts(n, "strides"); s != nil {
		if len(s) != 2 || s[0] <= 0 || s[1] <= 0 || s[0] > 1<<16 || s[1] > 1<<16 {
			return fmt.Errorf("unsupported strides %v", s)
		}
		gn.StrideH, gn.StrideW = int(s[0]), int(s[1])
	}
	if d := attrInts(n, "dilations"); d != nil && !slices.Equal(d, []int64{1, 1}) {
		return fmt.Errorf("unsupported dilations %v (only 1)", d)
	}
	switch ap := attrString(n, "auto_pad", "NOTSET"); ap {
	case "NOTSET":
		p := attrInts(n, "pads")
		if p == nil {
			p = []int64{0, 0, 0, 0}
		}
		if len(p) != 4 {
			return fmt.Errorf("unsupported pads %v", p)
		}
		gn.Padding = graph.PadExplicit
		for j, v := range p {
			if v < 0 || v > 1<<16 {
				return fmt.Errorf("unsupported pads %v", p)
			}
			// ONNX: top, left, bottom, right.
			gn.Pads[j] = int(v)
		}
	case "VALID":
		gn.Padding = graph.PadValid
	case "SAME_UPPER":
		gn.Padding = graph.PadSame
	case "SAME_LOWER":
		gn.Padding = graph.PadExplicit
		for j, a := range []struct{ in, k, s int }{{h, kh, gn.StrideH}, {w, kw, gn.StrideW}} {
			out := (a.in + a.s - 1) / a.s
			total := max((out-1)*a.s+a.k-a.in, 0)
			gn.Pads[j], gn.Pads[j+2] = total-total/2, total/2
		}
	default:
		return fmt.Errorf("unsupported auto_pad %q", ap)
	}
	return nil
}

func (r *reader) conv(i int, n *protoNode) error {
	x, err := r.image(n)
	if err != nil {
		return err
	}
	wv, err := r.in(n, 1)
	if err != nil {
		return err
	}
	if wv.konst == nil || !wv.konst.float || len(wv.shape) != 4 {
		return fmt.Errorf("weights must be a 4-D FLOAT constant, got shape %v", wv.shape)
	}
	cin, h, w := x.shape[1], x.shape[2], x.shape[3]
	cout, icg, kh, kw := wv.shape[0], wv.shape[1], wv.shape[2], wv.shape[3]
	if ks := attrInts(n, "kernel_shape"); ks != nil && !slices.Equal(ks, []int64{int64(kh), int64(kw)}) {
		return fmt.Errorf("kernel_shape %v does not match weights %v", ks, wv.shape)
	}
	group := int(attrInt(n, "group", 1))
	if group <= 0 || cin%group != 0 || cout%group != 0 || icg != cin/group {
		return fmt.Errorf("weights %v do not match %d input channels in %d groups", wv.shape, cin, group)
	}
	gn := graph.Node{Op: graph.OpConv2D}
	if err := window(n, &gn, h, w, []int64{int64(kh), int64(kw)}); err != nil {
		return err
	}
	gn.FilterH, gn.FilterW = 0, 0
	wt := wv.konst.floats
	bias := make([]float32, cout)
	if len(n.inputs) > 2 && n.inputs[2] != "" {
		bv, err := r.in(n, 2)
		if err != nil {
			return err
		}
		if bv.konst == nil || !bv.konst.float || len(bv.konst.floats) != cout {
			return fmt.Errorf("bias must be a FLOAT constant of %d values", cout)
		}
		copy(bias, bv.konst.floats)
	}
	f := r.fuse[i]
	if f.bn != nil {
		if wt, bias, err = r.foldBatchNorm(f.bn, wt, bias, cout); err != nil {
			return fmt.Errorf("folding %s: %w", f.bn.name, err)
		}
	}
	gn.Act, gn.HardSwish = f.act, f.hardSwish
	var filter *graph.Tensor
	switch {
	case group == 1:
		// OIHW -> OHWI.
		d := make([]float32, len(wt))
		for o := 0; o < cout; o++ {
			for c := 0; c < cin; c++ {
				for y := 0; y < kh; y++ {
					for xx := 0; xx < kw; xx++ {
						d[((o*kh+y)*kw+xx)*cin+c] = wt[((o*cin+c)*kh+y)*kw+xx]
					}
				}
			}
		}
		filter = &graph.Tensor{Shape: []int{cout, kh, kw, cin}, DType: graph.Float32, Float: d}
	case group == cin && icg == 1:
		// Depthwise: [C*mult, 1, KH, KW] -> [1, KH, KW, C*mult].
		gn.Op = graph.OpDepthwiseConv2D
		gn.Multiplier = cout / cin
		d := make([]float32, len(wt))
		for o := 0; o < cout; o++ {
			for y := 0; y < kh; y++ {
				for xx := 0; xx < kw; xx++ {
					d[(y*kw+xx)*cout+o] = wt[(o*kh+y)*kw+xx]
				}
			}
		}
		filter = &graph.Tensor{Shape: []int{1, kh, kw, cout}, DType: graph.Float32, Float: d}
	default:
		return fmt.Errorf("unsupported grouped convolution: %d groups of %d input channels (only 1 group or depthwise)", group, icg)
	}
	ft, err := r.b.Const(filter)
	if err != nil {
		return err
	}
	bt, err := r.b.Const(&graph.Tensor{Shape: []int{cout}, DType: graph.Float32, Float: bias})
	if err != nil {
		return err
	}
	gn.Inputs = []int{x.tensor, ft, bt}
	return r.add(i, n, gn, true)
}

// foldBatchNorm scales a convolution's filters and bias by a following
// BatchNormalization (inference form).
func (r *reader) foldBatchNorm(bn *protoNode, wt, bias []float32, cout int) ([]float32, []float32, error) {
	var p [4][]float32
	for j := range p {
		v, err := r.in(bn, j+1)
		if err != nil {
			return nil, nil, err
		}
		if v.konst == nil || !v.konst.float || len(v.konst.floats) != cout {
			return nil, nil, fmt.Errorf("parameter %d must be a FLOAT constant of %d values", j+1, cout)
		}
		p[j] = v.konst.floats
	}
	if len(bn.outputs) > 1 {
		return nil, nil, fmt.Errorf("training-mode outputs are not supported")
	}
	eps := float64(attrFloat(bn, "epsilon", 1e-5))
	scale, shift, mean, variance := p[0], p[1], p[2], p[3]
	w := slices.Clone(wt)
	b := slices.Clone(bias)
	per := len(w) / cout
	for o := 0; o < cout; o++ {
		s := float64(scale[o]) / math.Sqrt(float64(variance[o])+eps)
		for j := o * per; j < (o+1)*per; j++ {
			w[j] = float32(float64(w[j]) * s)
		}
		b[o] = float32((float64(b[o])-float64(mean[o]))*s + float64(shift[o]))
	}
	return w, b, nil
}

// batchNorm is a BatchNormalization that did not fold into a convolution:
// a per-channel MUL and ADD.
func (r *reader) batchNorm(i int, n *protoNode) error {
	x, err := r.activation(n, 0)
	if err != nil {
		return err
	}
	if !x.nchw && len(x.shape) != 2 {
		return fmt.Errorf("input shape %v, want NCHW or [N C]", x.shape)
	}
	c := x.shape[1]
	one := make([]float32, c)
	for j := range one {
		one[j] = 1
	}
	scale, shift, err := r.foldBatchNorm(n, one, make([]float32, c), c)
	if err != nil {
		return err
	}
	shape := []int{c}
	if x.nchw {
		shape = []int{1, 1, 1, c}
	}
	st, err := r.b.Const(&graph.Tensor{Shape: shape, DType: graph.Float32, Float: scale})
	if err != nil {
		return err
	}
	bt, err := r.b.Const(&graph.Tensor{Shape: shape, DType: graph.Float32, Float: shift})
	if err != nil {
		return err
	}
	y, err := r.b.Add(graph.Node{Op: graph.OpMul, Name: fmt.Sprintf("node %d %q (BatchNormalization scale)", i, n.name), Inputs: []int{x.tensor, st}}, n.outputs[0]+"/scale")
	if err != nil {
		return err
	}
	return r.add(i, n, graph.Node{Op: graph.OpAdd, Inputs: []int{y, bt}}, x.nchw)
}

func (r *reader) gemm(i int, n *protoNode) error {
	a, err := r.activation(n, 0)
	if err != nil {
		return err
	}
	if len(a.shape) != 2 && !(a.nchw && a.shape[2] == 1 && a.shape[3] == 1) {
		return fmt.Errorf("input shape %v, want [N K]", a.shape)
	}
	k := a.shape[1]
	bv, err := r.in(n, 1)
	if err != nil {
		return err
	}
	if bv.konst == nil || !bv.konst.float || len(bv.shape) != 2 {
		return fmt.Errorf("weights must be a 2-D FLOAT constant")
	}
	alpha, beta := float32(1), float32(1)
	transB := false
	if n.opType == "Gemm" {
		if attrInt(n, "transA", 0) != 0 {
			return fmt.Errorf("unsupported transA")
		}
		transB = attrInt(n, "transB", 0) != 0
		alpha, beta = attrFloat(n, "alpha", 1), attrFloat(n, "beta", 1)
	}
	var nOut int
	w := make([]float32, len(bv.konst.floats))
	if transB { // B is [N K]
		if bv.shape[1] != k {
			return fmt.Errorf("weights %v do not match %d inputs", bv.shape, k)
		}
		nOut = bv.shape[0]
		for j, v := range bv.konst.floats {
			w[j] = alpha * v
		}
	} else { // B is [K N]
		if bv.shape[0] != k {
			return fmt.Errorf("weights %v do not match %d inputs", bv.shape, k)
		}
		nOut = bv.shape[1]
		for kk := 0; kk < k; kk++ {
			for o := 0; o < nOut; o++ {
				w[o*k+kk] = alpha * bv.konst.floats[kk*nOut+o]
			}
		}
	}
	bias := make([]float32, nOut)
	if n.opType == "Gemm" && len(n.inputs) > 2 && n.inputs[2] != "" {
		cv, err := r.in(n, 2)
		if err != nil {
			return err
		}
		if cv.konst == nil || !cv.konst.float {
			return fmt.Errorf("bias must be a FLOAT constant")
		}
		switch len(cv.konst.floats) {
		case nOut:
			for j, v := range cv.konst.floats {
				bias[j] = beta * v
			}
		case 1:
			for j := range bias {
				bias[j] = beta * cv.konst.floats[0]
			}
		default:
			return fmt.Errorf("bias of shape %v does not broadcast to [1 %d]", cv.shape, nOut)
		}
	}
	wt, err := r.b.Const(&graph.Tensor{Shape: []int{nOut, k}, DType: graph.Float32, Float: w})
	if err != nil {
		return err
	}
	bt, err := r.b.Const(&graph.Tensor{Shape: []int{nOut}, DType: graph.Float32, Float: bias})
	if err != nil {
		return err
	}
	return r.add(i, n, graph.Node{Op: graph.OpFullyConnected, Inputs: []int{a.tensor, wt, bt}, Act: r.fuse[i].act}, false)
}
