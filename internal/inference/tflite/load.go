// Package tflite reads TFLite model files (the FlatBuffers schema, version 3)
// into the engine's graph (internal/inference/graph) and plans them.
//
// The file is read with bounds-checked accessors of our own; anything the
// engine cannot run exactly — an operator, tensor type, shape, padding,
// fused activation or dilation it does not support — is refused by Load with
// an error naming it, so Run never meets an unknown case.
package tflite

import (
	"fmt"
	"slices"

	"github.com/cspipe/cspipe/internal/errclass"
	"github.com/cspipe/cspipe/internal/inference/graph"
)

// Load parses a TFLite model and plans it. Errors are permanent: the same
// bytes always fail the same way.
func Load(b []byte) (*graph.Model, error) {
	m, err := load(b)
	if err != nil {
		return nil, errclass.Permanent(fmt.Errorf("loading tflite model: %w", err))
	}
	return m, nil
}

func load(b []byte) (*graph.Model, error) {
	g, err := Read(b)
	if err != nil {
		return nil, err
	}
	return graph.Plan(g)
}

// Read parses a TFLite model into an unplanned graph.
func Read(b []byte) (*graph.Graph, error) {
	rg, err := parseFile(b)
	if err != nil {
		return nil, err
	}
	if len(rg.inputs) != 1 || len(rg.outputs) != 1 {
		return nil, fmt.Errorf("graph has %d inputs and %d outputs, want 1 and 1", len(rg.inputs), len(rg.outputs))
	}
	g := &graph.Graph{Tensors: rg.tensors, Input: rg.inputs[0], Output: rg.outputs[0], PackBudget: 8*rg.size + 1<<20}
	for i, t := range rg.tensors {
		if t.DType == graph.Unsupported {
			// Keep the file's own type name in what the planner reports.
			t.Name = fmt.Sprintf("%s (%s)", t.Name, typeName(rg.types[i]))
		}
	}
	folded, err := foldConstants(rg)
	if err != nil {
		return nil, err
	}
	for i, op := range rg.ops {
		if folded[i] {
			continue
		}
		name := fmt.Sprintf("operator %d (%s)", i, opName(op.code))
		for _, ti := range op.inputs {
			if ti >= 0 && rg.types[ti] == TypeFloat16 {
				return nil, fmt.Errorf("%s: input %q is FLOAT16; float16 weights are read only through a DEQUANTIZE (the converter's float16 quantization)", name, rg.tensors[ti].Name)
			}
		}
		if len(op.outputs) != 1 {
			return nil, fmt.Errorf("%s: %d outputs, want 1", name, len(op.outputs))
		}
		n, err := translate(rg, op)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		n.Name, n.Inputs, n.Output = name, op.inputs, op.outputs[0]
		if n.Op == graph.OpReshape || n.Op == graph.OpMean || n.Op == graph.OpPad {
			n.Inputs = op.inputs[:1] // the shape, axes or paddings are now attributes
		}
		g.Nodes = append(g.Nodes, n)
	}
	return g, nil
}

// translate maps one TFLite operator and its options to a graph node.
func translate(g *rawGraph, op rawOp) (graph.Node, error) {
	r := g.r
	var n graph.Node
	var act int
	var err error
	switch op.code {
	case OpConv2D, OpDepthwiseConv2D, OpFullyConnected:
		if err := hybrid(g, op); err != nil {
			return n, err
		}
	}
	switch op.code {
	case OpConv2D:
		o, err := options(op, OptConv2D)
		if err != nil {
			return n, err
		}
		n.Op = graph.OpConv2D
		n.Padding, err = padding(r.fieldU8(o, ConvPadding, 0))
		if err != nil {
			return n, err
		}
		n.StrideW, n.StrideH = int(r.fieldI32(o, ConvStrideW, 0)), int(r.fieldI32(o, ConvStrideH, 0))
		act = int(r.fieldU8(o, ConvActivation, 0))
		if err := dilation(r.fieldI32(o, ConvDilationW, 1), r.fieldI32(o, ConvDilationH, 1)); err != nil {
			return n, err
		}
	case OpDepthwiseConv2D:
		o, err := options(op, OptDepthwiseConv)
		if err != nil {
			return n, err
		}
		n.Op = graph.OpDepthwiseConv2D
		n.Padding, err = padding(r.fieldU8(o, DWPadding, 0))
		if err != nil {
			return n, err
		}
		n.StrideW, n.StrideH = int(r.fieldI32(o, DWStrideW, 0)), int(r.fieldI32(o, DWStrideH, 0))
		n.Multiplier = int(r.fieldI32(o, DWMultiplier, 0))
		act = int(r.fieldU8(o, DWActivation, 0))
		if err := dilation(r.fieldI32(o, DWDilationW, 1), r.fieldI32(o, DWDilationH, 1)); err != nil {
			return n, err
		}
	case OpAveragePool2D, OpMaxPool2D:
		o, err := options(op, OptPool2D)
		if err != nil {
			return n, err
		}
		n.Op = graph.OpAveragePool2D
		if op.code == OpMaxPool2D {
			n.Op = graph.OpMaxPool2D
		}
		n.Padding, err = padding(r.fieldU8(o, PoolPadding, 0))
		if err != nil {
			return n, err
		}
		n.StrideW, n.StrideH = int(r.fieldI32(o, PoolStrideW, 0)), int(r.fieldI32(o, PoolStrideH, 0))
		n.FilterW, n.FilterH = int(r.fieldI32(o, PoolFilterW, 0)), int(r.fieldI32(o, PoolFilterH, 0))
		act = int(r.fieldU8(o, PoolActivation, 0))
	case OpMean:
		n.Op = graph.OpMean
		if op.hasOpts {
			o, err := options(op, OptReducer)
			if err != nil {
				return n, err
			}
			n.KeepDims = r.fieldU8(o, ReducerKeepDims, 0) != 0
		}
		if n.Axes, err = constInts(g, op, 1, "axes", TypeInt32); err != nil {
			return n, err
		}
	case OpFullyConnected:
		n.Op = graph.OpFullyConnected
		if op.hasOpts {
			o, err := options(op, OptFullyConnected)
			if err != nil {
				return n, err
			}
			act = int(r.fieldU8(o, FCActivation, 0))
			if f := r.fieldU8(o, FCWeightsFmt, 0); f != 0 {
				return n, fmt.Errorf("unsupported weights format %d", f)
			}
			n.KeepDims = r.fieldU8(o, FCKeepNumDims, 0) != 0
		}
	case OpReshape:
		n.Op = graph.OpReshape
		switch {
		case len(op.inputs) == 2 && op.inputs[1] >= 0:
			if n.Shape, err = constInts(g, op, 1, "new shape", TypeInt32); err != nil {
				return n, err
			}
		case op.hasOpts:
			o, err := options(op, OptReshape)
			if err != nil {
				return n, err
			}
			n.Shape = r.fieldInts(o, ReshapeNewShape)
		default:
			return n, fmt.Errorf("no new shape")
		}
	case OpSqueeze:
		n.Op = graph.OpReshape
		var dims []int
		if op.hasOpts {
			o, err := options(op, OptSqueeze)
			if err != nil {
				return n, err
			}
			dims = r.fieldInts(o, SqueezeDims)
		}
		if r.err != nil {
			return n, r.err
		}
		if len(op.inputs) != 1 || op.inputs[0] < 0 {
			return n, fmt.Errorf("%d inputs, want 1", len(op.inputs))
		}
		if n.Shape, err = squeeze(g.tensors[op.inputs[0]].Shape, dims); err != nil {
			return n, err
		}
	case OpPad:
		n.Op = graph.OpPad
		if n.Paddings, err = constInts(g, op, 1, "paddings", TypeInt32, TypeInt64); err != nil {
			return n, err
		}
	case OpAdd, OpMul:
		n.Op, act = graph.OpAdd, 0
		want, field := OptAdd, AddActivation
		if op.code == OpMul {
			n.Op, want, field = graph.OpMul, OptMul, MulActivation
		}
		if op.hasOpts {
			o, err := options(op, want)
			if err != nil {
				return n, err
			}
			act = int(r.fieldU8(o, field, 0))
		}
	case OpConcatenation:
		o, err := options(op, OptConcatenation)
		if err != nil {
			return n, err
		}
		n.Op = graph.OpConcat
		n.Axis = int(r.fieldI32(o, ConcatAxis, 0))
		act = int(r.fieldU8(o, ConcatActivation, 0))
	case OpSoftmax:
		n.Op, n.Axis, n.Beta = graph.OpSoftmax, -1, 1
		if op.hasOpts {
			o, err := options(op, OptSoftmax)
			if err != nil {
				return n, err
			}
			n.Beta = r.fieldF32(o, SoftmaxBeta, 0)
		}
	case OpRelu:
		n.Op, n.Act = graph.OpClamp, &graph.Bounds{Lo: 0, Hi: graph.NoBounds.Hi}
	case OpRelu6:
		n.Op, n.Act = graph.OpClamp, &graph.Bounds{Lo: 0, Hi: 6}
	case OpReluN1To1:
		n.Op, n.Act = graph.OpClamp, &graph.Bounds{Lo: -1, Hi: 1}
	case OpLeakyRelu:
		o, err := options(op, OptLeakyRelu)
		if err != nil {
			return n, err
		}
		n.Op, n.Alpha = graph.OpLeakyRelu, r.fieldF32(o, LeakyReluAlpha, 0)
	case OpLogistic:
		n.Op = graph.OpLogistic
	case OpHardSwish:
		n.Op = graph.OpHardSwish
	case OpQuantize:
		n.Op = graph.OpQuantize
	case OpDequantize:
		n.Op = graph.OpDequantize
	default:
		return n, fmt.Errorf("unsupported operator %s", opName(op.code))
	}
	if r.err != nil {
		return n, r.err
	}
	if act != ActNone {
		b, err := activation(act)
		if err != nil {
			return n, err
		}
		n.Act = &b
	}
	return n, nil
}

// options returns the builtin options table after checking its union tag.
func options(op rawOp, want int) (fbTable, error) {
	if !op.hasOpts {
		return fbTable{}, fmt.Errorf("missing builtin options")
	}
	if op.optType != want {
		return fbTable{}, fmt.Errorf("builtin options of type %d, want %d", op.optType, want)
	}
	return op.opts, nil
}

func padding(p uint8) (graph.Padding, error) {
	switch p {
	case PaddingSame:
		return graph.PadSame, nil
	case PaddingValid:
		return graph.PadValid, nil
	}
	return 0, fmt.Errorf("unsupported padding %d", p)
}

func dilation(w, h int32) error {
	if w != 1 || h != 1 {
		return fmt.Errorf("unsupported dilation %dx%d (only 1)", h, w)
	}
	return nil
}

// activation maps a fused activation code to clamp bounds.
func activation(code int) (graph.Bounds, error) {
	switch code {
	case ActRelu:
		return graph.Bounds{Lo: 0, Hi: graph.NoBounds.Hi}, nil
	case ActReluN1To1:
		return graph.Bounds{Lo: -1, Hi: 1}, nil
	case ActRelu6:
		return graph.Bounds{Lo: 0, Hi: 6}, nil
	}
	names := map[int]string{4: "TANH", 5: "SIGN_BIT"}
	if n, ok := names[code]; ok {
		return graph.Bounds{}, fmt.Errorf("unsupported fused activation %s", n)
	}
	return graph.Bounds{}, fmt.Errorf("unsupported fused activation %d", code)
}

// constInts returns input i of op, which must be an integer constant of one
// of the given TFLite types.
func constInts(g *rawGraph, op rawOp, i int, what string, types ...int) ([]int, error) {
	if i >= len(op.inputs) || op.inputs[i] < 0 {
		return nil, fmt.Errorf("%s input is absent", what)
	}
	ti := op.inputs[i]
	t := g.tensors[ti]
	if !t.Const || !slices.Contains(types, g.types[ti]) {
		return nil, fmt.Errorf("%s must be an integer constant", what)
	}
	return slices.Clone(t.Ints), nil
}

// squeeze drops the given size-1 axes of shape, or all of them when dims is
// empty.
func squeeze(shape, dims []int) ([]int, error) {
	drop := make([]bool, len(shape))
	for _, d := range dims {
		if d < 0 {
			d += len(shape)
		}
		if d < 0 || d >= len(shape) || shape[d] != 1 {
			return nil, fmt.Errorf("cannot squeeze axis %d of shape %v", d, shape)
		}
		drop[d] = true
	}
	var out []int
	for i, d := range shape {
		if (len(dims) == 0 && d == 1) || drop[i] {
			continue
		}
		out = append(out, d)
	}
	return out, nil
}
