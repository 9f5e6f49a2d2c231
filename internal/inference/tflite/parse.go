package tflite

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"

	"github.com/cspipe/cspipe/internal/inference/graph"
)

// Limits that keep a hostile file from making Load allocate without bound.
const (
	maxTensors   = graph.MaxTensors
	maxOperators = graph.MaxNodes
	maxRank      = graph.MaxRank
	maxElements  = graph.MaxElements
)

// rawOp is an operator as read from the file, before translation.
type rawOp struct {
	code    int
	inputs  []int
	outputs []int
	optType int
	opts    fbTable
	hasOpts bool
}

// rawGraph is the first subgraph of a model file.
type rawGraph struct {
	tensors []*graph.Tensor
	types   []int // TFLite tensor type per tensor, for error messages
	ops     []rawOp
	inputs  []int
	outputs []int
	r       *fbReader
	size    int // file size
}

func itoa(v int) string { return strconv.Itoa(v) }

// parseFile reads the flatbuffer into a rawGraph, checking every offset.
func parseFile(b []byte) (*rawGraph, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("file too short (%d bytes)", len(b))
	}
	if string(b[4:8]) != FileIdentifier {
		return nil, fmt.Errorf("not a TFLite file: identifier %q, want %q", b[4:8], FileIdentifier)
	}
	r := &fbReader{b: b}
	model := r.root()
	if v := r.fieldU32(model, ModelVersion, 0); r.err == nil && v != 3 {
		return nil, fmt.Errorf("unsupported schema version %d", v)
	}
	codes := r.fieldVector(model, ModelOperatorCodes, 4)
	subgraphs := r.fieldVector(model, ModelSubgraphs, 4)
	buffers := r.fieldVector(model, ModelBuffers, 4)
	if r.err != nil {
		return nil, r.err
	}
	if subgraphs.n != 1 {
		return nil, fmt.Errorf("model has %d subgraphs, want exactly 1 (control flow such as WHILE, IF or CALL_ONCE initializers is not supported; an image classifier converts to one subgraph)", subgraphs.n)
	}
	opcodes := make([]int, codes.n)
	for i := range opcodes {
		oc := r.tableAt(codes, i)
		dep := int(int8(r.fieldU8(oc, OpCodeDeprecatedBuiltin, 0)))
		code := int(r.fieldI32(oc, OpCodeBuiltin, 0))
		opcodes[i] = max(dep, code)
	}
	if r.err != nil {
		return nil, r.err
	}
	sg := r.tableAt(subgraphs, 0)
	tv := r.fieldVector(sg, SubGraphTensors, 4)
	ov := r.fieldVector(sg, SubGraphOperators, 4)
	g := &rawGraph{r: r, inputs: r.fieldInts(sg, SubGraphInputs), outputs: r.fieldInts(sg, SubGraphOutputs), size: len(b)}
	if r.err != nil {
		return nil, r.err
	}
	if tv.n > maxTensors || ov.n > maxOperators {
		return nil, fmt.Errorf("graph too large: %d tensors, %d operators", tv.n, ov.n)
	}
	for i := 0; i < tv.n; i++ {
		t, typ, err := parseTensor(r, r.tableAt(tv, i), buffers, i)
		if err != nil {
			return nil, err
		}
		g.tensors = append(g.tensors, t)
		g.types = append(g.types, typ)
	}
	for i := 0; i < ov.n; i++ {
		ot := r.tableAt(ov, i)
		idx := int(r.fieldU32(ot, OperatorOpcodeIndex, 0))
		op := rawOp{
			inputs:  r.fieldInts(ot, OperatorInputs),
			outputs: r.fieldInts(ot, OperatorOutputs),
			optType: int(r.fieldU8(ot, OperatorBuiltinOptionsType, 0)),
		}
		op.opts, op.hasOpts = r.fieldTable(ot, OperatorBuiltinOptions)
		if r.err != nil {
			return nil, fmt.Errorf("operator %d: %w", i, r.err)
		}
		if idx >= len(opcodes) {
			return nil, fmt.Errorf("operator %d: opcode index %d outside %d codes", i, idx, len(opcodes))
		}
		op.code = opcodes[idx]
		for _, ti := range append(append([]int(nil), op.inputs...), op.outputs...) {
			if ti < -1 || ti >= len(g.tensors) {
				return nil, fmt.Errorf("operator %d (%s): tensor index %d outside %d tensors", i, opName(op.code), ti, len(g.tensors))
			}
		}
		g.ops = append(g.ops, op)
	}
	for _, ti := range append(append([]int(nil), g.inputs...), g.outputs...) {
		if ti < 0 || ti >= len(g.tensors) {
			return nil, fmt.Errorf("graph input/output tensor index %d outside %d tensors", ti, len(g.tensors))
		}
	}
	return g, nil
}

func parseTensor(r *fbReader, tt fbTable, buffers fbVector, i int) (*graph.Tensor, int, error) {
	typ := int(r.fieldU8(tt, TensorType, 0))
	t := &graph.Tensor{
		Name:  r.fieldString(tt, TensorName),
		Shape: r.fieldInts(tt, TensorShape),
		DType: dtype(typ),
	}
	bi := int(r.fieldU32(tt, TensorBuffer, 0))
	if r.field(tt, TensorSparsity) != 0 && r.err == nil {
		return nil, 0, fmt.Errorf("tensor %d %q: sparse weights (sparsity parameters, DENSIFY) are not supported; convert without sparsity", i, t.Name)
	}
	if qt, ok := r.fieldTable(tt, TensorQuantization); ok {
		t.Quant = parseQuant(r, qt)
	}
	if r.err != nil {
		return nil, 0, fmt.Errorf("tensor %d: %w", i, r.err)
	}
	if len(t.Shape) > maxRank {
		return nil, 0, fmt.Errorf("tensor %d %q: rank %d above %d", i, t.Name, len(t.Shape), maxRank)
	}
	n := 1
	for _, d := range t.Shape {
		if d < 0 {
			return nil, 0, fmt.Errorf("tensor %d %q: shape %v has an unknown dimension; convert with fixed sizes (a batch of -1 belongs in shape_signature, which the engine reads as 1)", i, t.Name, t.Shape)
		}
		if d == 0 || d > maxElements || n*d > maxElements {
			return nil, 0, fmt.Errorf("tensor %d %q: unsupported shape %v", i, t.Name, t.Shape)
		}
		n *= d
	}
	if bi == 0 {
		return t, typ, quantErr(checkQuant(t, typ), i, t.Name)
	}
	if bi >= buffers.n {
		return nil, 0, fmt.Errorf("tensor %d %q: buffer index %d outside %d buffers", i, t.Name, bi, buffers.n)
	}
	bt := r.tableAt(buffers, bi)
	data := r.fieldBytes(bt, BufferData)
	if off := r.fieldU64(bt, BufferOffset, 0); off > 1 && r.err == nil {
		// Data stored after the flatbuffer, at an offset from the file's
		// start (files above 2 GB, and converters that always lay weights
		// out this way). Offset 1 is the converters' "no data" marker.
		size := r.fieldU64(bt, BufferSize, 0)
		if len(data) != 0 || off > uint64(len(r.b)) || size > uint64(len(r.b))-off {
			return nil, 0, fmt.Errorf("tensor %d %q: buffer %d at offset %d (+%d bytes) outside the %d-byte file", i, t.Name, bi, off, size, len(r.b))
		}
		data = r.b[off : off+size]
	}
	if r.err != nil {
		return nil, 0, fmt.Errorf("tensor %d %q buffer: %w", i, t.Name, r.err)
	}
	if len(data) == 0 {
		return t, typ, quantErr(checkQuant(t, typ), i, t.Name)
	}
	t.Const = true
	switch typ {
	case TypeFloat32:
		if len(data) != 4*n {
			return nil, 0, fmt.Errorf("tensor %d %q: %d data bytes for shape %v (FLOAT32)", i, t.Name, len(data), t.Shape)
		}
		t.Float = make([]float32, n)
		for j := range t.Float {
			t.Float[j] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*j:]))
		}
	case TypeInt32:
		if len(data) != 4*n {
			return nil, 0, fmt.Errorf("tensor %d %q: %d data bytes for shape %v (INT32)", i, t.Name, len(data), t.Shape)
		}
		t.Ints = make([]int, n)
		for j := range t.Ints {
			t.Ints[j] = int(int32(binary.LittleEndian.Uint32(data[4*j:])))
		}
	case TypeInt64:
		if len(data) != 8*n {
			return nil, 0, fmt.Errorf("tensor %d %q: %d data bytes for shape %v (INT64)", i, t.Name, len(data), t.Shape)
		}
		t.Ints = make([]int, n)
		for j := range t.Ints {
			v := int64(binary.LittleEndian.Uint64(data[8*j:]))
			if v > maxElements || v < -maxElements {
				return nil, 0, fmt.Errorf("tensor %d %q: INT64 constant %d out of range", i, t.Name, v)
			}
			t.Ints[j] = int(v)
		}
	case TypeFloat16:
		// Float16 weights: only a DEQUANTIZE may read them (fold.go).
		if len(data) != 2*n {
			return nil, 0, fmt.Errorf("tensor %d %q: %d data bytes for shape %v (FLOAT16)", i, t.Name, len(data), t.Shape)
		}
		t.Float = make([]float32, n)
		for j := range t.Float {
			t.Float[j] = halfToFloat(binary.LittleEndian.Uint16(data[2*j:]))
		}
	case TypeInt8, TypeUint8:
		if len(data) != n {
			return nil, 0, fmt.Errorf("tensor %d %q: %d data bytes for shape %v (%s)", i, t.Name, len(data), t.Shape, typeName(typ))
		}
		t.Int8 = int8Data(data)
	default:
		return nil, 0, fmt.Errorf("tensor %d %q: unsupported tensor type %s", i, t.Name, typeName(typ))
	}
	return t, typ, quantErr(checkQuant(t, typ), i, t.Name)
}

func quantErr(err error, i int, name string) error {
	if err != nil {
		return fmt.Errorf("tensor %d %q: %w", i, name, err)
	}
	return nil
}

// dtype maps a TFLite tensor type to the graph's.
func dtype(typ int) graph.DType {
	switch typ {
	case TypeFloat32:
		return graph.Float32
	case TypeInt32:
		return graph.Int32
	case TypeInt64:
		return graph.Int64
	case TypeUint8:
		return graph.Uint8
	case TypeInt8:
		return graph.Int8
	}
	return graph.Unsupported
}

// parseQuant reads a tensor's affine quantization parameters, or returns
// nil when the table carries none (float tensors often have an empty one).
func parseQuant(r *fbReader, qt fbTable) *graph.Quant {
	scale := r.fieldFloats(qt, QuantScale)
	zp := r.fieldInt64s(qt, QuantZeroPoint)
	axis := int(r.fieldI32(qt, QuantDimension, 0))
	if r.err != nil || len(scale) == 0 {
		return nil
	}
	q := &graph.Quant{Scale: scale, Axis: axis, ZeroPoint: make([]int32, len(zp))}
	for j, z := range zp {
		q.ZeroPoint[j] = int32(max(min(z, 1<<31-1), -1<<31))
	}
	return q
}
