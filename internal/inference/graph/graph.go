// Package graph is the inference engine's one model representation: tensors
// and operators in execution order, the planner that checks every operator
// and picks its kernel, and the executor that runs a planned Model on NHWC
// float32 images. The file readers (internal/inference/tflite and
// internal/inference/onnx) translate their formats into a Graph, so each
// operator is written once.
//
// Activations are laid out NHWC with a batch dimension of 1 in every shape;
// Run lays several images back to back. Tensors carry an element type and
// optional quantization parameters so that quantized operators can be added
// beside the float ones; the planner refuses what it cannot run exactly.
package graph

import (
	"fmt"
	"strconv"

	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// DType is a tensor's element type.
type DType int

// Element types a reader may report. Only Float32 activations run today;
// Int32 and Int64 constants carry shapes, axes and paddings.
const (
	Float32 DType = iota
	Int32
	Int64
	Int8
	Uint8
	Unsupported // any other type; Name in Tensor says which
)

func (d DType) String() string {
	switch d {
	case Float32:
		return "FLOAT32"
	case Int32:
		return "INT32"
	case Int64:
		return "INT64"
	case Int8:
		return "INT8"
	case Uint8:
		return "UINT8"
	}
	return "unsupported type"
}

// Quant holds affine quantization parameters: real = Scale*(q - ZeroPoint),
// per tensor (one entry) or per channel along Axis.
type Quant struct {
	Scale     []float32
	ZeroPoint []int32
	Axis      int
}

// Tensor is one tensor of a graph: an activation (no data) or a constant.
type Tensor struct {
	Name  string
	Shape []int
	DType DType
	Float []float32 // Float32 constant data
	Ints  []int     // Int32/Int64 constant data
	Int8  []int8    // Int8 constant data (UINT8 files: shifted by -128, see quant.go)
	Const bool
	Quant *Quant
}

// Size is the number of elements.
func (t *Tensor) Size() int { return NumElements(t.Shape) }

// Op is an operator kind.
type Op int

// Operators the planner knows.
const (
	OpConv2D Op = iota + 1
	OpDepthwiseConv2D
	OpAveragePool2D
	OpMaxPool2D
	OpMean
	OpFullyConnected
	OpReshape
	OpPad
	OpAdd
	OpMul
	OpSoftmax
	OpConcat
	OpClamp     // min(max(x, Lo), Hi): RELU, RELU6, RELU_N1_TO_1, Clip
	OpLeakyRelu // x or Alpha*x
	OpLogistic
	OpHardSwish
	OpHardSigmoid // clamp(Alpha*x+Beta, 0, 1)
)

var opNames = map[Op]string{
	OpConv2D: "CONV_2D", OpDepthwiseConv2D: "DEPTHWISE_CONV_2D", OpAveragePool2D: "AVERAGE_POOL_2D",
	OpMaxPool2D: "MAX_POOL_2D", OpMean: "MEAN", OpFullyConnected: "FULLY_CONNECTED", OpReshape: "RESHAPE",
	OpPad: "PAD", OpAdd: "ADD", OpMul: "MUL", OpSoftmax: "SOFTMAX", OpConcat: "CONCATENATION",
	OpClamp: "CLAMP", OpLeakyRelu: "LEAKY_RELU", OpLogistic: "LOGISTIC", OpHardSwish: "HARD_SWISH",
	OpHardSigmoid: "HARD_SIGMOID",
}

func (o Op) String() string {
	if n, ok := opNames[o]; ok {
		return n
	}
	return "op " + strconv.Itoa(int(o))
}

// Padding says how a window operator pads its input.
type Padding int

// Padding schemes: SAME and VALID as TFLite defines them (SAME puts the odd
// pixel after), or the explicit amounts in Node.Pads.
const (
	PadSame Padding = iota
	PadValid
	PadExplicit
)

// Bounds is a fused activation: the output is clamped to [Lo, Hi].
type Bounds struct{ Lo, Hi float32 }

// NoBounds leaves the output as it is.
var NoBounds = Bounds{kernels.NoClampLo, kernels.NoClampHi}

// Node is one operator with the attributes its kind uses.
type Node struct {
	Op     Op
	Name   string // how errors name it, e.g. `operator 3 (CONV_2D)`
	Inputs []int  // tensor indices; -1 for an absent optional input
	Output int

	Padding          Padding
	Pads             [4]int // top, left, bottom, right for PadExplicit
	StrideH, StrideW int
	FilterH, FilterW int // pools
	Multiplier       int // depthwise; 0 means the filter decides
	Act              *Bounds
	HardSwish        bool    // apply HARD_SWISH to the output after Act (set by fusion)
	Expand           *Node   // depthwise: the 1x1 convolution computing its input, run band by band inside it (set by fusion)
	CountIncludePad  bool    // average pool divides by the full window
	Axes             []int   // mean: reduced axes (negative from the end)
	KeepDims         bool    // mean, fully connected
	Shape            []int   // reshape: new shape, one entry may be -1
	Axis             int     // concatenation, softmax (negative from the end)
	Alpha, Beta      float32 // leaky relu, hard sigmoid; softmax beta (0 means 1)
	Paddings         []int   // pad: before and after for each axis
	PadValue         float32 // pad constant
	// ORTRounding makes INT8 operators round as ONNX Runtime does rather
	// than as TFLite's interpreter (see ortround.go); the ONNX reader sets it.
	ORTRounding bool
	// QLinearMean makes an INT8 MEAN over the spatial axes compute as
	// onnxruntime's QLinearGlobalAveragePool kernel does (a float32
	// rescale of the integer sum, ties to even) rather than as the float
	// mean a DQ -> GlobalAveragePool -> Q group describes.
	QLinearMean bool
}

// Graph is a single-input, single-output graph in execution order.
type Graph struct {
	Tensors []*Tensor
	Nodes   []Node
	Input   int
	Output  int

	// PackBudget is how many floats of packed weights the planner may
	// allocate; readers set it from the file size so a file cannot make the
	// planner allocate far more than itself.
	PackBudget int
}

// NumElements is the product of shape's dimensions.
func NumElements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Limits on what a graph may hold or cost, so a hostile file cannot make
// Plan or Run allocate or compute without bound.
const (
	MaxTensors  = 1 << 14
	MaxNodes    = 1 << 14
	MaxRank     = 6
	MaxElements = 1 << 28
)

func (g *Graph) reservePacked(n, k int) error {
	need := (n + 31) / 32 * 32 * k
	if need > g.PackBudget {
		return fmt.Errorf("weights would need %d more packed floats than the file size allows", need-g.PackBudget)
	}
	g.PackBudget -= need
	return nil
}
