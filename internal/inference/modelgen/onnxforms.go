package modelgen

import (
	"encoding/binary"

	"google.golang.org/protobuf/encoding/protowire"
)

// ONNX spellings that exporters write and the plain encoding does not, set
// by the ONNXOptions fields below ONNXOptions' first four.

const (
	tensorFloatData = 4
	tensorInt64Data = 7
	attrT           = 5
	attrTensorType  = 4
)

// tensorProto encodes a TensorProto: raw_data, or float_data/int64_data
// when the FloatData spelling is on.
func (w *onnxWriter) tensorProto(name string, dims []int, dt uint64, raw []byte) []byte {
	var b []byte
	for _, d := range dims {
		b = varintField(b, tensorDims, uint64(d))
	}
	b = varintField(b, tensorDataType, dt)
	b = stringField(b, tensorName, name)
	switch {
	case w.TypedData && dt == dtFloat:
		var packed []byte
		for i := 0; i < len(raw); i += 4 {
			packed = protowire.AppendFixed32(packed, binary.LittleEndian.Uint32(raw[i:]))
		}
		b = bytesField(b, tensorFloatData, packed)
	case w.TypedData && dt == dtInt64:
		var packed []byte
		for i := 0; i < len(raw); i += 8 {
			packed = protowire.AppendVarint(packed, binary.LittleEndian.Uint64(raw[i:]))
		}
		b = bytesField(b, tensorInt64Data, packed)
	default:
		b = bytesField(b, tensorRawData, raw)
	}
	return b
}

// constantNode writes a Constant node whose value is the tensor t.
func (w *onnxWriter) constantNode(name string, t []byte) {
	var ab []byte
	ab = stringField(ab, attrName, "value")
	ab = bytesField(ab, attrT, t)
	ab = varintField(ab, attrType, attrTensorType)
	var b []byte
	b = stringField(b, nodeOutput, name)
	b = stringField(b, nodeName, w.fresh("Constant"))
	b = stringField(b, nodeOpType, "Constant")
	b = bytesField(b, nodeAttribute, ab)
	w.nodes = append(w.nodes, b)
}

// typedValueInfo describes a tensor of fixed dims and element type dt.
func typedValueInfo(name string, dims []int, dt uint64) []byte {
	var shape []byte
	for _, d := range dims {
		shape = bytesField(shape, shapeDim, varintField(nil, dimValue, uint64(d)))
	}
	var tt []byte
	tt = varintField(tt, typeElemType, dt)
	tt = bytesField(tt, typeShape, shape)
	var b []byte
	b = stringField(b, valueName, name)
	return bytesField(b, valueType, bytesField(nil, typeTensor, tt))
}

// newShape returns the value holding a Reshape's new shape s (s[0] -1 for
// the batch): an initializer, or with TorchFlatten the chain PyTorch
// exports for x.view(x.size(0), ...) with a symbolic batch:
// Shape -> Gather(0) -> Unsqueeze -> Concat with the other dimensions.
func (w *onnxWriter) newShape(x string, s []int64) string {
	if !w.TorchFlatten || len(s) < 2 || s[0] != -1 {
		return w.initInt64(w.fresh("shape"), s)
	}
	shape, batch, batch1, out := w.fresh("shape_of"), w.fresh("batch"), w.fresh("batch1"), w.fresh("new_shape")
	w.node("Shape", []string{x}, []string{shape})
	idx := w.fresh("zero")
	w.init(idx, nil, dtInt64, make([]byte, 8)) // scalar 0
	w.node("Gather", []string{shape, idx}, []string{batch}, ai("axis", 0))
	w.node("Unsqueeze", []string{batch, w.initInt64(w.fresh("axes"), []int64{0})}, []string{batch1})
	w.node("Concat", []string{batch1, w.initInt64(w.fresh("rest"), s[1:])}, []string{out}, ai("axis", 0))
	return out
}
