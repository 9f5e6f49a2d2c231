package tflite

// Field numbers and enum values of the TFLite FlatBuffers format that this
// package reads. They are written out by hand for the few tables we need;
// internal/modelgen writes files with the same numbers.
const (
	// Model
	ModelVersion       = 0
	ModelOperatorCodes = 1
	ModelSubgraphs     = 2
	ModelDescription   = 3
	ModelBuffers       = 4

	// OperatorCode
	OpCodeDeprecatedBuiltin = 0
	OpCodeCustom            = 1
	OpCodeVersion           = 2
	OpCodeBuiltin           = 3

	// SubGraph
	SubGraphTensors   = 0
	SubGraphInputs    = 1
	SubGraphOutputs   = 2
	SubGraphOperators = 3
	SubGraphName      = 4

	// Tensor
	TensorShape        = 0
	TensorType         = 1
	TensorBuffer       = 2
	TensorName         = 3
	TensorQuantization = 4
	TensorSparsity     = 6

	// QuantizationParameters
	QuantScale     = 2
	QuantZeroPoint = 3
	QuantDimension = 6

	// Buffer
	BufferData   = 0
	BufferOffset = 1
	BufferSize   = 2

	// Operator
	OperatorOpcodeIndex        = 0
	OperatorInputs             = 1
	OperatorOutputs            = 2
	OperatorBuiltinOptionsType = 3
	OperatorBuiltinOptions     = 4

	// Conv2DOptions
	ConvPadding    = 0
	ConvStrideW    = 1
	ConvStrideH    = 2
	ConvActivation = 3
	ConvDilationW  = 4
	ConvDilationH  = 5

	// DepthwiseConv2DOptions
	DWPadding    = 0
	DWStrideW    = 1
	DWStrideH    = 2
	DWMultiplier = 3
	DWActivation = 4
	DWDilationW  = 5
	DWDilationH  = 6

	// Pool2DOptions
	PoolPadding    = 0
	PoolStrideW    = 1
	PoolStrideH    = 2
	PoolFilterW    = 3
	PoolFilterH    = 4
	PoolActivation = 5

	// FullyConnectedOptions
	FCActivation  = 0
	FCWeightsFmt  = 1
	FCKeepNumDims = 2

	// SoftmaxOptions
	SoftmaxBeta = 0

	// AddOptions
	AddActivation = 0

	// ReshapeOptions
	ReshapeNewShape = 0

	// ReducerOptions
	ReducerKeepDims = 0

	// SqueezeOptions
	SqueezeDims = 0

	// ConcatenationOptions
	ConcatAxis       = 0
	ConcatActivation = 1

	// MulOptions
	MulActivation = 0

	// LeakyReluOptions
	LeakyReluAlpha = 0
)

// Builtin operator codes.
const (
	OpAdd             = 0
	OpAveragePool2D   = 1
	OpConcatenation   = 2
	OpConv2D          = 3
	OpDepthwiseConv2D = 4
	OpFullyConnected  = 9
	OpLogistic        = 14
	OpMaxPool2D       = 17
	OpMul             = 18
	OpRelu            = 19
	OpReluN1To1       = 20
	OpRelu6           = 21
	OpReshape         = 22
	OpSoftmax         = 25
	OpPad             = 34
	OpMean            = 40
	OpSqueeze         = 43
	OpLeakyRelu       = 98
	OpHardSwish       = 117
)

// Builtin options union tags.
const (
	OptConv2D         = 1
	OptDepthwiseConv  = 2
	OptPool2D         = 5
	OptFullyConnected = 8
	OptSoftmax        = 9
	OptConcatenation  = 10
	OptAdd            = 11
	OptReshape        = 17
	OptMul            = 21
	OptPad            = 22
	OptReducer        = 27
	OptSqueeze        = 30
	OptLeakyRelu      = 75
	OptHardSwish      = 91
)

// Tensor element types.
const (
	TypeFloat32 = 0
	TypeFloat16 = 1
	TypeInt32   = 2
	TypeUint8   = 3
	TypeInt64   = 4
	TypeInt8    = 9
)

// Padding schemes.
const (
	PaddingSame  = 0
	PaddingValid = 1
)

// Fused activation functions.
const (
	ActNone      = 0
	ActRelu      = 1
	ActReluN1To1 = 2
	ActRelu6     = 3
)

// FileIdentifier is the FlatBuffers file identifier of TFLite models.
const FileIdentifier = "TFL3"

var opNames = map[int]string{
	OpAdd: "ADD", OpAveragePool2D: "AVERAGE_POOL_2D", OpConv2D: "CONV_2D",
	OpDepthwiseConv2D: "DEPTHWISE_CONV_2D", OpFullyConnected: "FULLY_CONNECTED",
	OpMaxPool2D: "MAX_POOL_2D", OpReshape: "RESHAPE", OpSoftmax: "SOFTMAX",
	OpPad: "PAD", OpMean: "MEAN", OpSqueeze: "SQUEEZE",
	OpConcatenation: "CONCATENATION", OpLogistic: "LOGISTIC", OpMul: "MUL", OpRelu: "RELU", OpRelu6: "RELU6",
	OpReluN1To1: "RELU_N1_TO_1", OpLeakyRelu: "LEAKY_RELU", 23: "RESIZE_BILINEAR", 28: "TANH", 32: "CUSTOM", 39: "TRANSPOSE", 41: "SUB",
	42: "DIV", 6: "DEQUANTIZE", 114: "QUANTIZE", OpHardSwish: "HARD_SWISH",
	OpShape: "SHAPE", OpStridedSlice: "STRIDED_SLICE", OpPack: "PACK", 53: "CAST", 36: "GATHER",
	70: "EXPAND_DIMS", 49: "SPLIT", 31: "CALL", 119: "CALL_ONCE", 109: "WHILE", 118: "IF", 97: "RESIZE_NEAREST_NEIGHBOR",
}

// opName names a builtin operator code for error messages.
func opName(code int) string {
	if n, ok := opNames[code]; ok {
		return n
	}
	return "builtin operator " + itoa(code)
}

var typeNames = map[int]string{
	0: "FLOAT32", 1: "FLOAT16", 2: "INT32", 3: "UINT8", 4: "INT64", 5: "STRING",
	6: "BOOL", 7: "INT16", 8: "COMPLEX64", 9: "INT8", 10: "FLOAT64",
}

func typeName(t int) string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return "tensor type " + itoa(t)
}
