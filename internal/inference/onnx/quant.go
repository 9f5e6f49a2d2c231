package onnx

import (
	"fmt"
	"math"
	"slices"

	"github.com/cspipe/cspipe/internal/inference/graph"
)

// Quantized ONNX models, in both of the forms onnxruntime's quantization
// tools write:
//
//   - QDQ: float operators between DequantizeLinear and QuantizeLinear
//     nodes. A group DQ -> op -> Q whose operator the engine runs on INT8
//     (Conv, Gemm/MatMul, Add, Mul, AveragePool/MaxPool, GlobalAveragePool,
//     ReduceMean, Concat, Flatten/Reshape/Squeeze/Unsqueeze, Pad, Softmax,
//     with a Relu or Clip between op and Q folded in) becomes that INT8
//     operator, with the weights, zero points and scales of the DQ nodes
//     and the output parameters of the Q node. A group the INT8 operators
//     cannot express exactly (other operators, broadcasting Add/Mul,
//     pooling or Pad whose input and output parameters differ, per-channel
//     weight zero points other than 0, Gemm with alpha or beta other than
//     1, ...) falls back to float: the DQ becomes a DEQUANTIZE, the operator
//     runs in float and the Q becomes a QUANTIZE, which is what the QDQ
//     graph means.
//   - QOperator: QLinearConv, QLinearMatMul and the com.microsoft
//     QLinearAdd, QLinearMul, QLinearGlobalAveragePool and QLinearConcat,
//     with MaxPool, Flatten/Reshape/Squeeze/Unsqueeze and layout Transposes
//     on their INT8 outputs. Other QLinear operators are refused by name.
//
// UINT8 data is mapped onto INT8 (values and zero points minus 128), as the
// TFLite reader does, so one set of INT8 kernels runs both. The kernels use
// TFLite's fixed-point requantization; ONNX Runtime multiplies by a float
// scale and rounds half to even, so outputs may differ by one quantum where
// a value falls near a rounding boundary.

// qparams is one per-tensor scale and zero point (on the INT8 scale), and
// whether the file's values are UINT8.
type qparams struct {
	scale    float32
	zp       int32
	unsigned bool
}

// same reports whether p and o describe the same real values.
func (p *qparams) same(o *qparams) bool { return p.scale == o.scale && p.zp == o.zp }

func (p *qparams) String() string { return fmt.Sprintf("INT8 scale %g zero point %d", p.scale, p.zp) }

func (p *qparams) quant() graph.Quant {
	return graph.Quant{Scale: []float32{p.scale}, ZeroPoint: []int32{p.zp}}
}

// qconst is the quantized form of a constant that a DequantizeLinear (or a
// QLinear operator) reads: integer values (INT8 data on the INT8 scale, or
// INT32), scales and zero points per tensor or per slice along axis.
type qconst struct {
	data  []int64
	int32 bool
	scale []float32
	zp    []int32
	axis  int
}

// perChannelZero reports whether per-channel parameters all have zero point 0.
func (c *qconst) perChannelZero() bool {
	if len(c.zp) == 1 {
		return true
	}
	for _, z := range c.zp {
		if z != 0 {
			return false
		}
	}
	return true
}

// scalarConst returns input i of n as a constant of one value (or absent
// when optional and missing).
func (r *reader) scalarConst(n *protoNode, i int, what string) (*constant, error) {
	v, err := r.in(n, i)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if v.konst == nil || len(v.shape) > 1 || (len(v.konst.floats) != 1 && len(v.konst.ints) != 1) {
		return nil, fmt.Errorf("%s %q must be a constant of one value (per-tensor)", what, n.inputs[i])
	}
	return v.konst, nil
}

// scaleZP reads a scale input and an optional zero-point input as
// per-tensor parameters, mapping a UINT8 zero point onto INT8.
func (r *reader) scaleZP(n *protoNode, si, zi int) (*qparams, error) {
	sc, err := r.scalarConst(n, si, "scale")
	if err != nil {
		return nil, err
	}
	if sc.dt != dtFloat || !(sc.floats[0] > 0) || math.IsInf(float64(sc.floats[0]), 0) {
		return nil, fmt.Errorf("scale %q must be a positive finite FLOAT", n.inputs[si])
	}
	p := &qparams{scale: sc.floats[0], zp: -128, unsigned: true} // absent zero point: UINT8 0
	if zi < len(n.inputs) && n.inputs[zi] != "" {
		zc, err := r.scalarConst(n, zi, "zero point")
		if err != nil {
			return nil, err
		}
		if zc.dt != dtInt8 && zc.dt != dtUint8 {
			return nil, fmt.Errorf("zero point %q: element type %s, want INT8 or UINT8", n.inputs[zi], dtName(zc.dt))
		}
		p.unsigned = zc.dt == dtUint8
		if p.zp, err = zeroPointOnInt8(zc.dt, zc.ints[0]); err != nil {
			return nil, fmt.Errorf("zero point %q: %w", n.inputs[zi], err)
		}
	}
	return p, nil
}

// zeroPointOnInt8 maps an INT8 or UINT8 zero point onto the INT8 scale.
func zeroPointOnInt8(dt, z int64) (int32, error) {
	switch dt {
	case dtInt8:
		return int32(z), nil
	case dtUint8:
		return int32(z) - 128, nil
	}
	return 0, fmt.Errorf("element type %s; INT8 and UINT8 activations are supported", dtName(dt))
}

// quantConst reads quantized constant data x with scale and zero-point
// constants (per tensor, or 1-D along axis).
func quantConst(x *value, sc, zc *value, axis int64) (*qconst, error) {
	k := x.konst
	if k.dt != dtInt8 && k.dt != dtUint8 && k.dt != dtInt32 {
		return nil, fmt.Errorf("quantized data of type %s (want INT8, UINT8 or INT32)", dtName(k.dt))
	}
	if sc.konst == nil || sc.konst.dt != dtFloat || len(sc.konst.floats) == 0 || len(sc.shape) > 1 {
		return nil, fmt.Errorf("scale must be a FLOAT constant of rank 0 or 1")
	}
	c := &qconst{int32: k.dt == dtInt32, scale: sc.konst.floats}
	nc := len(c.scale)
	if axis < 0 {
		axis += int64(len(x.shape))
	}
	if nc > 1 || len(sc.shape) == 1 && sc.shape[0] > 1 {
		if axis < 0 || axis >= int64(len(x.shape)) || x.shape[axis] != nc {
			return nil, fmt.Errorf("%d scales for axis %d of shape %v", nc, axis, x.shape)
		}
		c.axis = int(axis)
	}
	for _, s := range c.scale {
		if !(s > 0) || math.IsInf(float64(s), 0) {
			return nil, fmt.Errorf("invalid scale %g", s)
		}
	}
	c.zp = make([]int32, nc)
	shift := int64(0)
	if k.dt == dtUint8 {
		shift = 128
	}
	if zc != nil {
		if zc.konst == nil || len(zc.konst.ints) != nc || zc.konst.dt != k.dt {
			return nil, fmt.Errorf("zero point must be a %s constant of %d values", dtName(k.dt), nc)
		}
		for j, z := range zc.konst.ints {
			c.zp[j] = int32(z - shift)
		}
	} else {
		for j := range c.zp {
			c.zp[j] = int32(-shift)
		}
	}
	c.data = make([]int64, len(k.ints))
	for j, v := range k.ints {
		c.data[j] = v - shift
	}
	return c, nil
}

// real returns the dequantized values of c laid out as shape.
func (c *qconst) real(shape []int) []float32 {
	inner := graph.NumElements(shape[min(c.axis+1, len(shape)):])
	nc := len(c.scale)
	out := make([]float32, len(c.data))
	for j, v := range c.data {
		ch := 0
		if nc > 1 {
			ch = (j / inner) % nc
		}
		out[j] = c.scale[ch] * float32(v-int64(c.zp[ch]))
	}
	return out
}

// dequantizeLinear translates DequantizeLinear: of constant data, a
// constant holding both the real values and the quantized form; of an INT8
// activation, a value computed only if a float operator reads it.
func (r *reader) dequantizeLinear(i int, n *protoNode) error {
	x, err := r.rawIn(n, 0)
	if err != nil {
		return err
	}
	if x.konst != nil {
		sc, err := r.rawIn(n, 1)
		if err != nil {
			return err
		}
		var zc *value
		if len(n.inputs) > 2 && n.inputs[2] != "" {
			if zc, err = r.rawIn(n, 2); err != nil {
				return err
			}
		}
		c, err := quantConst(x, sc, zc, attrInt(n, "axis", 1))
		if err != nil {
			return err
		}
		return r.setConst(i, n, &value{konst: &constant{float: true, dt: dtFloat, floats: c.real(x.shape), q: c}, shape: slices.Clone(x.shape)})
	}
	if x.q == nil {
		return fmt.Errorf("input %q is not quantized (want INT8 or UINT8)", n.inputs[0])
	}
	p, err := r.scaleZP(n, 1, 2)
	if err != nil {
		return err
	}
	if (len(n.inputs) < 3 || n.inputs[2] == "") && !x.q.unsigned {
		p.zp, p.unsigned = 0, false // the zero of x's type, INT8
	}
	if !p.same(x.q) {
		return fmt.Errorf("parameters (%s) differ from those of %q (%s), which is not supported", p, n.inputs[0], x.q)
	}
	return r.set(i, n, &value{deq: x, tensor: -1, nchw: x.nchw, shape: slices.Clone(x.shape)})
}

// quantizeLinear translates a QuantizeLinear not folded into the operator
// before it.
func (r *reader) quantizeLinear(i int, n *protoNode) error {
	if a := n.attrs["output_dtype"]; a != nil && a.i != 0 && a.i != dtInt8 && a.i != dtUint8 {
		return fmt.Errorf("unsupported output_dtype %s", dtName(a.i))
	}
	p, err := r.scaleZP(n, 1, 2)
	if err != nil {
		return err
	}
	x, err := r.rawIn(n, 0)
	if err != nil {
		return err
	}
	switch {
	case x.konst != nil:
		// Float weights quantized in the graph (Q -> DQ on a constant).
		if !x.konst.float {
			return fmt.Errorf("input %q: want FLOAT data", n.inputs[0])
		}
		dt := int64(dtInt8)
		if len(n.inputs) < 3 || n.inputs[2] == "" {
			dt = dtUint8
		} else if zc, _ := r.scalarConst(n, 2, "zero point"); zc != nil {
			dt = zc.dt
		}
		ints := make([]int64, len(x.konst.floats))
		shift := int64(0)
		if dt == dtUint8 {
			shift = 128
		}
		for j, v := range x.konst.floats {
			q := math.RoundToEven(float64(v/p.scale)) + float64(p.zp)
			ints[j] = int64(max(min(q, 127), -128)) + shift
		}
		return r.setConst(i, n, &value{konst: &constant{dt: dt, ints: ints}, shape: slices.Clone(x.shape)})
	case x.q != nil:
		return fmt.Errorf("input %q is already quantized", n.inputs[0])
	case x.deq != nil && x.deq.q.same(p):
		return r.set(i, n, x.deq) // DQ -> Q with the same parameters
	case x.deq != nil:
		// Requantize INT8 to other parameters.
		gn := graph.Node{Op: graph.OpQuantize, Name: fmt.Sprintf("node %d %q (%s)", i, n.name, n.opType), Inputs: []int{x.deq.tensor}}
		return r.addQuantNode(i, n, gn, x.deq.nchw, p)
	}
	gn := graph.Node{Op: graph.OpQuantize, Name: fmt.Sprintf("node %d %q (%s)", i, n.name, n.opType), Inputs: []int{x.tensor}}
	return r.addQuantNode(i, n, gn, x.nchw, p)
}

// rawIn returns input i without computing a DequantizeLinear's float value.
func (r *reader) rawIn(n *protoNode, i int) (*value, error) {
	if i >= len(n.inputs) || n.inputs[i] == "" {
		return nil, fmt.Errorf("input %d is missing", i)
	}
	v, ok := r.values[n.inputs[i]]
	if !ok {
		return nil, fmt.Errorf("input %q is not defined before the node", n.inputs[i])
	}
	return v, nil
}

// setConst records a constant output.
func (r *reader) setConst(i int, n *protoNode, v *value) error {
	if len(n.outputs) != 1 {
		return fmt.Errorf("want one output")
	}
	return r.set(i, n, v)
}

// materialize adds the DEQUANTIZE that computes a DequantizeLinear's float
// output, for an operator that runs in float.
func (r *reader) materialize(name string, v *value) error {
	t, err := r.b.Add(graph.Node{Op: graph.OpDequantize, Name: fmt.Sprintf("DequantizeLinear %q", name), Inputs: []int{v.deq.tensor}}, name)
	if err != nil {
		return err
	}
	v.tensor, v.deqDone = t, true
	return nil
}

// addQuant plans gn with an INT8 output of parameters p as n's output.
func (r *reader) addQuant(i int, n *protoNode, gn graph.Node, nchw bool, p *qparams) error {
	name := n.outputs[0]
	if s, ok := r.rename[i]; ok {
		name = s
	}
	gn.ORTRounding = true
	t, err := r.b.AddQuant(gn, name, p.quant())
	if err != nil {
		return err
	}
	v := r.valueOf(t, nchw)
	v.q = p
	return r.set(i, n, v)
}

func (r *reader) addQuantNode(i int, n *protoNode, gn graph.Node, nchw bool, p *qparams) error {
	if gn.Name == "" {
		gn.Name = fmt.Sprintf("node %d %q (%s)", i, n.name, n.opType)
	}
	return r.addQuant(i, n, gn, nchw, p)
}

// qdqOps are the operators a DQ -> op -> Q group may run on INT8.
var qdqOps = map[string]bool{
	"Conv": true, "Gemm": true, "MatMul": true, "Add": true, "Mul": true, "AveragePool": true, "MaxPool": true,
	"GlobalAveragePool": true, "ReduceMean": true, "Concat": true, "Flatten": true, "Reshape": true,
	"Squeeze": true, "Unsqueeze": true, "Pad": true, "Softmax": true,
}

// tryQDQ translates node i as an INT8 operator when it is the middle of a
// DQ -> op -> Q group the INT8 operators express exactly. It reports
// whether it did; false leaves the node to the float translation.
func (r *reader) tryQDQ(i int, n *protoNode) (bool, error) {
	if !qdqOps[n.opType] || len(n.outputs) != 1 {
		return false, nil
	}
	out := n.outputs[0]
	if s, ok := r.rename[i]; ok {
		out = s
	}
	if r.uses[out] != 1 || r.outputs[out] || len(r.consumer[out]) != 1 {
		return false, nil
	}
	j := r.consumer[out][0]
	qn := r.pg.nodes[j]
	if qn.opType != "QuantizeLinear" || (qn.domain != "" && qn.domain != "ai.onnx") || len(qn.inputs) == 0 || qn.inputs[0] != out || len(qn.outputs) != 1 {
		return false, nil
	}
	if a := qn.attrs["output_dtype"]; a != nil && a.i != 0 && a.i != dtInt8 && a.i != dtUint8 {
		return false, nil
	}
	p, err := r.scaleZP(qn, 1, 2)
	if err != nil {
		return false, nil // the QuantizeLinear reports it when translated
	}
	if !r.int8Capable(i, n, p) {
		return false, nil
	}
	r.skip[j] = true
	r.rename[i] = qn.outputs[0]
	r.int8Mode, r.outQuant = true, p
	defer func() { r.int8Mode, r.outQuant = false, nil }()
	switch n.opType {
	case "Conv":
		return true, r.qdqConv(i, n, p)
	case "Gemm", "MatMul":
		return true, r.qdqGemm(i, n, p)
	}
	return true, r.node(i, n)
}

// deqIn returns input k of n when it is a DequantizeLinear of an INT8
// activation.
func (r *reader) deqIn(n *protoNode, k int) *value {
	if k >= len(n.inputs) || n.inputs[k] == "" {
		return nil
	}
	v := r.values[n.inputs[k]]
	if v == nil || v.deq == nil {
		return nil
	}
	return v.deq
}

// qWeights returns input k of n when it is quantized constant data.
func (r *reader) qWeights(n *protoNode, k int) *value {
	if k >= len(n.inputs) || n.inputs[k] == "" {
		return nil
	}
	v := r.values[n.inputs[k]]
	if v == nil || v.konst == nil || v.konst.q == nil || v.konst.q.int32 {
		return nil
	}
	return v
}

// int8Capable checks the conditions under which node i runs on INT8 with
// output parameters p and the same result as the float group.
func (r *reader) int8Capable(i int, n *protoNode, p *qparams) bool {
	x := r.deqIn(n, 0)
	if x == nil {
		return false
	}
	f := r.fuse[i]
	if f.bn != nil || f.hardSwish {
		return false
	}
	switch n.opType {
	case "Conv":
		w := r.qWeights(n, 1)
		if w == nil || len(w.shape) != 4 || !w.konst.q.perChannelZero() || (len(w.konst.q.scale) > 1 && w.konst.q.axis != 0) {
			return false
		}
		return r.biasOK(n, 2)
	case "Gemm", "MatMul":
		w := r.qWeights(n, 1)
		if w == nil || len(w.shape) != 2 || !w.konst.q.perChannelZero() {
			return false
		}
		if n.opType == "Gemm" && (attrInt(n, "transA", 0) != 0 || attrFloat(n, "alpha", 1) != 1 || attrFloat(n, "beta", 1) != 1) {
			return false
		}
		// Per-channel scales must run along the output axis.
		nAxis := 1
		if n.opType == "Gemm" && attrInt(n, "transB", 0) != 0 {
			nAxis = 0
		}
		if len(w.konst.q.scale) > 1 && w.konst.q.axis != nAxis {
			return false
		}
		return n.opType == "MatMul" || r.biasOK(n, 2)
	case "Add", "Mul":
		y := r.deqIn(n, 1)
		return y != nil && len(n.inputs) == 2 && slices.Equal(x.shape, y.shape) && x.nchw == y.nchw
	case "AveragePool", "MaxPool":
		if !x.q.same(p) {
			return false
		}
		if n.opType == "AveragePool" && attrInt(n, "count_include_pad", 0) != 0 {
			for _, v := range attrInts(n, "pads") {
				if v != 0 {
					return false
				}
			}
			if ap := attrString(n, "auto_pad", "NOTSET"); ap != "NOTSET" && ap != "VALID" {
				return false
			}
		}
		return true
	case "Concat":
		for k := range n.inputs {
			if r.deqIn(n, k) == nil {
				return false
			}
		}
		return true
	case "Pad":
		if !x.q.same(p) || attrFloat(n, "value", 0) != 0 {
			return false
		}
		if len(n.inputs) > 2 && n.inputs[2] != "" {
			v := r.values[n.inputs[2]]
			if v == nil || v.konst == nil || len(v.konst.floats) != 1 || v.konst.floats[0] != 0 {
				return false
			}
		}
		return true
	}
	return true // GlobalAveragePool, ReduceMean, Softmax and the reshapes take any parameters
}

// biasOK checks the optional bias input k: absent, a FLOAT constant or a
// dequantized INT32 constant.
func (r *reader) biasOK(n *protoNode, k int) bool {
	if k >= len(n.inputs) || n.inputs[k] == "" {
		return true
	}
	v := r.values[n.inputs[k]]
	return v != nil && v.konst != nil && v.konst.float && len(v.shape) <= 1
}

// int8Bias returns the bias at the accumulator's scale inScale*ws[c]: the
// INT32 data as it is when its scales are that product (as quantizers
// write it), else the real values rounded to it.
func int8Bias(v *value, inScale float32, ws []float32, count int) (*graph.Tensor, error) {
	b := make([]int, count)
	if v != nil {
		k := v.konst
		if len(k.floats) != count {
			return nil, fmt.Errorf("bias has %d values, want %d", len(k.floats), count)
		}
		for c := range b {
			acc := float64(inScale) * float64(ws[c])
			exact := false
			if q := k.q; q != nil && q.int32 && q.zp[min(c, len(q.zp)-1)] == 0 {
				s := float64(q.scale[min(c, len(q.scale)-1)])
				if math.Abs(s-acc) <= 1e-6*acc {
					b[c], exact = int(q.data[c]), true
				}
			}
			if !exact {
				f := math.Round(float64(k.floats[c]) / acc)
				if math.Abs(f) > math.MaxInt32 {
					return nil, fmt.Errorf("bias %g does not fit INT32 at scale %g", k.floats[c], acc)
				}
				b[c] = int(f)
			}
		}
	}
	return &graph.Tensor{Shape: []int{count}, DType: graph.Int32, Ints: b}, nil
}

// channelScales spreads per-tensor scales over n channels.
func channelScales(c *qconst, n int) []float32 {
	if len(c.scale) == n {
		return c.scale
	}
	s := make([]float32, n)
	for j := range s {
		s[j] = c.scale[0]
	}
	return s
}

// int8Filter builds the engine's INT8 filter tensor from ONNX OIHW data.
func int8Filter(c *qconst, data []int8, shape []int, axis int) *graph.Tensor {
	q := &graph.Quant{Scale: slices.Clone(c.scale), ZeroPoint: slices.Clone(c.zp)}
	if len(c.scale) > 1 {
		q.Axis = axis
	}
	return &graph.Tensor{Shape: shape, DType: graph.Int8, Int8: data, Quant: q}
}

func (r *reader) qdqConv(i int, n *protoNode, p *qparams) error {
	x := r.deqIn(n, 0)
	w := r.qWeights(n, 1)
	var bias *value
	if len(n.inputs) > 2 && n.inputs[2] != "" {
		bias = r.values[n.inputs[2]]
	}
	return r.int8Conv(i, n, x, w.konst.q, w.shape, bias, p)
}

// int8Conv adds an INT8 convolution of x (an INT8 NCHW activation) by
// quantized OIHW weights.
func (r *reader) int8Conv(i int, n *protoNode, x *value, wq *qconst, wshape []int, bias *value, p *qparams) error {
	if !x.nchw {
		return fmt.Errorf("input %q of shape %v is not an NCHW image", n.inputs[0], x.shape)
	}
	if wq.int32 || len(wshape) != 4 {
		return fmt.Errorf("weights must be 4-D INT8 or UINT8 data, got shape %v", wshape)
	}
	if len(wq.scale) > 1 && wq.axis != 0 {
		return fmt.Errorf("per-channel weight scales on axis %d, want 0 (output channels)", wq.axis)
	}
	if !wq.perChannelZero() {
		return fmt.Errorf("per-channel weight zero points other than 0 are not supported")
	}
	cin, h, w := x.shape[1], x.shape[2], x.shape[3]
	cout, icg, kh, kw := wshape[0], wshape[1], wshape[2], wshape[3]
	if ks := attrInts(n, "kernel_shape"); ks != nil && !slices.Equal(ks, []int64{int64(kh), int64(kw)}) {
		return fmt.Errorf("kernel_shape %v does not match weights %v", ks, wshape)
	}
	group := int(attrInt(n, "group", 1))
	if group <= 0 || cin%group != 0 || cout%group != 0 || icg != cin/group {
		return fmt.Errorf("weights %v do not match %d input channels in %d groups", wshape, cin, group)
	}
	gn := graph.Node{Op: graph.OpConv2D, Act: r.fuse[i].act}
	if err := window(n, &gn, h, w, []int64{int64(kh), int64(kw)}); err != nil {
		return err
	}
	gn.FilterH, gn.FilterW = 0, 0
	var filter *graph.Tensor
	d := make([]int8, len(wq.data))
	switch {
	case group == 1:
		for o := 0; o < cout; o++ {
			for c := 0; c < cin; c++ {
				for y := 0; y < kh; y++ {
					for xx := 0; xx < kw; xx++ {
						d[((o*kh+y)*kw+xx)*cin+c] = int8(wq.data[((o*cin+c)*kh+y)*kw+xx])
					}
				}
			}
		}
		filter = int8Filter(wq, d, []int{cout, kh, kw, cin}, 0)
	case group == cin && icg == 1:
		gn.Op, gn.Multiplier = graph.OpDepthwiseConv2D, cout/cin
		for o := 0; o < cout; o++ {
			for y := 0; y < kh; y++ {
				for xx := 0; xx < kw; xx++ {
					d[(y*kw+xx)*cout+o] = int8(wq.data[(o*kh+y)*kw+xx])
				}
			}
		}
		filter = int8Filter(wq, d, []int{1, kh, kw, cout}, 3)
	default:
		return fmt.Errorf("unsupported grouped convolution: %d groups of %d input channels (only 1 group or depthwise)", group, icg)
	}
	bt, err := int8Bias(bias, x.q.scale, channelScales(wq, cout), cout)
	if err != nil {
		return err
	}
	ft, err := r.b.Const(filter)
	if err != nil {
		return err
	}
	bi, err := r.b.Const(bt)
	if err != nil {
		return err
	}
	gn.Inputs = []int{x.tensor, ft, bi}
	gn.Name = fmt.Sprintf("node %d %q (%s)", i, n.name, n.opType)
	return r.addQuant(i, n, gn, true, p)
}

func (r *reader) qdqGemm(i int, n *protoNode, p *qparams) error {
	x := r.deqIn(n, 0)
	w := r.qWeights(n, 1)
	transB := n.opType == "Gemm" && attrInt(n, "transB", 0) != 0
	var bias *value
	if n.opType == "Gemm" && len(n.inputs) > 2 && n.inputs[2] != "" {
		bias = r.values[n.inputs[2]]
	}
	return r.int8FC(i, n, x, w.konst.q, w.shape, transB, bias, p)
}

// int8FC adds an INT8 FULLY_CONNECTED of x ([N K]) by quantized weights
// ([K N], or [N K] with transB).
func (r *reader) int8FC(i int, n *protoNode, x *value, wq *qconst, wshape []int, transB bool, bias *value, p *qparams) error {
	if len(x.shape) != 2 && !(x.nchw && x.shape[2] == 1 && x.shape[3] == 1) {
		return fmt.Errorf("input shape %v, want [N K]", x.shape)
	}
	if wq.int32 || len(wshape) != 2 {
		return fmt.Errorf("weights must be 2-D INT8 or UINT8 data, got shape %v", wshape)
	}
	if !wq.perChannelZero() {
		return fmt.Errorf("per-channel weight zero points other than 0 are not supported")
	}
	k := x.shape[1]
	kIdx, nIdx := 0, 1
	if transB {
		kIdx, nIdx = 1, 0
	}
	if wshape[kIdx] != k {
		return fmt.Errorf("weights %v do not match %d inputs", wshape, k)
	}
	if len(wq.scale) > 1 && wq.axis != nIdx {
		return fmt.Errorf("per-channel weight scales on axis %d, want %d (outputs)", wq.axis, nIdx)
	}
	nOut := wshape[nIdx]
	d := make([]int8, len(wq.data))
	for o := 0; o < nOut; o++ {
		for kk := 0; kk < k; kk++ {
			if transB {
				d[o*k+kk] = int8(wq.data[o*k+kk])
			} else {
				d[o*k+kk] = int8(wq.data[kk*nOut+o])
			}
		}
	}
	bt, err := int8Bias(bias, x.q.scale, channelScales(wq, nOut), nOut)
	if err != nil {
		return err
	}
	ft, err := r.b.Const(int8Filter(wq, d, []int{nOut, k}, 0))
	if err != nil {
		return err
	}
	bi, err := r.b.Const(bt)
	if err != nil {
		return err
	}
	gn := graph.Node{Op: graph.OpFullyConnected, Name: fmt.Sprintf("node %d %q (%s)", i, n.name, n.opType),
		Inputs: []int{x.tensor, ft, bi}, Act: r.fuse[i].act}
	return r.addQuant(i, n, gn, false, p)
}
