package tflite

import (
	"fmt"
	"math"
	"slices"

	"github.com/cspipe/cspipe/internal/inference/graph"
)

// Forms that real converters write and our own generator did not: weights
// stored as FLOAT16 (or INT8) behind a DEQUANTIZE, and the SHAPE,
// STRIDED_SLICE and PACK chain that Keras emits to compute the new shape of
// a RESHAPE (Flatten). All of them compute constants, so the reader folds
// them at load: the operator disappears and its output becomes a constant
// tensor, exactly as TFLite's interpreter computes it. Anything else in
// those operators (a non-constant input, a mask the fold does not handle)
// is left to translate, which refuses the operator by name.

// Builtin operator codes of the folded operators.
const (
	OpStridedSlice = 45
	OpShape        = 77
	OpPack         = 83
)

// Builtin options of the folded operators and their fields.
const (
	OptStridedSlice = 32
	OptShape        = 55
	OptPack         = 59

	SliceBeginMask    = 0
	SliceEndMask      = 1
	SliceEllipsisMask = 2
	SliceNewAxisMask  = 3
	SliceShrinkMask   = 4
	SliceOffset       = 5

	ShapeOutType = 0

	PackValuesCount = 0
	PackAxis        = 1
)

// foldConstants folds every operator of rg that computes a constant from
// constants, in execution order, and reports which it folded.
func foldConstants(rg *rawGraph) ([]bool, error) {
	folded := make([]bool, len(rg.ops))
	for i, op := range rg.ops {
		if len(op.outputs) != 1 || op.outputs[0] < 0 {
			continue
		}
		var ok bool
		var err error
		switch op.code {
		case OpDequantize:
			ok, err = foldDequantize(rg, op)
		case OpShape:
			ok, err = foldShape(rg, op)
		case OpStridedSlice:
			ok, err = foldStridedSlice(rg, op)
		case OpPack:
			ok, err = foldPack(rg, op)
		}
		if err != nil {
			return nil, fmt.Errorf("operator %d (%s): %w", i, opName(op.code), err)
		}
		folded[i] = ok
	}
	return folded, nil
}

// constIn returns input k of op when it is a constant.
func constIn(rg *rawGraph, op rawOp, k int) (*graph.Tensor, int, bool) {
	if k >= len(op.inputs) || op.inputs[k] < 0 {
		return nil, 0, false
	}
	t := rg.tensors[op.inputs[k]]
	return t, rg.types[op.inputs[k]], t.Const
}

// setConst turns op's output into a constant of the given data.
func setConst(rg *rawGraph, op rawOp, t *graph.Tensor, typ int) error {
	o := op.outputs[0]
	old := rg.tensors[o]
	if old.Const {
		return fmt.Errorf("output %q already holds data", old.Name)
	}
	if len(old.Shape) != 0 && graph.NumElements(old.Shape) != t.Size() {
		return fmt.Errorf("output %q declared with shape %v, computed %v", old.Name, old.Shape, t.Shape)
	}
	t.Name, t.Const = old.Name, true
	rg.tensors[o], rg.types[o] = t, typ
	return nil
}

// foldDequantize turns a DEQUANTIZE of constant FLOAT16, INT8 or UINT8
// weights into FLOAT32 weights. TFLite computes the same values: a float16
// widens exactly, and scale*(q-zero point) is one rounding of an exact
// product either way.
func foldDequantize(rg *rawGraph, op rawOp) (bool, error) {
	in, typ, ok := constIn(rg, op, 0)
	if !ok {
		return false, nil
	}
	out := &graph.Tensor{Shape: slices.Clone(in.Shape), DType: graph.Float32}
	switch typ {
	case TypeFloat16:
		out.Float = slices.Clone(in.Float)
	case TypeInt8, TypeUint8:
		q := in.Quant
		if q == nil {
			return false, fmt.Errorf("constant %q has no quantization parameters", in.Name)
		}
		out.Float = make([]float32, len(in.Int8))
		inner := 1 // elements per step of the quantized axis
		if len(q.Scale) > 1 {
			inner = graph.NumElements(in.Shape[q.Axis+1:])
		}
		for j, v := range in.Int8 {
			c := (j / inner) % len(q.Scale)
			out.Float[j] = q.Scale[c] * float32(int32(v)-q.ZeroPoint[c])
		}
	default:
		return false, nil
	}
	return true, setConst(rg, op, out, TypeFloat32)
}

// foldShape turns SHAPE of a tensor whose shape the file fixes into an
// integer constant. Batch dimensions are 1 in the file's shapes (a
// dynamic batch is only in shape_signature), as the engine plans them.
func foldShape(rg *rawGraph, op rawOp) (bool, error) {
	if len(op.inputs) != 1 || op.inputs[0] < 0 {
		return false, nil
	}
	in := rg.tensors[op.inputs[0]]
	typ := TypeInt32
	if op.hasOpts && op.optType == OptShape && rg.r.fieldU8(op.opts, ShapeOutType, TypeInt32) == TypeInt64 {
		typ = TypeInt64
	}
	out := &graph.Tensor{Shape: []int{len(in.Shape)}, DType: dtype(typ), Ints: slices.Clone(in.Shape)}
	if out.Ints == nil {
		out.Ints = []int{}
	}
	return true, setConst(rg, op, out, typ)
}

// foldStridedSlice slices a constant integer vector (the SHAPE output) with
// constant begin, end and strides. Masks other than begin, end and
// shrink-axis are left to translate, which refuses the operator.
func foldStridedSlice(rg *rawGraph, op rawOp) (bool, error) {
	x, xt, ok0 := constIn(rg, op, 0)
	b, _, ok1 := constIn(rg, op, 1)
	e, _, ok2 := constIn(rg, op, 2)
	s, _, ok3 := constIn(rg, op, 3)
	if !ok0 || !ok1 || !ok2 || !ok3 || len(x.Shape) != 1 || x.Ints == nil || !op.hasOpts || op.optType != OptStridedSlice {
		return false, nil
	}
	r := rg.r
	bm, em := r.fieldI32(op.opts, SliceBeginMask, 0), r.fieldI32(op.opts, SliceEndMask, 0)
	shrink := r.fieldI32(op.opts, SliceShrinkMask, 0)
	if r.fieldI32(op.opts, SliceEllipsisMask, 0) != 0 || r.fieldI32(op.opts, SliceNewAxisMask, 0) != 0 || r.fieldU8(op.opts, SliceOffset, 0) != 0 ||
		len(b.Ints) != 1 || len(e.Ints) != 1 || len(s.Ints) != 1 || s.Ints[0] == 0 || r.err != nil {
		return false, nil
	}
	n, stride := len(x.Ints), s.Ints[0]
	clampIndex := func(v, lo, hi int) int {
		if v < 0 {
			v += n
		}
		return min(max(v, lo), hi)
	}
	var begin, end int
	if stride > 0 {
		begin, end = clampIndex(b.Ints[0], 0, n), clampIndex(e.Ints[0], 0, n)
		if bm&1 != 0 {
			begin = 0
		}
		if em&1 != 0 {
			end = n
		}
	} else {
		begin, end = clampIndex(b.Ints[0], -1, n-1), clampIndex(e.Ints[0], -1, n-1)
		if bm&1 != 0 {
			begin = n - 1
		}
		if em&1 != 0 {
			end = -1
		}
	}
	out := &graph.Tensor{DType: dtype(xt), Ints: []int{}}
	if shrink&1 != 0 {
		if begin < 0 || begin >= n {
			return false, fmt.Errorf("shrunk index %d outside a vector of %d", b.Ints[0], n)
		}
		out.Ints = []int{x.Ints[begin]}
		return true, setConst(rg, op, out, xt)
	}
	for j := begin; (stride > 0 && j < end) || (stride < 0 && j > end); j += stride {
		out.Ints = append(out.Ints, x.Ints[j])
	}
	out.Shape = []int{len(out.Ints)}
	return true, setConst(rg, op, out, xt)
}

// foldPack stacks constant integer scalars or vectors along axis 0.
func foldPack(rg *rawGraph, op rawOp) (bool, error) {
	if !op.hasOpts || op.optType != OptPack || rg.r.fieldI32(op.opts, PackAxis, 0) != 0 || len(op.inputs) == 0 {
		return false, nil
	}
	var shape []int
	var typ int
	out := &graph.Tensor{Ints: []int{}}
	for k := range op.inputs {
		t, tt, ok := constIn(rg, op, k)
		if !ok || t.Ints == nil || (k > 0 && (!slices.Equal(t.Shape, shape) || tt != typ)) {
			return false, nil
		}
		shape, typ = t.Shape, tt
		out.Ints = append(out.Ints, t.Ints...)
	}
	out.Shape = append([]int{len(op.inputs)}, shape...)
	out.DType = dtype(typ)
	return true, setConst(rg, op, out, typ)
}

// hybrid refuses a dynamic-range ("hybrid") quantized operator: FLOAT32
// activations with INT8 weights, which TFLite runs by quantizing the
// activations on the fly.
func hybrid(rg *rawGraph, op rawOp) error {
	if len(op.inputs) < 2 || op.inputs[0] < 0 || op.inputs[1] < 0 {
		return nil
	}
	x, w := rg.tensors[op.inputs[0]], rg.tensors[op.inputs[1]]
	wt := rg.types[op.inputs[1]]
	if x.DType == graph.Float32 && !x.Const && w.Const && (wt == TypeInt8 || wt == TypeUint8) {
		return fmt.Errorf("hybrid (dynamic-range) quantization: FLOAT32 activations with %s weights %q are not supported; "+
			"convert with full-integer quantization (a representative dataset) or keep float32/float16 weights", typeName(wt), w.Name)
	}
	return nil
}

// halfToFloat widens an IEEE 754 binary16 value exactly.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := int(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // infinity or NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp != 0:
		return math.Float32frombits(sign | uint32(exp-15+127)<<23 | frac<<13)
	case frac == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal: frac * 2^-24.
	v := float32(frac) / (1 << 24)
	if sign != 0 {
		v = -v
	}
	return v
}
