// Package onnx reads ONNX models (the protobuf encoding, read with our own
// bounds-checked decoder) into the engine's graph (internal/inference/graph)
// and plans them.
//
// ONNX graphs are NCHW; the engine is NHWC. The reader keeps every 4-D
// activation in NHWC and maps each operator's axes, weights and constants
// onto that layout at load, so Run takes NHWC images like the TFLite path:
// a model whose input is [N,C,H,W] (PyTorch's export) runs on NHWC images
// of the same size, and one whose input is NHWC followed by a Transpose to
// NCHW (tf2onnx's export) needs no change either. Batch normalization is
// folded into the preceding convolution and Relu/Clip into the operator
// before them; the engine's graph-level fusions (activations, zero pads,
// residual ADDs, 1x1 expansions into depthwise convolutions) then run over
// the whole graph when the builder finishes, as for a TFLite model, so the
// same network plans to the same operators from either file. Quantized
// models, in the QDQ and QOperator forms, run on the engine's int8
// operators (quant.go, qlinear.go). An operator, attribute or layout the
// engine cannot run exactly is refused at load with an error naming it.
package onnx

import (
	"fmt"
	"slices"

	"github.com/cspipe/cspipe/internal/errclass"
	"github.com/cspipe/cspipe/internal/inference/graph"
)

// Load parses and plans an ONNX model. Errors are permanent: the same bytes
// always fail the same way.
func Load(b []byte) (*graph.Model, error) {
	m, err := load(b)
	if err != nil {
		return nil, errclass.Permanent(fmt.Errorf("loading onnx model: %w", err))
	}
	return m, nil
}

// Opset versions of the default domain the reader knows.
const (
	minOpset = 7
	maxOpset = 21
)

func load(b []byte) (*graph.Model, error) {
	pm, err := parseModel(b)
	if err != nil {
		return nil, err
	}
	opset := int64(-1)
	for domain, v := range pm.opsets {
		if domain != "" && domain != "ai.onnx" {
			continue // checked per node: only nodes of the domain matter
		}
		opset = v
	}
	if opset < minOpset || opset > maxOpset {
		return nil, fmt.Errorf("unsupported opset version %d of the default domain (want %d to %d)", opset, minOpset, maxOpset)
	}
	r := &reader{opset: opset, pg: pm.graph, values: map[string]*value{}, packBudget: 8*len(b) + 1<<20}
	return r.translate()
}

// value is an ONNX value: a constant (data, logical shape) or a graph tensor.
// A 4-D activation is logically NCHW and stored NHWC (nchw set).
type value struct {
	konst  *constant
	tensor int
	nchw   bool
	shape  []int // logical (ONNX) shape

	// q is set when tensor holds INT8 data (UINT8 mapped onto INT8) with
	// these per-tensor parameters; see quant.go.
	q *qparams
	// deq is set for the output of a DequantizeLinear of an INT8
	// activation: the float value is only computed (a DEQUANTIZE node) when
	// an operator that does not run on INT8 reads it.
	deq     *value
	deqDone bool
}

type constant struct {
	floats []float32
	ints   []int64
	float  bool
	dt     int64   // ONNX element type of the stored data
	q      *qconst // set for DequantizeLinear of quantized data (floats then hold the real values)
}

type reader struct {
	opset      int64
	pg         *protoGraph
	values     map[string]*value
	b          *graph.Builder
	packBudget int
	uses       map[string]int // how many node inputs read each value
	outputs    map[string]bool
	skip       map[int]bool   // nodes folded into others
	fuse       map[int]fused  // what a node's producer absorbs
	rename     map[int]string // node index -> output name after fusing

	// Quantized models (quant.go): int8Mode makes in() return the INT8
	// tensors behind DequantizeLinear outputs, and add() give the node an
	// INT8 output with outQuant's parameters.
	int8Mode bool
	outQuant *qparams
	consumer map[string][]int // value name -> nodes reading it
}

// fused is what the translator folds into a node from the nodes after it.
type fused struct {
	bn        *protoNode // BatchNormalization after a Conv
	act       *graph.Bounds
	hardSwish bool // HardSwish after a Conv (and its batch norm)
}

func (r *reader) translate() (*graph.Model, error) {
	pg := r.pg
	for _, t := range pg.inits {
		if err := r.addConst(t.name, t); err != nil {
			return nil, err
		}
	}
	var inputs []*valueInfo
	for _, vi := range pg.inputs {
		if _, isConst := r.values[vi.name]; !isConst {
			inputs = append(inputs, vi)
		}
	}
	if len(inputs) != 1 || len(pg.outputs) != 1 {
		return nil, fmt.Errorf("graph has %d inputs and %d outputs, want 1 and 1", len(inputs), len(pg.outputs))
	}
	in := inputs[0]
	if in.elemType != dtFloat {
		return nil, fmt.Errorf("input %q: element type %s, want FLOAT", in.name, dtName(in.elemType))
	}
	if len(in.dims) != 4 {
		return nil, fmt.Errorf("input %q: shape %v, want 4 dimensions (an image batch)", in.name, in.dims)
	}
	if in.dims[0] > 1 {
		return nil, fmt.Errorf("input %q: fixed batch size %d; export with a symbolic or unit batch dimension", in.name, in.dims[0])
	}
	for _, d := range in.dims[1:] {
		if d <= 0 || d > 1<<16 {
			return nil, fmt.Errorf("input %q: shape %v, want fixed image dimensions", in.name, in.dims)
		}
	}
	r.uses, r.outputs, r.consumer = map[string]int{}, map[string]bool{pg.outputs[0].name: true}, map[string][]int{}
	for i, n := range pg.nodes {
		for _, s := range n.inputs {
			r.uses[s]++
			if !slices.Contains(r.consumer[s], i) {
				r.consumer[s] = append(r.consumer[s], i)
			}
		}
	}
	// NHWC input followed by Transposes to NCHW (tf2onnx), or NCHW input.
	nhwc := r.uses[in.name] > 0
	for _, n := range pg.nodes {
		if slices.Contains(n.inputs, in.name) {
			perm := n.attrs["perm"]
			nhwc = nhwc && n.opType == "Transpose" && perm != nil && slices.Equal(perm.ints, []int64{0, 3, 1, 2})
		}
	}
	h, w, c := int(in.dims[2]), int(in.dims[3]), int(in.dims[1])
	if nhwc {
		h, w, c = int(in.dims[1]), int(in.dims[2]), int(in.dims[3])
	}
	b, err := graph.NewBuilder(in.name, h, w, c, r.packBudget)
	if err != nil {
		return nil, err
	}
	r.b = b
	if nhwc {
		r.values[in.name] = &value{tensor: b.Input(), shape: []int{1, h, w, c}}
	} else {
		r.values[in.name] = &value{tensor: b.Input(), nchw: true, shape: []int{1, c, h, w}}
	}
	r.planFusion()
	for i, n := range pg.nodes {
		if r.skip[i] {
			continue
		}
		if n.domain != "" && n.domain != "ai.onnx" && n.domain != msDomain {
			return nil, fmt.Errorf("node %d (%s): unsupported operator %s of domain %q", i, n.opType, n.opType, n.domain)
		}
		if err := r.node(i, n); err != nil {
			return nil, fmt.Errorf("node %d %q (%s): %w", i, n.name, n.opType, err)
		}
	}
	out, ok := r.values[pg.outputs[0].name]
	if !ok || out.konst != nil {
		return nil, fmt.Errorf("graph output %q is not computed by an operator", pg.outputs[0].name)
	}
	switch {
	case out.deq != nil && !out.deqDone:
		if err := r.materialize(pg.outputs[0].name, out); err != nil {
			return nil, err
		}
	case out.q != nil:
		// An INT8 graph output: the engine returns its real values.
		t, err := b.Add(graph.Node{Op: graph.OpDequantize, Name: "output DEQUANTIZE", Inputs: []int{out.tensor}}, pg.outputs[0].name+"_float")
		if err != nil {
			return nil, err
		}
		out = &value{tensor: t, nchw: out.nchw, shape: out.shape}
	}
	if out.nchw && (out.shape[2] != 1 || out.shape[3] != 1) {
		return nil, fmt.Errorf("graph output %q is a %v feature map; the engine returns class scores", pg.outputs[0].name, out.shape)
	}
	return b.Finish(out.tensor)
}

// planFusion finds BatchNormalization and HardSwish nodes that fold into
// the Conv before them and Relu/Clip nodes that fold into the Conv, Gemm,
// Add or Mul before them, where the intermediate value has no other reader.
func (r *reader) planFusion() {
	r.skip, r.fuse, r.rename = map[int]bool{}, map[int]fused{}, map[int]string{}
	producer := map[string]int{}
	for i, n := range r.pg.nodes {
		for _, o := range n.outputs {
			producer[o] = i
		}
	}
	single := func(s string) (int, bool) {
		p, ok := producer[s]
		return p, ok && r.uses[s] == 1 && !r.outputs[s] && !r.skip[p]
	}
	for i, n := range r.pg.nodes {
		if len(n.inputs) == 0 || len(n.outputs) != 1 {
			continue
		}
		p, ok := single(n.inputs[0])
		if !ok {
			continue
		}
		pn := r.pg.nodes[p]
		switch {
		case n.opType == "BatchNormalization" && pn.opType == "Conv" && r.fuse[p].bn == nil && r.fuse[p].act == nil && !r.fuse[p].hardSwish &&
			len(n.inputs) == 5 && r.constsReady(n.inputs[1:]):
			f := r.fuse[p]
			f.bn = n
			r.fuse[p] = f
			r.skip[i] = true
			r.rename[p] = n.outputs[0]
		case n.opType == "HardSwish" && pn.opType == "Conv" && r.fuse[p].act == nil && !r.fuse[p].hardSwish:
			f := r.fuse[p]
			f.hardSwish = true
			r.fuse[p] = f
			r.skip[i] = true
			r.rename[p] = n.outputs[0]
		case (n.opType == "Relu" || n.opType == "Clip") && r.fuse[p].act == nil && !r.fuse[p].hardSwish &&
			(pn.opType == "Conv" || pn.opType == "Gemm" || pn.opType == "Add" || pn.opType == "Mul"):
			bounds, ok := r.clipBounds(n)
			if !ok {
				continue
			}
			f := r.fuse[p]
			f.act = &bounds
			r.fuse[p] = f
			r.skip[i] = true
			r.rename[p] = n.outputs[0]
		default:
			continue
		}
		producer[n.outputs[0]] = p
	}
}

func (r *reader) constsReady(names []string) bool {
	for _, s := range names {
		if v, ok := r.values[s]; !ok || v.konst == nil || !v.konst.float {
			return false
		}
	}
	return true
}

// clipBounds returns the bounds of a Relu or a Clip whose limits are
// constants.
func (r *reader) clipBounds(n *protoNode) (graph.Bounds, bool) {
	if n.opType == "Relu" {
		return graph.Bounds{Lo: 0, Hi: graph.NoBounds.Hi}, true
	}
	b := graph.NoBounds
	if r.opset < 11 {
		if a := n.attrs["min"]; a != nil {
			b.Lo = a.f
		}
		if a := n.attrs["max"]; a != nil {
			b.Hi = a.f
		}
		return b, b.Lo <= b.Hi
	}
	for i, s := range n.inputs[1:] {
		if s == "" {
			continue
		}
		v, ok := r.values[s]
		if !ok || v.konst == nil || !v.konst.float || len(v.konst.floats) != 1 {
			return b, false
		}
		if i == 0 {
			b.Lo = v.konst.floats[0]
		} else {
			b.Hi = v.konst.floats[0]
		}
	}
	return b, b.Lo <= b.Hi
}

func (r *reader) addConst(name string, t *protoTensor) error {
	if _, dup := r.values[name]; dup {
		return fmt.Errorf("value %q defined twice", name)
	}
	shape := make([]int, len(t.dims))
	for i, d := range t.dims {
		shape[i] = int(d)
	}
	c := &constant{float: t.dataType == dtFloat, floats: t.floats, ints: t.ints, dt: t.dataType}
	r.values[name] = &value{konst: c, shape: shape}
	return nil
}

// in returns input i of n, which must exist.
func (r *reader) in(n *protoNode, i int) (*value, error) {
	if i >= len(n.inputs) || n.inputs[i] == "" {
		return nil, fmt.Errorf("input %d is missing", i)
	}
	v, ok := r.values[n.inputs[i]]
	if !ok {
		return nil, fmt.Errorf("input %q is not defined before the node", n.inputs[i])
	}
	if r.int8Mode {
		if v.deq != nil {
			return v.deq, nil
		}
		return v, nil
	}
	if v.q != nil {
		return nil, fmt.Errorf("input %q is quantized (%s); this operator only runs on FLOAT (add a DequantizeLinear before it)", n.inputs[i], v.q)
	}
	if v.deq != nil && !v.deqDone {
		if err := r.materialize(n.inputs[i], v); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// activation returns input i of n, which must be a computed tensor.
func (r *reader) activation(n *protoNode, i int) (*value, error) {
	v, err := r.in(n, i)
	if err != nil {
		return nil, err
	}
	if v.konst != nil {
		return nil, fmt.Errorf("input %q is a constant, want an activation (constant folding is not supported)", n.inputs[i])
	}
	return v, nil
}

// set records the node's output value.
func (r *reader) set(i int, n *protoNode, v *value) error {
	if len(n.outputs) < 1 || n.outputs[0] == "" {
		return fmt.Errorf("no output")
	}
	out := n.outputs[0]
	if s, ok := r.rename[i]; ok {
		out = s
	}
	if _, dup := r.values[out]; dup {
		return fmt.Errorf("value %q defined twice", out)
	}
	r.values[out] = v
	return nil
}

// add plans a graph node and records it as n's output with the given
// logical shape computed from the engine's.
func (r *reader) add(i int, n *protoNode, gn graph.Node, nchw bool) error {
	gn.Name = fmt.Sprintf("node %d %q (%s)", i, n.name, n.opType)
	if r.outQuant != nil {
		return r.addQuant(i, n, gn, nchw, r.outQuant)
	}
	t, err := r.b.Add(gn, n.outputs[0])
	if err != nil {
		return err
	}
	return r.set(i, n, r.valueOf(t, nchw))
}

// valueOf describes engine tensor t; nchw says a 4-D tensor is logically
// NCHW.
func (r *reader) valueOf(t int, nchw bool) *value {
	s := r.b.Shape(t)
	v := &value{tensor: t, nchw: nchw && len(s) == 4, shape: slices.Clone(s)}
	if v.nchw {
		v.shape = []int{s[0], s[3], s[1], s[2]}
	}
	return v
}

// tensorOf returns the engine tensor for v, adding constants in the layout
// the consumer needs: for an NCHW consumer a constant's logical shape is
// right-aligned to [N C H W] and stored as NHWC.
func (r *reader) tensorOf(v *value, nchw bool) (int, error) {
	if v.konst == nil {
		return v.tensor, nil
	}
	if !v.konst.float {
		return 0, fmt.Errorf("integer constant used as a float operand")
	}
	if !nchw {
		return r.b.Const(&graph.Tensor{Shape: slices.Clone(v.shape), DType: graph.Float32, Float: v.konst.floats})
	}
	if len(v.shape) > 4 {
		return 0, fmt.Errorf("constant of rank %d against a 4-D feature map", len(v.shape))
	}
	d := []int{1, 1, 1, 1}
	copy(d[4-len(v.shape):], v.shape)
	n, c, h, w := d[0], d[1], d[2], d[3]
	data := make([]float32, len(v.konst.floats))
	for a := 0; a < n; a++ {
		for ch := 0; ch < c; ch++ {
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					data[((a*h+y)*w+x)*c+ch] = v.konst.floats[((a*c+ch)*h+y)*w+x]
				}
			}
		}
	}
	return r.b.Const(&graph.Tensor{Shape: []int{n, h, w, c}, DType: graph.Float32, Float: data})
}

// Attribute accessors with ONNX defaults.

func attrInt(n *protoNode, name string, def int64) int64 {
	if a := n.attrs[name]; a != nil && a.has[attrI] {
		return a.i
	}
	return def
}

func attrFloat(n *protoNode, name string, def float32) float32 {
	if a := n.attrs[name]; a != nil && a.has[attrFField] {
		return a.f
	}
	return def
}

func attrInts(n *protoNode, name string) []int64 {
	if a := n.attrs[name]; a != nil {
		return a.ints
	}
	return nil
}

func attrString(n *protoNode, name, def string) string {
	if a := n.attrs[name]; a != nil && a.has[attrS] {
		return string(a.s)
	}
	return def
}
