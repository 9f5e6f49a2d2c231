package tflite

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/cspipe/cspipe/internal/inference/graph"
)

// Quantized TFLite: the QuantizationParameters table of a tensor, INT8 and
// UINT8 constant data, and the QUANTIZE and DEQUANTIZE operators. UINT8
// tensors are mapped onto INT8 (data and zero point minus 128), which keeps
// every real value and every integer kernel's arithmetic.

// Tensor.quantization and the QuantizationParameters fields.
const (
	TensorQuantization = 4

	QuantMin       = 0
	QuantMax       = 1
	QuantScale     = 2
	QuantZeroPoint = 3
	QuantDimension = 6
)

// Builtin operator codes of the quantization operators.
const (
	OpDequantize = 6
	OpQuantize   = 114
)

// parseQuant reads t's quantization parameters, if any, and maps a UINT8
// tensor onto INT8.
func parseQuant(r *fbReader, tt fbTable, t *graph.Tensor, typ int) error {
	qt, ok := r.fieldTable(tt, TensorQuantization)
	if r.err != nil {
		return r.err
	}
	if ok {
		sv := r.fieldVector(qt, QuantScale, 4)
		zv := r.fieldVector(qt, QuantZeroPoint, 8)
		axis := int(r.fieldI32(qt, QuantDimension, 0))
		if r.err != nil {
			return r.err
		}
		if sv.n > 0 {
			if zv.n != sv.n {
				return fmt.Errorf("%d quantization scales and %d zero points", sv.n, zv.n)
			}
			if sv.n > 1 && (axis < 0 || axis >= len(t.Shape) || t.Shape[axis] != sv.n) {
				return fmt.Errorf("%d quantization scales on axis %d of shape %v", sv.n, axis, t.Shape)
			}
			q := &graph.Quant{Axis: axis, Scale: make([]float32, sv.n), ZeroPoint: make([]int32, sv.n)}
			for j := range q.Scale {
				q.Scale[j] = math.Float32frombits(binary.LittleEndian.Uint32(r.b[sv.start+4*j:]))
				z := int64(binary.LittleEndian.Uint64(r.b[zv.start+8*j:]))
				if z < -128 || z > 255 {
					return fmt.Errorf("quantization zero point %d out of range", z)
				}
				q.ZeroPoint[j] = int32(z)
			}
			t.Quant = q
		}
	}
	switch typ {
	case TypeInt8:
		if t.Quant == nil && !t.Const {
			return fmt.Errorf("INT8 activation without quantization parameters")
		}
	case TypeUint8:
		if t.Quant == nil {
			return fmt.Errorf("UINT8 tensor without quantization parameters")
		}
		t.DType = graph.Int8
		for j := range t.Quant.ZeroPoint {
			t.Quant.ZeroPoint[j] -= 128
		}
		for j, v := range t.Int8 {
			t.Int8[j] = int8(uint8(v) - 128)
		}
	}
	if t.Quant != nil && (typ == TypeInt8 || typ == TypeUint8) {
		for _, z := range t.Quant.ZeroPoint {
			if z < -128 || z > 127 {
				return fmt.Errorf("quantization zero point %d out of range for %s", z, typeName(typ))
			}
		}
	}
	return nil
}

// int8Data copies one-byte constant data.
func int8Data(data []byte) []int8 {
	out := make([]int8, len(data))
	for j, v := range data {
		out[j] = int8(v)
	}
	return out
}

// OpName names a builtin operator code (for other packages' errors).
func OpName(code int) string { return opName(code) }
