package modelgen

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// ONNX protobuf field numbers (onnx.proto3), written out for the messages
// this encoder emits.
const (
	modelIRVersion   = 1
	modelProducer    = 2
	modelGraph       = 7
	modelOpsetImport = 8
	opsetVersion     = 2

	graphNode        = 1
	graphName        = 2
	graphInitializer = 5
	graphInput       = 11
	graphOutput      = 12

	nodeInput     = 1
	nodeOutput    = 2
	nodeName      = 3
	nodeOpType    = 4
	nodeAttribute = 5

	attrName  = 1
	attrF     = 2
	attrI     = 3
	attrInts  = 8
	attrType  = 20
	attrFloat = 1
	attrInt   = 2
	attrIntsT = 7

	tensorDims     = 1
	tensorDataType = 2
	tensorName     = 8
	tensorRawData  = 9
	dtFloat        = 1
	dtInt64        = 7

	valueName       = 1
	valueType       = 2
	typeTensor      = 1
	typeElemType    = 1
	typeShape       = 2
	shapeDim        = 1
	dimValue        = 1
	dimParam        = 2
	onnxIRVersion   = 7
	onnxOpsetNumber = 13
)

// onnxWriter accumulates the graph's nodes and initializers.
type onnxWriter struct {
	g            *Graph
	nodes, inits [][]byte
	names        []string // ONNX value name per graph tensor
	nchw         []bool   // activation is a 4-D tensor in NCHW order
	n            int
}

type attr struct {
	name string
	i    *int64
	f    *float32
	ints []int64
}

func ai(name string, v int64) attr       { return attr{name: name, i: &v} }
func aints(name string, v ...int64) attr { return attr{name: name, ints: v} }
func bytesField(b []byte, f protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, f, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}
func stringField(b []byte, f protowire.Number, v string) []byte {
	return bytesField(b, f, []byte(v))
}
func varintField(b []byte, f protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, f, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func (w *onnxWriter) fresh(prefix string) string {
	w.n++
	return fmt.Sprintf("%s_%d", prefix, w.n)
}

func (w *onnxWriter) node(op string, ins, outs []string, attrs ...attr) {
	var b []byte
	for _, s := range ins {
		b = stringField(b, nodeInput, s)
	}
	for _, s := range outs {
		b = stringField(b, nodeOutput, s)
	}
	b = stringField(b, nodeName, w.fresh(op))
	b = stringField(b, nodeOpType, op)
	for _, a := range attrs {
		var ab []byte
		ab = stringField(ab, attrName, a.name)
		switch {
		case a.i != nil:
			ab = varintField(ab, attrI, uint64(*a.i))
			ab = varintField(ab, attrType, attrInt)
		case a.f != nil:
			ab = protowire.AppendTag(ab, attrF, protowire.Fixed32Type)
			ab = protowire.AppendFixed32(ab, math.Float32bits(*a.f))
			ab = varintField(ab, attrType, attrFloat)
		default:
			for _, v := range a.ints {
				ab = varintField(ab, attrInts, uint64(v))
			}
			ab = varintField(ab, attrType, attrIntsT)
		}
		b = bytesField(b, nodeAttribute, ab)
	}
	w.nodes = append(w.nodes, b)
}

func (w *onnxWriter) initFloat(name string, dims []int, data []float32) string {
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	w.init(name, dims, dtFloat, raw)
	return name
}

func (w *onnxWriter) initInt64(name string, data []int64) string {
	raw := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	w.init(name, []int{len(data)}, dtInt64, raw)
	return name
}

func (w *onnxWriter) init(name string, dims []int, dt uint64, raw []byte) {
	var b []byte
	for _, d := range dims {
		b = varintField(b, tensorDims, uint64(d))
	}
	b = varintField(b, tensorDataType, dt)
	b = stringField(b, tensorName, name)
	b = bytesField(b, tensorRawData, raw)
	w.inits = append(w.inits, b)
}

// valueInfo describes a float tensor whose first dimension is the symbolic
// batch size and whose other dimensions are fixed.
func valueInfo(name string, dims []int) []byte {
	var shape []byte
	for i, d := range dims {
		if i == 0 {
			shape = bytesField(shape, shapeDim, stringField(nil, dimParam, "batch"))
			continue
		}
		shape = bytesField(shape, shapeDim, varintField(nil, dimValue, uint64(d)))
	}
	var tt []byte
	tt = varintField(tt, typeElemType, dtFloat)
	tt = bytesField(tt, typeShape, shape)
	var b []byte
	b = stringField(b, valueName, name)
	return bytesField(b, valueType, bytesField(nil, typeTensor, tt))
}

// ONNX encodes the graph as an ONNX model (opset 13) computing the same
// function: NHWC input [batch,H,W,C], NCHW inside, the same output shape
// with a symbolic batch dimension.
func (g *Graph) ONNX() ([]byte, error) {
	w := &onnxWriter{g: g, names: make([]string, len(g.Tensors)), nchw: make([]bool, len(g.Tensors))}
	w.names[g.Input] = "input"
	x := w.fresh("nchw")
	w.node("Transpose", []string{"input"}, []string{x}, aints("perm", 0, 3, 1, 2))
	w.names[g.Input], w.nchw[g.Input] = x, true
	for i := range g.Ops {
		if err := w.op(&g.Ops[i]); err != nil {
			return nil, fmt.Errorf("operator %d: %w", i, err)
		}
	}
	out := w.plain(g.Output)
	w.node("Identity", []string{out}, []string{"output"})

	var gb []byte
	for _, n := range w.nodes {
		gb = bytesField(gb, graphNode, n)
	}
	gb = stringField(gb, graphName, "modelgen")
	for _, t := range w.inits {
		gb = bytesField(gb, graphInitializer, t)
	}
	gb = bytesField(gb, graphInput, valueInfo("input", g.Tensors[g.Input].Shape))
	gb = bytesField(gb, graphOutput, valueInfo("output", g.Tensors[g.Output].Shape))

	var mb []byte
	mb = varintField(mb, modelIRVersion, onnxIRVersion)
	mb = stringField(mb, modelProducer, "cspipe modelgen")
	mb = bytesField(mb, modelGraph, gb)
	mb = bytesField(mb, modelOpsetImport, varintField(nil, opsetVersion, onnxOpsetNumber))
	return mb, nil
}

// plain returns the name of tensor t in its TFLite (NHWC) layout,
// transposing back from NCHW when needed.
func (w *onnxWriter) plain(t int) string {
	if !w.nchw[t] {
		return w.names[t]
	}
	y := w.fresh("nhwc")
	w.node("Transpose", []string{w.names[t]}, []string{y}, aints("perm", 0, 2, 3, 1))
	return y
}

// act appends the fused activation after value x.
func (w *onnxWriter) act(x string, code int) string {
	switch code {
	case tflite.ActRelu:
		y := w.fresh("relu")
		w.node("Relu", []string{x}, []string{y})
		return y
	case tflite.ActRelu6:
		y := w.fresh("relu6")
		lo := w.initFloat(w.fresh("zero"), nil, []float32{0})
		hi := w.initFloat(w.fresh("six"), nil, []float32{6})
		w.node("Clip", []string{x, lo, hi}, []string{y})
		return y
	}
	return x
}

// samePads returns ONNX pads (begin, end) for one spatial axis.
func samePads(padding, in, k, s int) (int64, int64) {
	if padding != tflite.PaddingSame {
		return 0, 0
	}
	out := (in + s - 1) / s
	total := max((out-1)*s+k-in, 0)
	return int64(total / 2), int64(total - total/2)
}

func (w *onnxWriter) op(op *Op) error {
	g := w.g
	in := op.Inputs[0]
	out := op.Outputs[0]
	y := w.fresh("t")
	set := func(name string, nchw bool) { w.names[out], w.nchw[out] = name, nchw }
	switch op.Code {
	case tflite.OpConv2D, tflite.OpDepthwiseConv2D:
		if !w.nchw[in] {
			return fmt.Errorf("convolution input is not an image")
		}
		s := g.Tensors[in].Shape
		ft := g.Tensors[op.Inputs[1]]
		kh, kw := ft.Shape[1], ft.Shape[2]
		var wt []float32
		var dims []int
		group := int64(1)
		if op.Code == tflite.OpConv2D {
			cout, cin := ft.Shape[0], ft.Shape[3]
			wt, dims = ohwiToOIHW(ft.Float, cout, kh, kw, cin), []int{cout, cin, kh, kw}
		} else {
			c := ft.Shape[3]
			wt, dims = transposeHWCtoCHW(ft.Float, kh, kw, c), []int{c, 1, kh, kw}
			group = int64(s[3])
		}
		wn := w.initFloat(w.fresh("w"), dims, wt)
		bn := w.initFloat(w.fresh("b"), []int{len(g.Tensors[op.Inputs[2]].Float)}, g.Tensors[op.Inputs[2]].Float)
		pt, pb := samePads(op.Padding, s[1], kh, op.StrideH)
		pl, pr := samePads(op.Padding, s[2], kw, op.StrideW)
		w.node("Conv", []string{w.names[in], wn, bn}, []string{y},
			aints("kernel_shape", int64(kh), int64(kw)), aints("strides", int64(op.StrideH), int64(op.StrideW)),
			aints("pads", pt, pl, pb, pr), ai("group", group))
		set(w.act(y, op.Act), true)
	case tflite.OpAveragePool2D, tflite.OpMaxPool2D:
		s := g.Tensors[in].Shape
		pt, pb := samePads(op.Padding, s[1], op.FilterH, op.StrideH)
		pl, pr := samePads(op.Padding, s[2], op.FilterW, op.StrideW)
		kind := "AveragePool"
		if op.Code == tflite.OpMaxPool2D {
			kind = "MaxPool"
		}
		w.node(kind, []string{w.names[in]}, []string{y},
			aints("kernel_shape", int64(op.FilterH), int64(op.FilterW)),
			aints("strides", int64(op.StrideH), int64(op.StrideW)), aints("pads", pt, pl, pb, pr))
		set(w.act(y, op.Act), true)
	case tflite.OpPad:
		p := g.Tensors[op.Inputs[1]].Int // NHWC [4][2]
		pads := w.initInt64(w.fresh("pads"), []int64{
			int64(p[0]), int64(p[6]), int64(p[2]), int64(p[4]),
			int64(p[1]), int64(p[7]), int64(p[3]), int64(p[5])})
		w.node("Pad", []string{w.names[in], pads}, []string{y})
		set(y, true)
	case tflite.OpAdd:
		a, b := op.Inputs[0], op.Inputs[1]
		if w.nchw[a] != w.nchw[b] {
			return fmt.Errorf("ADD of mixed layouts")
		}
		w.node("Add", []string{w.names[a], w.names[b]}, []string{y})
		set(w.act(y, op.Act), w.nchw[a])
	case tflite.OpMean:
		keep := int64(0)
		if op.KeepDims {
			keep = 1
		}
		w.node("ReduceMean", []string{w.names[in]}, []string{y}, aints("axes", 2, 3), ai("keepdims", keep))
		set(y, op.KeepDims) // [1,C,1,1] is NCHW; [1,C] is plain
	case tflite.OpFullyConnected:
		ft := g.Tensors[op.Inputs[1]]
		x := w.plain(in)
		k := ft.Shape[1]
		if len(g.Tensors[in].Shape) != 2 {
			r := w.fresh("rows")
			w.node("Reshape", []string{x, w.initInt64(w.fresh("shape"), []int64{-1, int64(k)})}, []string{r})
			x = r
		}
		wn := w.initFloat(w.fresh("w"), ft.Shape, ft.Float)
		bn := w.initFloat(w.fresh("b"), []int{ft.Shape[0]}, g.Tensors[op.Inputs[2]].Float)
		w.node("Gemm", []string{x, wn, bn}, []string{y}, ai("transB", 1))
		set(w.act(y, op.Act), false)
	case tflite.OpReshape, tflite.OpSqueeze:
		shape := g.Tensors[out].Shape
		s64 := make([]int64, len(shape))
		for i, d := range shape {
			s64[i] = int64(d)
		}
		if len(s64) > 0 && s64[0] == 1 {
			s64[0] = -1 // the batch dimension
		}
		w.node("Reshape", []string{w.plain(in), w.initInt64(w.fresh("shape"), s64)}, []string{y})
		set(y, false)
	case tflite.OpSoftmax:
		w.node("Softmax", []string{w.plain(in)}, []string{y}, ai("axis", -1))
		set(y, false)
	default:
		return fmt.Errorf("no ONNX mapping for %d", op.Code)
	}
	return nil
}

// ohwiToOIHW reorders a TFLite conv filter for ONNX.
func ohwiToOIHW(w []float32, o, h, wd, i int) []float32 {
	out := make([]float32, len(w))
	for a := 0; a < o; a++ {
		for y := 0; y < h; y++ {
			for x := 0; x < wd; x++ {
				for c := 0; c < i; c++ {
					out[((a*i+c)*h+y)*wd+x] = w[((a*h+y)*wd+x)*i+c]
				}
			}
		}
	}
	return out
}

// transposeHWCtoCHW reorders a depthwise filter [1,H,W,C] to [C,1,H,W].
func transposeHWCtoCHW(w []float32, h, wd, c int) []float32 {
	out := make([]float32, len(w))
	for y := 0; y < h; y++ {
		for x := 0; x < wd; x++ {
			for ch := 0; ch < c; ch++ {
				out[(ch*h+y)*wd+x] = w[(y*wd+x)*c+ch]
			}
		}
	}
	return out
}
