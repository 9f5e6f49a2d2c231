package modelgen

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"

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
	opsetDomain      = 1
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
	nodeDomain    = 7

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
	onnxOpsetNumber = 14
)

// onnxWriter accumulates the graph's nodes and initializers.
type onnxWriter struct {
	ONNXOptions
	g            *Graph
	rng          *rand.Rand
	nodes, inits [][]byte
	names        []string // ONNX value name per graph tensor
	msDomain     bool     // a node of the com.microsoft domain was written
	initInputs   [][]byte // graph inputs naming initializers (InitializersAsInputs)
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
	b := w.tensorProto(name, dims, dt, raw)
	if w.ConstantNodes && len(raw) <= 64 {
		w.constantNode(name, b)
		return
	}
	w.inits = append(w.inits, b)
	if w.InitializersAsInputs {
		w.initInputs = append(w.initInputs, typedValueInfo(name, dims, dt))
	}
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

// ONNXOptions selects how the ONNX encoding spells the graph, so the ONNX
// reader meets the forms exporters write.
type ONNXOptions struct {
	// GlobalPool writes MEAN over the spatial axes as GlobalAveragePool
	// (and Flatten when dims are not kept), as PyTorch exports do.
	GlobalPool bool
	// BatchNorm follows every convolution with a BatchNormalization of
	// random statistics (the ONNX model then differs from the TFLite one).
	BatchNorm bool
	// NCHWInput makes the graph input [batch,C,H,W], as PyTorch exports
	// do, instead of NHWC followed by a Transpose.
	NCHWInput bool
	// HardSigmoid writes the ADD/RELU6/MUL hard sigmoid as HardSigmoid.
	HardSigmoid bool

	// Exporters' spellings (onnxforms.go). TorchFlatten computes each
	// Reshape's shape from the input's Shape, as PyTorch exports
	// x.view(x.size(0), -1) with a symbolic batch. ConstantNodes writes
	// small constants (shapes, clip limits) as Constant nodes.
	// InitializersAsInputs lists every initializer among the graph's
	// inputs too (exports before IR version 4). TypedData stores FLOAT and
	// INT64 initializers in float_data/int64_data instead of raw_data.
	TorchFlatten, ConstantNodes, InitializersAsInputs, TypedData bool
}

// ONNX encodes the graph as an ONNX model (opset 14) computing the same
// function: NHWC input [batch,H,W,C], NCHW inside, the same output shape
// with a symbolic batch dimension.
func (g *Graph) ONNX() ([]byte, error) { return g.ONNXWith(ONNXOptions{}) }

// ONNXWith encodes the graph as ONNX spelled as o says.
func (g *Graph) ONNXWith(o ONNXOptions) ([]byte, error) {
	w := &onnxWriter{ONNXOptions: o, g: g, names: make([]string, len(g.Tensors)), nchw: make([]bool, len(g.Tensors)),
		rng: rand.New(rand.NewPCG(uint64(len(g.Ops)), 17))}
	inShape := g.Tensors[g.Input].Shape
	if o.NCHWInput {
		w.names[g.Input], w.nchw[g.Input] = "input", true
		inShape = []int{inShape[0], inShape[3], inShape[1], inShape[2]}
	} else {
		w.names[g.Input] = "input"
		x := w.fresh("nchw")
		w.node("Transpose", []string{"input"}, []string{x}, aints("perm", 0, 3, 1, 2))
		w.names[g.Input], w.nchw[g.Input] = x, true
	}
	for i := 0; i < len(g.Ops); i++ {
		if o.HardSigmoid && g.hardSigmoid[i] {
			op, last := &g.Ops[i], &g.Ops[i+2]
			y := w.fresh("hsig")
			alpha, beta := float32(1.0/6), float32(0.5)
			w.node("HardSigmoid", []string{w.names[op.Inputs[0]]}, []string{y}, attr{name: "alpha", f: &alpha}, attr{name: "beta", f: &beta})
			w.names[last.Outputs[0]], w.nchw[last.Outputs[0]] = y, w.nchw[op.Inputs[0]]
			i += 2
			continue
		}
		if err := w.op(&g.Ops[i]); err != nil {
			return nil, fmt.Errorf("operator %d: %w", i, err)
		}
	}
	out := w.plain(g.Output)
	w.node("Identity", []string{out}, []string{"output"})

	return w.finish(inShape, g.Tensors[g.Output].Shape, onnxOpsetNumber), nil
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
		return w.clip(x, 0, 6)
	case tflite.ActReluN1To1:
		return w.clip(x, -1, 1)
	}
	return x
}

func (w *onnxWriter) clip(x string, lo, hi float32) string {
	y := w.fresh("clip")
	l := w.initFloat(w.fresh("lo"), nil, []float32{lo})
	h := w.initFloat(w.fresh("hi"), nil, []float32{hi})
	w.node("Clip", []string{x, l, h}, []string{y})
	return y
}

// operand returns the ONNX value for input t of a broadcasting operator
// whose other operand is in NCHW layout when nchw is set: constants are
// rewritten to the matching layout.
func (w *onnxWriter) operand(t int, nchw bool) (string, error) {
	tt := &w.g.Tensors[t]
	if !tt.IsConst() {
		if w.nchw[t] != nchw {
			return "", fmt.Errorf("operands in mixed layouts")
		}
		return w.names[t], nil
	}
	if !nchw {
		return w.initFloat(w.fresh("c"), tt.Shape, tt.Float), nil
	}
	// Right-align to NHWC, then move channels after the batch.
	d := []int{1, 1, 1, 1}
	copy(d[4-len(tt.Shape):], tt.Shape)
	h, wd, c := d[1], d[2], d[3]
	v := make([]float32, len(tt.Float))
	for y := 0; y < h; y++ {
		for x := 0; x < wd; x++ {
			for ch := 0; ch < c; ch++ {
				v[(ch*h+y)*wd+x] = tt.Float[(y*wd+x)*c+ch]
			}
		}
	}
	return w.initFloat(w.fresh("c"), []int{d[0], c, h, wd}, v), nil
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
		if w.BatchNorm {
			y = w.batchNorm(y, dims[0])
		}
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
	case tflite.OpAdd, tflite.OpMul:
		a, b := op.Inputs[0], op.Inputs[1]
		nchw := w.nchw[a] || w.nchw[b]
		an, err := w.operand(a, nchw)
		if err != nil {
			return err
		}
		bn, err := w.operand(b, nchw)
		if err != nil {
			return err
		}
		kind := "Add"
		if op.Code == tflite.OpMul {
			kind = "Mul"
		}
		w.node(kind, []string{an, bn}, []string{y})
		set(w.act(y, op.Act), nchw)
	case tflite.OpRelu:
		w.node("Relu", []string{w.names[in]}, []string{y})
		set(y, w.nchw[in])
	case tflite.OpRelu6:
		set(w.clip(w.names[in], 0, 6), w.nchw[in])
	case tflite.OpReluN1To1:
		set(w.clip(w.names[in], -1, 1), w.nchw[in])
	case tflite.OpLogistic:
		w.node("Sigmoid", []string{w.names[in]}, []string{y})
		set(y, w.nchw[in])
	case tflite.OpHardSwish:
		w.node("HardSwish", []string{w.names[in]}, []string{y})
		set(y, w.nchw[in])
	case tflite.OpLeakyRelu:
		alpha := op.Alpha
		w.node("LeakyRelu", []string{w.names[in]}, []string{y}, attr{name: "alpha", f: &alpha})
		set(y, w.nchw[in])
	case tflite.OpConcatenation:
		nchw := w.nchw[in]
		var names []string
		for _, t := range op.Inputs {
			n, err := w.operand(t, nchw)
			if err != nil {
				return err
			}
			names = append(names, n)
		}
		axis := int64(op.Axis)
		if nchw {
			axis = []int64{0, 2, 3, 1}[op.Axis]
		}
		w.node("Concat", names, []string{y}, ai("axis", axis))
		set(y, nchw)
	case tflite.OpMean:
		keep := int64(0)
		if op.KeepDims {
			keep = 1
		}
		if !w.nchw[in] {
			return fmt.Errorf("MEAN of a non-image tensor")
		}
		spatial := len(op.Axes) == 2 && op.Axes[0] == 1 && op.Axes[1] == 2
		switch {
		case spatial && op.KeepDims && w.GlobalPool:
			w.node("GlobalAveragePool", []string{w.names[in]}, []string{y})
		case spatial && w.GlobalPool:
			p := w.fresh("gap")
			w.node("GlobalAveragePool", []string{w.names[in]}, []string{p})
			w.node("Flatten", []string{p}, []string{y}, ai("axis", 1))
		default:
			var axes []int64
			for _, a := range op.Axes {
				axes = append(axes, []int64{0, 2, 3, 1}[a])
			}
			w.node("ReduceMean", []string{w.names[in]}, []string{y}, aints("axes", axes...), ai("keepdims", keep))
		}
		switch {
		case op.KeepDims:
			set(y, true)
		case spatial:
			set(y, false) // [1,C]
		default:
			return fmt.Errorf("MEAN over axes %v without keep_dims has no plain layout", op.Axes)
		}
	case tflite.OpFullyConnected:
		ft := g.Tensors[op.Inputs[1]]
		x := w.plain(in)
		k := ft.Shape[1]
		if len(g.Tensors[in].Shape) != 2 {
			r := w.fresh("rows")
			w.node("Reshape", []string{x, w.newShape(x, []int64{-1, int64(k)})}, []string{r})
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
		x := w.plain(in)
		w.node("Reshape", []string{x, w.newShape(x, s64)}, []string{y})
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

// batchNorm appends a BatchNormalization over c channels with random
// statistics near identity.
func (w *onnxWriter) batchNorm(x string, c int) string {
	vals := func(mean, spread float64, positive bool) []float32 {
		v := make([]float32, c)
		for i := range v {
			f := mean + spread*(w.rng.Float64()*2-1)
			if positive {
				f = math.Abs(f)
			}
			v[i] = float32(f)
		}
		return v
	}
	scale := w.initFloat(w.fresh("bn_scale"), []int{c}, vals(1, 0.1, true))
	bias := w.initFloat(w.fresh("bn_bias"), []int{c}, vals(0, 0.05, false))
	mean := w.initFloat(w.fresh("bn_mean"), []int{c}, vals(0, 0.05, false))
	variance := w.initFloat(w.fresh("bn_var"), []int{c}, vals(1, 0.1, true))
	y := w.fresh("bn")
	eps := float32(1e-3)
	w.node("BatchNormalization", []string{x, scale, bias, mean, variance}, []string{y}, attr{name: "epsilon", f: &eps})
	return y
}
