package modelgen

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"

	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// ONNX element types of quantized initializers.
const (
	dtUint8 = 2
	dtInt8  = 3
	dtInt32 = 6
)

// QDQOptions selects how QDQ spells a quantized graph.
type QDQOptions struct {
	// Uint8 writes activations as UINT8 (zero points plus 128), weights
	// staying INT8: onnxruntime's quantize_static default on x86.
	Uint8 bool
	// Uint8Weights writes the QDQ weights as UINT8 with zero point 128
	// (older onnxruntime quantizers' QUInt8 weights).
	Uint8Weights bool
	// Activations writes each fused activation as a Relu or Clip between
	// the operator and its QuantizeLinear; otherwise it is left to the
	// output's quantization range, as onnxruntime's quantizer does when the
	// range already clamps it.
	Activations bool
	// QOperator writes the operators that have one as onnxruntime's
	// QLinear operators on INT8/UINT8 values: QLinearConv, QLinearMatMul
	// (its bias added in float after a DequantizeLinear),
	// com.microsoft QLinearAdd, QLinearMul, QLinearGlobalAveragePool and
	// QLinearConcat, MaxPool, Reshape and Transpose on quantized values; the
	// rest stay DQ -> op -> Q groups. Fused activations are left to the
	// output ranges.
	QOperator bool
}

// QDQ encodes a graph from Quantize (the full-integer form) as an ONNX model
// in the QDQ form onnxruntime's quantize_static writes, with the same
// integer weights, biases and activation parameters: the float input goes
// through QuantizeLinear, every operator reads DequantizeLinear outputs and
// its output goes through QuantizeLinear and DequantizeLinear; convolution
// weights are INT8 per output channel (axis 0), fully connected weights
// INT8 per tensor, biases INT32 at the input scale times the weight scale.
// The input is NHWC [batch,H,W,C] followed by a Transpose, as ONNX does.
func (g *Graph) QDQ(o QDQOptions) ([]byte, error) {
	if len(g.Ops) < 2 || g.Ops[0].Code != tflite.OpQuantize || g.Ops[len(g.Ops)-1].Code != tflite.OpDequantize {
		return nil, fmt.Errorf("QDQ: want a graph from Quantize (QUANTIZE first, DEQUANTIZE last)")
	}
	w := &onnxWriter{g: g, names: make([]string, len(g.Tensors)), nchw: make([]bool, len(g.Tensors)),
		rng: rand.New(rand.NewPCG(uint64(len(g.Ops)), 17))}
	q := &qdqWriter{onnxWriter: w, QDQOptions: o, qnames: make([]string, len(g.Tensors))}
	w.names[g.Input] = "input"
	x := w.fresh("nchw")
	w.node("Transpose", []string{"input"}, []string{x}, aints("perm", 0, 3, 1, 2))
	w.names[g.Input], w.nchw[g.Input] = x, true
	for i := range g.Ops[:len(g.Ops)-1] {
		op := &g.Ops[i]
		var err error
		if o.QOperator {
			err = q.qop(op)
		} else {
			err = q.op(op)
		}
		if err != nil {
			return nil, fmt.Errorf("operator %d: %w", i, err)
		}
	}
	last := g.Ops[len(g.Ops)-1]
	if o.QOperator {
		q.dq(last.Inputs[0])
	}
	out := w.plain(last.Inputs[0])
	w.node("Identity", []string{out}, []string{"output"})
	return w.finish(g.Tensors[g.Input].Shape, g.Tensors[g.Output].Shape, 13), nil
}

type qdqWriter struct {
	*onnxWriter
	QDQOptions
	qnames []string // QOperator: the quantized value of each INT8 activation
}

// params writes tensor t's scale and zero point.
func (q *qdqWriter) params(t int) (string, string, error) {
	tq := q.g.Tensors[t].Quant
	if tq == nil || len(tq.Scale) != 1 {
		return "", "", fmt.Errorf("tensor %q: want per-tensor quantization parameters", q.g.Tensors[t].Name)
	}
	s := q.initFloat(q.fresh("scale"), nil, tq.Scale)
	if q.Uint8 {
		return s, q.initBytes(q.fresh("zp"), nil, dtUint8, []byte{byte(tq.ZeroPoint[0] + 128)}), nil
	}
	return s, q.initBytes(q.fresh("zp"), nil, dtInt8, []byte{byte(int8(tq.ZeroPoint[0]))}), nil
}

// dq makes the float value of INT8 activation t from its quantized value.
func (q *qdqWriter) dq(t int) {
	s, z, _ := q.params(t)
	d := q.fresh("dq")
	q.node("DequantizeLinear", []string{q.qnames[t], s, z}, []string{d})
	q.names[t] = d
}

// quant makes the quantized value of t from its float value.
func (q *qdqWriter) quant(t int) error {
	s, z, err := q.params(t)
	if err != nil {
		return err
	}
	y := q.fresh("q")
	q.node("QuantizeLinear", []string{q.names[t], s, z}, []string{y})
	q.qnames[t] = y
	return nil
}

func (q *qdqWriter) msNode(op string, ins, outs []string, attrs ...attr) {
	q.node(op, ins, outs, attrs...)
	q.nodes[len(q.nodes)-1] = stringField(q.nodes[len(q.nodes)-1], nodeDomain, "com.microsoft")
	q.msDomain = true
}

// qop writes one operator of the QOperator form.
func (q *qdqWriter) qop(op *Op) error {
	g := q.g
	in, out := op.Inputs[0], op.Outputs[0]
	y := q.fresh("t")
	setQ := func(nchw bool) { q.qnames[out], q.nchw[out] = y, nchw }
	switch op.Code {
	case tflite.OpQuantize:
		q.names[out], q.nchw[out] = q.names[in], q.nchw[in]
		return q.quant(out)
	case tflite.OpConv2D, tflite.OpDepthwiseConv2D:
		s := g.Tensors[in].Shape
		ft := g.Tensors[op.Inputs[1]]
		kh, kw := ft.Shape[1], ft.Shape[2]
		var wt []int8
		var dims []int
		group := int64(1)
		if op.Code == tflite.OpConv2D {
			cout, cin := ft.Shape[0], ft.Shape[3]
			wt, dims = reorder(ft.Int8, []int{cout, kh, kw, cin}, []int{0, 3, 1, 2}), []int{cout, cin, kh, kw}
		} else {
			c := ft.Shape[3]
			wt, dims = reorder(ft.Int8, []int{kh, kw, c}, []int{2, 0, 1}), []int{c, 1, kh, kw}
			group = int64(s[3])
		}
		wn, ws, wz := q.int8Weights(wt, dims, ft.Quant.Scale)
		b := g.Tensors[op.Inputs[2]].Int
		raw := make([]byte, 4*len(b))
		for i, v := range b {
			binary.LittleEndian.PutUint32(raw[4*i:], uint32(v))
		}
		bn := q.initBytes(q.fresh("b_q"), []int{len(b)}, dtInt32, raw)
		xs, xz, err := q.params(in)
		if err != nil {
			return err
		}
		ys, yz, err := q.params(out)
		if err != nil {
			return err
		}
		pt, pb := samePads(op.Padding, s[1], kh, op.StrideH)
		pl, pr := samePads(op.Padding, s[2], kw, op.StrideW)
		q.node("QLinearConv", []string{q.qnames[in], xs, xz, wn, ws, wz, ys, yz, bn}, []string{y},
			aints("kernel_shape", int64(kh), int64(kw)), aints("strides", int64(op.StrideH), int64(op.StrideW)),
			aints("pads", pt, pl, pb, pr), ai("group", group))
		setQ(true)
	case tflite.OpFullyConnected:
		ft := g.Tensors[op.Inputs[1]]
		if len(g.Tensors[in].Shape) != 2 || q.nchw[in] {
			return fmt.Errorf("QOperator FULLY_CONNECTED wants a [1 K] input")
		}
		n, k := ft.Shape[0], ft.Shape[1]
		wn, ws, wz := q.int8Weights(reorder(ft.Int8, []int{n, k}, []int{1, 0}), []int{k, n}, ft.Quant.Scale)
		xs, xz, err := q.params(in)
		if err != nil {
			return err
		}
		ys, yz, err := q.params(out)
		if err != nil {
			return err
		}
		q.node("QLinearMatMul", []string{q.qnames[in], xs, xz, wn, ws, wz, ys, yz}, []string{y})
		// The bias, in float: DQ -> Add -> Q.
		q.qnames[out], q.nchw[out] = y, false
		q.dq(out)
		bias := make([]float32, n)
		for c, v := range g.Tensors[op.Inputs[2]].Int {
			bias[c] = float32(float64(v) * float64(g.Tensors[in].Quant.Scale[0]) * float64(ft.Quant.Scale[0]))
		}
		sum := q.fresh("t")
		q.node("Add", []string{q.names[out], q.initFloat(q.fresh("bias"), []int{n}, bias)}, []string{sum})
		q.names[out] = sum
		return q.quant(out)
	case tflite.OpAdd, tflite.OpMul:
		a, b := op.Inputs[0], op.Inputs[1]
		as, az, err := q.params(a)
		if err != nil {
			return err
		}
		bs, bz, _ := q.params(b)
		ys, yz, _ := q.params(out)
		kind := "QLinearAdd"
		if op.Code == tflite.OpMul {
			kind = "QLinearMul"
		}
		q.msNode(kind, []string{q.qnames[a], as, az, q.qnames[b], bs, bz, ys, yz}, []string{y})
		setQ(q.nchw[a])
	case tflite.OpMaxPool2D:
		s := g.Tensors[in].Shape
		pt, pb := samePads(op.Padding, s[1], op.FilterH, op.StrideH)
		pl, pr := samePads(op.Padding, s[2], op.FilterW, op.StrideW)
		q.node("MaxPool", []string{q.qnames[in]}, []string{y},
			aints("kernel_shape", int64(op.FilterH), int64(op.FilterW)),
			aints("strides", int64(op.StrideH), int64(op.StrideW)), aints("pads", pt, pl, pb, pr))
		setQ(true)
	case tflite.OpMean:
		spatial := len(op.Axes) == 2 && op.Axes[0] == 1 && op.Axes[1] == 2
		if !spatial || !q.nchw[in] {
			return q.qdqGroup(op)
		}
		xs, xz, err := q.params(in)
		if err != nil {
			return err
		}
		ys, yz, _ := q.params(out)
		q.msNode("QLinearGlobalAveragePool", []string{q.qnames[in], xs, xz, ys, yz}, []string{y})
		if !op.KeepDims {
			f := q.fresh("t")
			q.node("Flatten", []string{y}, []string{f}, ai("axis", 1))
			y = f
		}
		setQ(op.KeepDims)
	case tflite.OpConcatenation:
		ys, yz, err := q.params(out)
		if err != nil {
			return err
		}
		ins := []string{ys, yz}
		for _, t := range op.Inputs {
			s, z, err := q.params(t)
			if err != nil {
				return err
			}
			ins = append(ins, q.qnames[t], s, z)
		}
		axis := int64(op.Axis)
		if q.nchw[in] {
			axis = []int64{0, 2, 3, 1}[op.Axis]
		}
		q.msNode("QLinearConcat", ins, []string{y}, ai("axis", axis))
		setQ(q.nchw[in])
	case tflite.OpReshape, tflite.OpSqueeze:
		x := q.qnames[in]
		if q.nchw[in] {
			x = q.fresh("nhwc")
			q.node("Transpose", []string{q.qnames[in]}, []string{x}, aints("perm", 0, 2, 3, 1))
		}
		shape := g.Tensors[out].Shape
		s64 := make([]int64, len(shape))
		for i, d := range shape {
			s64[i] = int64(d)
		}
		if len(s64) > 0 && s64[0] == 1 {
			s64[0] = -1
		}
		q.node("Reshape", []string{x, q.initInt64(q.fresh("shape"), s64)}, []string{y})
		setQ(false)
	default:
		return q.qdqGroup(op)
	}
	return nil
}

// qdqGroup writes op as DQ -> float operator -> Q inside a QOperator model.
func (q *qdqWriter) qdqGroup(op *Op) error {
	for _, t := range op.Inputs {
		if q.g.Tensors[t].IsConst() {
			continue
		}
		q.dq(t)
	}
	if err := q.onnxWriter.op(op); err != nil {
		return err
	}
	return q.quant(op.Outputs[0])
}

// int8Weights writes INT8 weights per tensor or per channel along axis 0
// with their scale and zero point, for a QLinear operator.
func (q *qdqWriter) int8Weights(data []int8, dims []int, scales []float32) (string, string, string) {
	raw := make([]byte, len(data))
	for i, v := range data {
		raw[i] = byte(v)
	}
	wn := q.initBytes(q.fresh("w_q"), dims, dtInt8, raw)
	var sdims []int
	if len(scales) > 1 {
		sdims = []int{len(scales)}
	}
	return wn, q.initFloat(q.fresh("w_scale"), sdims, scales), q.initBytes(q.fresh("w_zp"), sdims, dtInt8, make([]byte, len(scales)))
}

// qdq passes value x through QuantizeLinear and DequantizeLinear with
// tensor t's parameters and returns the dequantized value.
func (q *qdqWriter) qdq(x string, t int) (string, error) {
	tq := q.g.Tensors[t].Quant
	if tq == nil || len(tq.Scale) != 1 {
		return "", fmt.Errorf("tensor %q: want per-tensor quantization parameters", q.g.Tensors[t].Name)
	}
	s := q.initFloat(q.fresh("scale"), nil, tq.Scale)
	var z string
	if q.Uint8 {
		z = q.initBytes(q.fresh("zp"), nil, dtUint8, []byte{byte(tq.ZeroPoint[0] + 128)})
	} else {
		z = q.initBytes(q.fresh("zp"), nil, dtInt8, []byte{byte(int8(tq.ZeroPoint[0]))})
	}
	y := q.fresh("q")
	q.node("QuantizeLinear", []string{x, s, z}, []string{y})
	d := q.fresh("dq")
	q.node("DequantizeLinear", []string{y, s, z}, []string{d})
	return d, nil
}

// dqWeights writes INT8 weights (already in ONNX order, per-channel along
// axis 0 or per tensor) and their DequantizeLinear.
func (q *qdqWriter) dqWeights(data []int8, dims []int, scales []float32) string {
	raw := make([]byte, len(data))
	dt, shift := uint64(dtInt8), 0
	if q.Uint8Weights {
		dt, shift = dtUint8, 128
	}
	for i, v := range data {
		raw[i] = byte(int(v) + shift)
	}
	wn := q.initBytes(q.fresh("w_q"), dims, dt, raw)
	zp := make([]byte, len(scales))
	for i := range zp {
		zp[i] = byte(shift)
	}
	var sdims []int
	if len(scales) > 1 {
		sdims = []int{len(scales)}
	}
	s := q.initFloat(q.fresh("w_scale"), sdims, scales)
	z := q.initBytes(q.fresh("w_zp"), sdims, dt, zp)
	d := q.fresh("w")
	q.node("DequantizeLinear", []string{wn, s, z}, []string{d}, ai("axis", 0))
	return d
}

// dqBias writes an INT32 bias at scale inScale*ws[c] and its DequantizeLinear.
func (q *qdqWriter) dqBias(b []int32, inScale float32, ws []float32) string {
	raw := make([]byte, 4*len(b))
	for i, v := range b {
		binary.LittleEndian.PutUint32(raw[4*i:], uint32(v))
	}
	bn := q.initBytes(q.fresh("b_q"), []int{len(b)}, dtInt32, raw)
	sc := make([]float32, len(b))
	for c := range sc {
		sc[c] = float32(float64(inScale) * float64(ws[min(c, len(ws)-1)]))
	}
	s := q.initFloat(q.fresh("b_scale"), []int{len(b)}, sc)
	z := q.initBytes(q.fresh("b_zp"), []int{len(b)}, dtInt32, make([]byte, 4*len(b)))
	d := q.fresh("b")
	q.node("DequantizeLinear", []string{bn, s, z}, []string{d}, ai("axis", 0))
	return d
}

func (q *qdqWriter) op(op *Op) error {
	g := q.g
	in, out := op.Inputs[0], op.Outputs[0]
	switch op.Code {
	case tflite.OpQuantize:
		d, err := q.qdq(q.names[in], out)
		if err != nil {
			return err
		}
		q.names[out], q.nchw[out] = d, q.nchw[in]
		return nil
	case tflite.OpConv2D, tflite.OpDepthwiseConv2D:
		s := g.Tensors[in].Shape
		ft := g.Tensors[op.Inputs[1]]
		kh, kw := ft.Shape[1], ft.Shape[2]
		var wt []int8
		var dims []int
		group := int64(1)
		if op.Code == tflite.OpConv2D {
			cout, cin := ft.Shape[0], ft.Shape[3]
			wt, dims = reorder(ft.Int8, []int{cout, kh, kw, cin}, []int{0, 3, 1, 2}), []int{cout, cin, kh, kw}
		} else {
			c := ft.Shape[3]
			wt, dims = reorder(ft.Int8, []int{kh, kw, c}, []int{2, 0, 1}), []int{c, 1, kh, kw}
			group = int64(s[3])
		}
		wn := q.dqWeights(wt, dims, ft.Quant.Scale)
		bn := q.dqBias(g.Tensors[op.Inputs[2]].Int, g.Tensors[in].Quant.Scale[0], ft.Quant.Scale)
		pt, pb := samePads(op.Padding, s[1], kh, op.StrideH)
		pl, pr := samePads(op.Padding, s[2], kw, op.StrideW)
		y := q.fresh("t")
		q.node("Conv", []string{q.names[in], wn, bn}, []string{y},
			aints("kernel_shape", int64(kh), int64(kw)), aints("strides", int64(op.StrideH), int64(op.StrideW)),
			aints("pads", pt, pl, pb, pr), ai("group", group))
		if q.Activations {
			y = q.act(y, op.Act)
		}
		q.names[out], q.nchw[out] = y, true
	case tflite.OpFullyConnected:
		ft := g.Tensors[op.Inputs[1]]
		x := q.plain(in)
		k := ft.Shape[1]
		if len(g.Tensors[in].Shape) != 2 {
			r := q.fresh("rows")
			q.node("Reshape", []string{x, q.initInt64(q.fresh("shape"), []int64{-1, int64(k)})}, []string{r})
			x = r
		}
		wn := q.dqWeights(ft.Int8, ft.Shape, ft.Quant.Scale)
		bn := q.dqBias(g.Tensors[op.Inputs[2]].Int, g.Tensors[in].Quant.Scale[0], ft.Quant.Scale)
		y := q.fresh("t")
		q.node("Gemm", []string{x, wn, bn}, []string{y}, ai("transB", 1))
		if q.Activations {
			y = q.act(y, op.Act)
		}
		q.names[out], q.nchw[out] = y, false
	default:
		// The other operators read and write float values in the graph;
		// their fused activations (ADD with RELU) are written out.
		if err := q.onnxWriter.op(op); err != nil {
			return err
		}
	}
	d, err := q.qdq(q.names[out], out)
	if err != nil {
		return err
	}
	q.names[out] = d
	return nil
}

// reorder permutes row-major data of shape dims so that axis perm[i] of the
// input becomes axis i of the output.
func reorder(data []int8, dims, perm []int) []int8 {
	n := len(dims)
	strides := make([]int, n)
	s := 1
	for i := n - 1; i >= 0; i-- {
		strides[i] = s
		s *= dims[i]
	}
	odims := make([]int, n)
	for i, p := range perm {
		odims[i] = dims[p]
	}
	out := make([]int8, len(data))
	idx := make([]int, n)
	for o := range out {
		src := 0
		for i, p := range perm {
			src += idx[i] * strides[p]
		}
		out[o] = data[src]
		for i := n - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < odims[i] {
				break
			}
			idx[i] = 0
		}
	}
	return out
}

func (w *onnxWriter) initBytes(name string, dims []int, dt uint64, raw []byte) string {
	w.init(name, dims, dt, raw)
	return name
}

// finish assembles the model: nodes, initializers, an NHWC input and the
// output with symbolic batch dimensions, at the given opset.
func (w *onnxWriter) finish(inShape, outShape []int, opset uint64) []byte {
	var gb []byte
	for _, n := range w.nodes {
		gb = bytesField(gb, graphNode, n)
	}
	gb = stringField(gb, graphName, "modelgen")
	for _, t := range w.inits {
		gb = bytesField(gb, graphInitializer, t)
	}
	gb = bytesField(gb, graphInput, valueInfo("input", inShape))
	for _, vi := range w.initInputs {
		gb = bytesField(gb, graphInput, vi)
	}
	gb = bytesField(gb, graphOutput, valueInfo("output", outShape))
	var mb []byte
	mb = varintField(mb, modelIRVersion, onnxIRVersion)
	mb = stringField(mb, modelProducer, "cspipe modelgen")
	mb = bytesField(mb, modelGraph, gb)
	mb = bytesField(mb, modelOpsetImport, varintField(nil, opsetVersion, opset))
	if w.msDomain {
		mb = bytesField(mb, modelOpsetImport, varintField(stringField(nil, opsetDomain, "com.microsoft"), opsetVersion, 1))
	}
	return mb
}
