package tflite

import (
	"fmt"

	"github.com/cspipe/cspipe/internal/inference/graph"
)

// Quantized TFLite: the QuantizationParameters table of a tensor, INT8 and
// UINT8 constant data, and the QUANTIZE and DEQUANTIZE operators. UINT8
// tensors are mapped onto INT8 (data and zero point minus 128), which keeps
// every real value and every integer kernel's arithmetic.

// Builtin operator codes of the quantization operators.
const (
	OpDequantize = 6
	OpQuantize   = 114
)

// checkQuant checks t's quantization parameters against its type and maps
// a UINT8 tensor onto INT8.
func checkQuant(t *graph.Tensor, typ int) error {
	if q := t.Quant; q != nil {
		if len(q.ZeroPoint) != len(q.Scale) {
			return fmt.Errorf("%d quantization scales and %d zero points", len(q.Scale), len(q.ZeroPoint))
		}
		if len(q.Scale) > 1 && (q.Axis < 0 || q.Axis >= len(t.Shape) || t.Shape[q.Axis] != len(q.Scale)) {
			return fmt.Errorf("%d quantization scales on axis %d of shape %v", len(q.Scale), q.Axis, t.Shape)
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
