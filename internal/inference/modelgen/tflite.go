package modelgen

import (
	"encoding/binary"
	"math"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// TFLite encodes the graph as a TFLite FlatBuffers file (schema version 3).
func (g *Graph) TFLite() []byte {
	return g.tflite(flatbuffers.NewBuilder(1 << 20))
}

// tflite is TFLite written with b, reset first; the result lies in b's
// buffer, valid until b is used again.
func (g *Graph) tflite(b *flatbuffers.Builder) []byte {
	return g.tfliteWith(b, TFLiteOptions{}, nil)
}

// tfliteWith writes the file with the options of forms.go; ext, when set,
// gives each constant's data offset past the flatbuffer (external buffers).
func (g *Graph) tfliteWith(b *flatbuffers.Builder, o TFLiteOptions, ext []uint64) []byte {
	b.Reset()

	// Buffers: 0 is the empty sentinel, then one per constant tensor.
	bufIndex := make([]int, len(g.Tensors))
	var bufOffsets []flatbuffers.UOffsetT
	buffer := func(data []byte) flatbuffers.UOffsetT {
		var vec flatbuffers.UOffsetT
		if data != nil && !o.ExternalBuffers {
			b.Prep(16, len(data)) // align weight data to 16 bytes for SIMD readers
			vec = b.CreateByteVector(data)
		}
		b.StartObject(3)
		switch {
		case data != nil && o.ExternalBuffers:
			off := uint64(1 << 40) // a placeholder of the same width on the sizing pass
			if ext != nil {
				off = ext[len(bufOffsets)]
			}
			b.PrependUint64Slot(tflite.BufferOffset, off, 0)
			b.PrependUint64Slot(tflite.BufferSize, uint64(len(data)), 0)
		case data != nil:
			b.PrependUOffsetTSlot(tflite.BufferData, vec, 0)
		}
		return b.EndObject()
	}
	bufOffsets = append(bufOffsets, buffer(nil))
	for i, t := range g.Tensors {
		if !t.IsConst() {
			continue
		}
		bufIndex[i] = len(bufOffsets)
		bufOffsets = append(bufOffsets, buffer(tensorBytes(&t)))
	}

	// Tensors.
	tensorOffsets := make([]flatbuffers.UOffsetT, len(g.Tensors))
	for i, t := range g.Tensors {
		name := b.CreateString(t.Name)
		shape := intVector(b, t.Shape)
		typ := byte(t.Type)
		if t.Int != nil {
			typ = tflite.TypeInt32
		}
		var quant flatbuffers.UOffsetT
		if t.Quant != nil {
			b.StartVector(4, len(t.Quant.Scale), 4)
			for j := len(t.Quant.Scale) - 1; j >= 0; j-- {
				b.PrependFloat32(t.Quant.Scale[j])
			}
			scale := b.EndVector(len(t.Quant.Scale))
			b.StartVector(8, len(t.Quant.ZeroPoint), 8)
			for j := len(t.Quant.ZeroPoint) - 1; j >= 0; j-- {
				b.PrependInt64(t.Quant.ZeroPoint[j])
			}
			zp := b.EndVector(len(t.Quant.ZeroPoint))
			b.StartObject(7)
			b.PrependUOffsetTSlot(tflite.QuantScale, scale, 0)
			b.PrependUOffsetTSlot(tflite.QuantZeroPoint, zp, 0)
			b.PrependInt32Slot(tflite.QuantDimension, int32(t.QuantAxis), 0)
			quant = b.EndObject()
		}
		b.StartObject(5)
		if t.Quant != nil {
			b.PrependUOffsetTSlot(tflite.TensorQuantization, quant, 0)
		}
		b.PrependUOffsetTSlot(tflite.TensorShape, shape, 0)
		b.PrependByteSlot(tflite.TensorType, typ, 255)
		b.PrependUint32Slot(tflite.TensorBuffer, uint32(bufIndex[i]), 0)
		b.PrependUOffsetTSlot(tflite.TensorName, name, 0)
		tensorOffsets[i] = b.EndObject()
	}

	// Operator codes, one per distinct builtin.
	var codes []int
	codeIndex := map[int]int{}
	for _, op := range g.Ops {
		if _, ok := codeIndex[op.Code]; !ok {
			codeIndex[op.Code] = len(codes)
			codes = append(codes, op.Code)
		}
	}
	codeOffsets := make([]flatbuffers.UOffsetT, len(codes))
	for i, c := range codes {
		b.StartObject(4)
		b.PrependInt8Slot(tflite.OpCodeDeprecatedBuiltin, int8(c), -1)
		b.PrependInt32Slot(tflite.OpCodeVersion, 1, 0)
		b.PrependInt32Slot(tflite.OpCodeBuiltin, int32(c), -1)
		codeOffsets[i] = b.EndObject()
	}

	opOffsets := make([]flatbuffers.UOffsetT, len(g.Ops))
	for i, op := range g.Ops {
		optType, opts := writeOptions(b, &op)
		ins := intVector(b, op.Inputs)
		outs := intVector(b, op.Outputs)
		b.StartObject(5)
		b.PrependUint32Slot(tflite.OperatorOpcodeIndex, uint32(codeIndex[op.Code]), 1<<31)
		b.PrependUOffsetTSlot(tflite.OperatorInputs, ins, 0)
		b.PrependUOffsetTSlot(tflite.OperatorOutputs, outs, 0)
		if optType != 0 {
			b.PrependByteSlot(tflite.OperatorBuiltinOptionsType, byte(optType), 0)
			b.PrependUOffsetTSlot(tflite.OperatorBuiltinOptions, opts, 0)
		}
		opOffsets[i] = b.EndObject()
	}

	tensors := offsetVector(b, tensorOffsets)
	ops := offsetVector(b, opOffsets)
	inputs := intVector(b, []int{g.Input})
	outputs := intVector(b, []int{g.Output})
	sgName := b.CreateString("main")
	b.StartObject(5)
	b.PrependUOffsetTSlot(tflite.SubGraphTensors, tensors, 0)
	b.PrependUOffsetTSlot(tflite.SubGraphInputs, inputs, 0)
	b.PrependUOffsetTSlot(tflite.SubGraphOutputs, outputs, 0)
	b.PrependUOffsetTSlot(tflite.SubGraphOperators, ops, 0)
	b.PrependUOffsetTSlot(tflite.SubGraphName, sgName, 0)
	sg := b.EndObject()

	sgs := []flatbuffers.UOffsetT{sg}
	if o.ExtraSubgraph {
		sgs = append(sgs, emptySubgraph(b))
	}
	subgraphs := offsetVector(b, sgs)
	opcodes := offsetVector(b, codeOffsets)
	buffers := offsetVector(b, bufOffsets)
	desc := b.CreateString("cspipe modelgen")
	meta, sigs := g.modelExtras(b, o)
	b.StartObject(8)
	if meta != 0 {
		b.PrependUOffsetTSlot(modelMetadata, meta, 0)
	}
	if sigs != 0 {
		b.PrependUOffsetTSlot(modelSignatureDefs, sigs, 0)
	}
	b.PrependUint32Slot(tflite.ModelVersion, 3, 0)
	b.PrependUOffsetTSlot(tflite.ModelOperatorCodes, opcodes, 0)
	b.PrependUOffsetTSlot(tflite.ModelSubgraphs, subgraphs, 0)
	b.PrependUOffsetTSlot(tflite.ModelDescription, desc, 0)
	b.PrependUOffsetTSlot(tflite.ModelBuffers, buffers, 0)
	model := b.EndObject()
	b.FinishWithFileIdentifier(model, []byte(tflite.FileIdentifier))
	return b.FinishedBytes()
}

func tensorBytes(t *Tensor) []byte {
	if t.Raw != nil {
		return t.Raw
	}
	if t.Int8 != nil {
		out := make([]byte, len(t.Int8))
		for i, v := range t.Int8 {
			out[i] = byte(v)
		}
		return out
	}
	if t.Int != nil {
		out := make([]byte, 4*len(t.Int))
		for i, v := range t.Int {
			binary.LittleEndian.PutUint32(out[4*i:], uint32(v))
		}
		return out
	}
	out := make([]byte, 4*len(t.Float))
	for i, v := range t.Float {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
	}
	return out
}

func intVector(b *flatbuffers.Builder, v []int) flatbuffers.UOffsetT {
	b.StartVector(4, len(v), 4)
	for i := len(v) - 1; i >= 0; i-- {
		b.PrependInt32(int32(v[i]))
	}
	return b.EndVector(len(v))
}

func offsetVector(b *flatbuffers.Builder, v []flatbuffers.UOffsetT) flatbuffers.UOffsetT {
	b.StartVector(4, len(v), 4)
	for i := len(v) - 1; i >= 0; i-- {
		b.PrependUOffsetT(v[i])
	}
	return b.EndVector(len(v))
}

// writeOptions writes the builtin options table of op, returning its union
// tag (0 when the operator has none).
func writeOptions(b *flatbuffers.Builder, op *Op) (int, flatbuffers.UOffsetT) {
	switch op.Code {
	case tflite.OpConv2D:
		b.StartObject(6)
		b.PrependByteSlot(tflite.ConvPadding, byte(op.Padding), 255)
		b.PrependInt32Slot(tflite.ConvStrideW, int32(op.StrideW), 0)
		b.PrependInt32Slot(tflite.ConvStrideH, int32(op.StrideH), 0)
		b.PrependByteSlot(tflite.ConvActivation, byte(op.Act), 255)
		b.PrependInt32Slot(tflite.ConvDilationW, 1, 0)
		b.PrependInt32Slot(tflite.ConvDilationH, 1, 0)
		return tflite.OptConv2D, b.EndObject()
	case tflite.OpDepthwiseConv2D:
		b.StartObject(7)
		b.PrependByteSlot(tflite.DWPadding, byte(op.Padding), 255)
		b.PrependInt32Slot(tflite.DWStrideW, int32(op.StrideW), 0)
		b.PrependInt32Slot(tflite.DWStrideH, int32(op.StrideH), 0)
		b.PrependInt32Slot(tflite.DWMultiplier, int32(op.Multiplier), 0)
		b.PrependByteSlot(tflite.DWActivation, byte(op.Act), 255)
		b.PrependInt32Slot(tflite.DWDilationW, 1, 0)
		b.PrependInt32Slot(tflite.DWDilationH, 1, 0)
		return tflite.OptDepthwiseConv, b.EndObject()
	case tflite.OpAveragePool2D, tflite.OpMaxPool2D:
		b.StartObject(6)
		b.PrependByteSlot(tflite.PoolPadding, byte(op.Padding), 255)
		b.PrependInt32Slot(tflite.PoolStrideW, int32(op.StrideW), 0)
		b.PrependInt32Slot(tflite.PoolStrideH, int32(op.StrideH), 0)
		b.PrependInt32Slot(tflite.PoolFilterW, int32(op.FilterW), 0)
		b.PrependInt32Slot(tflite.PoolFilterH, int32(op.FilterH), 0)
		b.PrependByteSlot(tflite.PoolActivation, byte(op.Act), 255)
		return tflite.OptPool2D, b.EndObject()
	case tflite.OpFullyConnected:
		b.StartObject(4)
		b.PrependByteSlot(tflite.FCActivation, byte(op.Act), 255)
		return tflite.OptFullyConnected, b.EndObject()
	case tflite.OpSoftmax:
		b.StartObject(1)
		b.PrependFloat32Slot(tflite.SoftmaxBeta, 1, 0)
		return tflite.OptSoftmax, b.EndObject()
	case tflite.OpAdd:
		b.StartObject(2)
		b.PrependByteSlot(tflite.AddActivation, byte(op.Act), 255)
		return tflite.OptAdd, b.EndObject()
	case tflite.OpReshape:
		shape := intVector(b, op.NewShape)
		b.StartObject(1)
		b.PrependUOffsetTSlot(tflite.ReshapeNewShape, shape, 0)
		return tflite.OptReshape, b.EndObject()
	case tflite.OpPad:
		b.StartObject(0)
		return tflite.OptPad, b.EndObject()
	case tflite.OpMean:
		b.StartObject(1)
		b.PrependBoolSlot(tflite.ReducerKeepDims, op.KeepDims, !op.KeepDims)
		return tflite.OptReducer, b.EndObject()
	case tflite.OpMul:
		b.StartObject(1)
		b.PrependByteSlot(tflite.MulActivation, byte(op.Act), 255)
		return tflite.OptMul, b.EndObject()
	case tflite.OpConcatenation:
		b.StartObject(2)
		b.PrependInt32Slot(tflite.ConcatAxis, int32(op.Axis), 1<<30)
		b.PrependByteSlot(tflite.ConcatActivation, byte(op.Act), 255)
		return tflite.OptConcatenation, b.EndObject()
	case tflite.OpLeakyRelu:
		b.StartObject(1)
		b.PrependFloat32Slot(tflite.LeakyReluAlpha, op.Alpha, 0)
		return tflite.OptLeakyRelu, b.EndObject()
	case tflite.OpSqueeze:
		dims := intVector(b, op.SqueezeDims)
		b.StartObject(1)
		b.PrependUOffsetTSlot(tflite.SqueezeDims, dims, 0)
		return tflite.OptSqueeze, b.EndObject()
	case tflite.OpShape:
		b.StartObject(1)
		b.PrependByteSlot(tflite.ShapeOutType, byte(op.ShapeType), 255)
		return tflite.OptShape, b.EndObject()
	case tflite.OpStridedSlice:
		b.StartObject(6)
		b.PrependInt32Slot(tflite.SliceBeginMask, int32(op.BeginMask), 0)
		b.PrependInt32Slot(tflite.SliceEndMask, int32(op.EndMask), 0)
		b.PrependInt32Slot(tflite.SliceShrinkMask, int32(op.ShrinkMask), 0)
		return tflite.OptStridedSlice, b.EndObject()
	case tflite.OpPack:
		b.StartObject(2)
		b.PrependInt32Slot(tflite.PackValuesCount, int32(len(op.Inputs)), 0)
		b.PrependInt32Slot(tflite.PackAxis, 0, 1)
		return tflite.OptPack, b.EndObject()
	}
	return 0, 0
}
