package tflite

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
)

// Limits that keep a hostile file from making Load allocate without bound.
const (
	maxTensors   = 1 << 14
	maxOperators = 1 << 14
	maxRank      = 6
	maxElements  = 1 << 28
)

// tensor is one tensor of the graph; constant tensors carry their data.
type tensor struct {
	name  string
	shape []int
	typ   int
	data  []float32 // float32 constants
	ints  []int     // int32/int64 constants
	konst bool
}

func (t *tensor) size() int { return numElements(t.shape) }

// rawOp is an operator as read from the file, before planning.
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
	tensors []*tensor
	ops     []rawOp
	inputs  []int
	outputs []int
	r       *fbReader

	packBudget int // floats of packed weights the planner may still allocate
}

// reservePacked charges the packed copy of an n×k weight matrix (columns
// padded to 32) against the budget, so a file cannot make Load allocate far
// more than its own size by pointing many operators at one weight tensor.
func (g *rawGraph) reservePacked(n, k int) error {
	need := (n + 31) / 32 * 32 * k
	if need > g.packBudget {
		return fmt.Errorf("weights would need %d more packed floats than the file size allows", need-g.packBudget)
	}
	g.packBudget -= need
	return nil
}

func itoa(v int) string { return strconv.Itoa(v) }

func numElements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

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
		return nil, fmt.Errorf("model has %d subgraphs, want exactly 1", subgraphs.n)
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
	g := &rawGraph{r: r, inputs: r.fieldInts(sg, SubGraphInputs), outputs: r.fieldInts(sg, SubGraphOutputs),
		packBudget: 8*len(b) + 1<<20}
	if r.err != nil {
		return nil, r.err
	}
	if tv.n > maxTensors || ov.n > maxOperators {
		return nil, fmt.Errorf("graph too large: %d tensors, %d operators", tv.n, ov.n)
	}
	for i := 0; i < tv.n; i++ {
		t, err := parseTensor(r, r.tableAt(tv, i), buffers, i)
		if err != nil {
			return nil, err
		}
		g.tensors = append(g.tensors, t)
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

func parseTensor(r *fbReader, tt fbTable, buffers fbVector, i int) (*tensor, error) {
	t := &tensor{
		name:  r.fieldString(tt, TensorName),
		shape: r.fieldInts(tt, TensorShape),
		typ:   int(r.fieldU8(tt, TensorType, 0)),
	}
	bi := int(r.fieldU32(tt, TensorBuffer, 0))
	if r.err != nil {
		return nil, fmt.Errorf("tensor %d: %w", i, r.err)
	}
	if len(t.shape) > maxRank {
		return nil, fmt.Errorf("tensor %d %q: rank %d above %d", i, t.name, len(t.shape), maxRank)
	}
	n := 1
	for _, d := range t.shape {
		if d <= 0 || d > maxElements || n*d > maxElements {
			return nil, fmt.Errorf("tensor %d %q: unsupported shape %v", i, t.name, t.shape)
		}
		n *= d
	}
	if bi == 0 {
		return t, nil
	}
	if bi >= buffers.n {
		return nil, fmt.Errorf("tensor %d %q: buffer index %d outside %d buffers", i, t.name, bi, buffers.n)
	}
	bt := r.tableAt(buffers, bi)
	data := r.fieldBytes(bt, BufferData)
	if p := r.field(bt, BufferOffset); p != 0 && r.err == nil {
		return nil, fmt.Errorf("tensor %d %q: external buffers (offset/size) are not supported", i, t.name)
	}
	if r.err != nil {
		return nil, fmt.Errorf("tensor %d %q buffer: %w", i, t.name, r.err)
	}
	if len(data) == 0 {
		return t, nil
	}
	t.konst = true
	switch t.typ {
	case TypeFloat32:
		if len(data) != 4*n {
			return nil, fmt.Errorf("tensor %d %q: %d data bytes for shape %v (FLOAT32)", i, t.name, len(data), t.shape)
		}
		t.data = make([]float32, n)
		for j := range t.data {
			t.data[j] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*j:]))
		}
	case TypeInt32:
		if len(data) != 4*n {
			return nil, fmt.Errorf("tensor %d %q: %d data bytes for shape %v (INT32)", i, t.name, len(data), t.shape)
		}
		t.ints = make([]int, n)
		for j := range t.ints {
			t.ints[j] = int(int32(binary.LittleEndian.Uint32(data[4*j:])))
		}
	case TypeInt64:
		if len(data) != 8*n {
			return nil, fmt.Errorf("tensor %d %q: %d data bytes for shape %v (INT64)", i, t.name, len(data), t.shape)
		}
		t.ints = make([]int, n)
		for j := range t.ints {
			v := int64(binary.LittleEndian.Uint64(data[8*j:]))
			if v > maxElements || v < -maxElements {
				return nil, fmt.Errorf("tensor %d %q: INT64 constant %d out of range", i, t.name, v)
			}
			t.ints[j] = int(v)
		}
	default:
		return nil, fmt.Errorf("tensor %d %q: unsupported tensor type %s", i, t.name, typeName(t.typ))
	}
	return t, nil
}
