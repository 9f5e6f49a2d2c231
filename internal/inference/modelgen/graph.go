// Package modelgen builds float32 graphs of TFLite operators — random-weight
// MobileNet V1 and V2 of any width and input size, or small graphs for tests —
// and writes each both as a .tflite file and as the equivalent ONNX model
// with identical weights, so other runtimes can check the engine.
package modelgen

import (
	"fmt"
	"math/rand/v2"

	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// Tensor is a graph tensor: an activation (no data) or a constant.
type Tensor struct {
	Name  string
	Shape []int
	Float []float32 // FLOAT32 constant data
	Int   []int32   // INT32 constant data
	// Quant, when set, is written as the tensor's quantization parameters
	// (scale and zero point per tensor or per channel along QuantAxis).
	Quant     *Quant
	QuantAxis int

	// Type is the tflite.Type* code (zero is FLOAT32) and Int8 the INT8
	// constant data of quantized tensors (see quant.go).
	Type int
	Int8 []int8
	// Raw is constant data written as it is, for types the builders do
	// not compute in (FLOAT16 weights, see forms.go).
	Raw []byte
}

// Quant is affine quantization: real = Scale[i] * (q - ZeroPoint[i]).
type Quant struct {
	Scale     []float32
	ZeroPoint []int64
}

// IsConst reports whether the tensor carries data.
func (t *Tensor) IsConst() bool {
	return t.Float != nil || t.Int != nil || t.Int8 != nil || t.Raw != nil
}

// Op is one operator with the options the engine understands.
type Op struct {
	Code             int // tflite.Op* builtin code
	Inputs, Outputs  []int
	Padding          int // tflite.PaddingSame or PaddingValid
	StrideH, StrideW int
	FilterH, FilterW int // pools
	Multiplier       int // depthwise
	Act              int // tflite.Act*
	KeepDims         bool
	NewShape         []int // reshape
	SqueezeDims      []int
	Axes             []int   // mean
	Axis             int     // concatenation
	Alpha            float32 // leaky relu
	// Strided slice masks (bit per axis) and the shape operator's output
	// type (forms.go).
	BeginMask, EndMask, ShrinkMask int
	ShapeType                      int
}

// Graph is a single-input, single-output graph in execution order.
type Graph struct {
	Tensors []Tensor
	Ops     []Op
	Input   int
	Output  int

	rng         *rand.Rand
	hardSigmoid map[int]bool // first op index of each ADD/RELU6/MUL hard sigmoid
}

// NewGraph starts a graph with an NHWC input of the given size.
func NewGraph(h, w, c int, seed uint64) *Graph {
	g := &Graph{rng: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))}
	g.Input = g.add(Tensor{Name: "input", Shape: []int{1, h, w, c}})
	return g
}

func (g *Graph) add(t Tensor) int {
	g.Tensors = append(g.Tensors, t)
	return len(g.Tensors) - 1
}

func (g *Graph) activation(shape []int) int {
	return g.add(Tensor{Name: fmt.Sprintf("t%d", len(g.Tensors)), Shape: shape})
}

// normal returns n values drawn from N(0, std²).
func (g *Graph) normal(n int, std float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(g.rng.NormFloat64() * std)
	}
	return v
}

func (g *Graph) constant(name string, shape []int, data []float32) int {
	return g.add(Tensor{Name: fmt.Sprintf("%s_%d", name, len(g.Tensors)), Shape: shape, Float: data})
}

func (g *Graph) ints(name string, shape []int, data []int32) int {
	return g.add(Tensor{Name: fmt.Sprintf("%s_%d", name, len(g.Tensors)), Shape: shape, Int: data})
}

// Shape returns a tensor's shape.
func (g *Graph) Shape(t int) []int { return g.Tensors[t].Shape }

func outSize(padding, in, k, s int) int {
	if padding == tflite.PaddingSame {
		return (in + s - 1) / s
	}
	return (in-k)/s + 1
}

// Conv adds CONV_2D with He-initialised weights (fan-in KH*KW*Cin, scaled by
// gain) and a small random bias, as if batch norm had been folded in.
func (g *Graph) Conv(x, cout, k, stride, padding, act int, gain float64) int {
	s := g.Shape(x)
	cin := s[3]
	std := gain / sqrt(float64(k*k*cin))
	w := g.constant("conv_w", []int{cout, k, k, cin}, g.normal(cout*k*k*cin, std))
	b := g.constant("conv_b", []int{cout}, g.normal(cout, 0.05))
	y := g.activation([]int{1, outSize(padding, s[1], k, stride), outSize(padding, s[2], k, stride), cout})
	g.Ops = append(g.Ops, Op{Code: tflite.OpConv2D, Inputs: []int{x, w, b}, Outputs: []int{y},
		Padding: padding, StrideH: stride, StrideW: stride, Act: act})
	return y
}

// Depthwise adds DEPTHWISE_CONV_2D with the given depth multiplier.
func (g *Graph) Depthwise(x, k, stride, mult, padding, act int, gain float64) int {
	s := g.Shape(x)
	cout := s[3] * mult
	w := g.constant("dw_w", []int{1, k, k, cout}, g.normal(k*k*cout, gain/sqrt(float64(k*k))))
	b := g.constant("dw_b", []int{cout}, g.normal(cout, 0.05))
	y := g.activation([]int{1, outSize(padding, s[1], k, stride), outSize(padding, s[2], k, stride), cout})
	g.Ops = append(g.Ops, Op{Code: tflite.OpDepthwiseConv2D, Inputs: []int{x, w, b}, Outputs: []int{y},
		Padding: padding, StrideH: stride, StrideW: stride, Multiplier: mult, Act: act})
	return y
}

// Pool adds AVERAGE_POOL_2D (max false) or MAX_POOL_2D.
func (g *Graph) Pool(x int, maxPool bool, k, stride, padding int) int {
	s := g.Shape(x)
	code := tflite.OpAveragePool2D
	if maxPool {
		code = tflite.OpMaxPool2D
	}
	y := g.activation([]int{1, outSize(padding, s[1], k, stride), outSize(padding, s[2], k, stride), s[3]})
	g.Ops = append(g.Ops, Op{Code: code, Inputs: []int{x}, Outputs: []int{y},
		Padding: padding, StrideH: stride, StrideW: stride, FilterH: k, FilterW: k})
	return y
}

// Pad adds PAD with zeros on the spatial axes.
func (g *Graph) Pad(x, top, bottom, left, right int) int {
	s := g.Shape(x)
	p := g.ints("paddings", []int{4, 2}, []int32{0, 0, int32(top), int32(bottom), int32(left), int32(right), 0, 0})
	y := g.activation([]int{1, s[1] + top + bottom, s[2] + left + right, s[3]})
	g.Ops = append(g.Ops, Op{Code: tflite.OpPad, Inputs: []int{x, p}, Outputs: []int{y}})
	return y
}

// Add adds ADD of two tensors whose shapes broadcast.
func (g *Graph) Add(a, b int) int {
	return g.binary(tflite.OpAdd, a, b)
}

// Mul adds MUL of two tensors whose shapes broadcast.
func (g *Graph) Mul(a, b int) int {
	return g.binary(tflite.OpMul, a, b)
}

func (g *Graph) binary(code, a, b int) int {
	sa, sb := g.Shape(a), g.Shape(b)
	n := max(len(sa), len(sb))
	shape := make([]int, n)
	for i := range shape {
		da, db := 1, 1
		if j := i - (n - len(sa)); j >= 0 {
			da = sa[j]
		}
		if j := i - (n - len(sb)); j >= 0 {
			db = sb[j]
		}
		shape[i] = max(da, db)
	}
	y := g.activation(shape)
	g.Ops = append(g.Ops, Op{Code: code, Inputs: []int{a, b}, Outputs: []int{y}})
	return y
}

// Const adds a float constant of the given shape holding values.
func (g *Graph) Const(shape []int, values ...float32) int {
	return g.constant("const", shape, values)
}

// RandomConst adds a float constant of the given shape drawn from N(mean, std²).
func (g *Graph) RandomConst(shape []int, mean, std float64) int {
	v := g.normal(numElements(shape), std)
	for i := range v {
		v[i] += float32(mean)
	}
	return g.constant("const", shape, v)
}

func numElements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Unary adds an elementwise operator without options: tflite.OpRelu,
// OpRelu6, OpReluN1To1, OpLogistic or OpHardSwish.
func (g *Graph) Unary(x, code int) int {
	y := g.activation(append([]int(nil), g.Shape(x)...))
	g.Ops = append(g.Ops, Op{Code: code, Inputs: []int{x}, Outputs: []int{y}})
	return y
}

// LeakyRelu adds LEAKY_RELU with slope alpha below zero.
func (g *Graph) LeakyRelu(x int, alpha float32) int {
	y := g.activation(append([]int(nil), g.Shape(x)...))
	g.Ops = append(g.Ops, Op{Code: tflite.OpLeakyRelu, Inputs: []int{x}, Outputs: []int{y}, Alpha: alpha})
	return y
}

// HardSigmoid adds relu6(x+3)/6 as the TFLite converter emits it: ADD,
// RELU6, MUL.
func (g *Graph) HardSigmoid(x int) int {
	if g.hardSigmoid == nil {
		g.hardSigmoid = map[int]bool{}
	}
	c3 := g.Const(nil, 3)
	g.hardSigmoid[len(g.Ops)] = true
	y := g.Add(x, c3)
	y = g.Unary(y, tflite.OpRelu6)
	return g.Mul(y, g.Const(nil, 1.0/6))
}

// Concat adds CONCATENATION along axis.
func (g *Graph) Concat(axis int, xs ...int) int {
	shape := append([]int(nil), g.Shape(xs[0])...)
	for _, x := range xs[1:] {
		shape[axis] += g.Shape(x)[axis]
	}
	y := g.activation(shape)
	g.Ops = append(g.Ops, Op{Code: tflite.OpConcatenation, Inputs: append([]int(nil), xs...), Outputs: []int{y}, Axis: axis})
	return y
}

// Mean adds MEAN over the given axes.
func (g *Graph) Mean(x int, axes []int, keepDims bool) int {
	s := g.Shape(x)
	a32 := make([]int32, len(axes))
	var shape []int
	for i, d := range s {
		red := false
		for _, a := range axes {
			red = red || a == i
		}
		switch {
		case !red:
			shape = append(shape, d)
		case keepDims:
			shape = append(shape, 1)
		}
	}
	for i, a := range axes {
		a32[i] = int32(a)
	}
	ai := g.ints("axes", []int{len(axes)}, a32)
	y := g.activation(shape)
	g.Ops = append(g.Ops, Op{Code: tflite.OpMean, Inputs: []int{x, ai}, Outputs: []int{y}, KeepDims: keepDims, Axes: axes})
	return y
}

// SpatialMean adds MEAN over axes 1 and 2.
func (g *Graph) SpatialMean(x int, keepDims bool) int {
	return g.Mean(x, []int{1, 2}, keepDims)
}

// FullyConnected adds FULLY_CONNECTED on a [1, K] input.
func (g *Graph) FullyConnected(x, n int, gain float64) int {
	k := g.Shape(x)[len(g.Shape(x))-1]
	w := g.constant("fc_w", []int{n, k}, g.normal(n*k, gain/sqrt(float64(k))))
	b := g.constant("fc_b", []int{n}, g.normal(n, 0.05))
	y := g.activation([]int{1, n})
	g.Ops = append(g.Ops, Op{Code: tflite.OpFullyConnected, Inputs: []int{x, w, b}, Outputs: []int{y}})
	return y
}

// Reshape adds RESHAPE with a constant shape input.
func (g *Graph) Reshape(x int, shape []int) int {
	s := make([]int32, len(shape))
	for i, d := range shape {
		s[i] = int32(d)
	}
	si := g.ints("shape", []int{len(shape)}, s)
	y := g.activation(append([]int(nil), shape...))
	g.Ops = append(g.Ops, Op{Code: tflite.OpReshape, Inputs: []int{x, si}, Outputs: []int{y}, NewShape: shape})
	return y
}

// Squeeze adds SQUEEZE of the given size-1 axes.
func (g *Graph) Squeeze(x int, dims []int) int {
	var shape []int
	for i, d := range g.Shape(x) {
		drop := false
		for _, a := range dims {
			drop = drop || a == i
		}
		if !drop {
			shape = append(shape, d)
		}
	}
	y := g.activation(shape)
	g.Ops = append(g.Ops, Op{Code: tflite.OpSqueeze, Inputs: []int{x}, Outputs: []int{y}, SqueezeDims: dims})
	return y
}

// Softmax adds SOFTMAX over the last axis and makes it the graph output.
func (g *Graph) Softmax(x int) int {
	y := g.activation(append([]int(nil), g.Shape(x)...))
	g.Ops = append(g.Ops, Op{Code: tflite.OpSoftmax, Inputs: []int{x}, Outputs: []int{y}})
	g.Output = y
	return y
}
