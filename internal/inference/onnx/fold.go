package onnx

import (
	"fmt"
	"slices"
)

// Shape arithmetic that exporters leave in the graph when the batch
// dimension is symbolic: PyTorch's x.view(x.size(0), -1) exports as
// Shape -> Gather -> Unsqueeze -> Concat -> Reshape, and tf2onnx writes
// Shape -> Slice -> Concat chains for Keras reshapes. The engine plans one
// image at a time with every shape fixed at load, so these nodes compute
// constants: the reader folds them to integer constants (the batch
// dimension reads as 1, which Reshape keeps first), and Reshape sees a
// constant shape. Only integer data is folded; anything else reaches the
// operator's own translation, which refuses what it cannot run.

// foldable are the operators fold may turn into constants.
var foldable = map[string]bool{"Shape": true, "Gather": true, "Unsqueeze": true, "Squeeze": true, "Concat": true,
	"Cast": true, "Slice": true, "Add": true, "Sub": true, "Mul": true, "Div": true}

// fold records n's output as a constant when n computes one from integer
// constants (or from a value's shape); ok reports whether it did.
func (r *reader) fold(i int, n *protoNode) (bool, error) {
	if !foldable[n.opType] || len(n.inputs) == 0 || len(n.outputs) != 1 {
		return false, nil
	}
	if n.opType == "Shape" {
		x, ok := r.values[n.inputs[0]]
		if !ok {
			return false, nil
		}
		s := make([]int64, len(x.shape))
		for j, d := range x.shape {
			s[j] = int64(d)
		}
		start := clampAxis(attrInt(n, "start", 0), len(s))
		end := clampAxis(attrInt(n, "end", int64(len(s))), len(s))
		s = s[start:max(start, end)]
		return true, r.setConst(i, n, intConst(s, []int{len(s)}))
	}
	// Every other foldable operator: all present inputs integer constants.
	var ins []*value
	for _, s := range n.inputs {
		if s == "" {
			ins = append(ins, nil)
			continue
		}
		v, ok := r.values[s]
		if !ok || v.konst == nil || v.konst.float || v.konst.q != nil {
			return false, nil
		}
		ins = append(ins, v)
	}
	x := ins[0]
	if x == nil {
		return false, nil
	}
	switch n.opType {
	case "Cast":
		switch attrInt(n, "to", 0) {
		case dtInt64, dtInt32:
			return true, r.setConst(i, n, intConst(slices.Clone(x.konst.ints), slices.Clone(x.shape)))
		}
		return false, nil
	case "Squeeze", "Unsqueeze":
		axes := attrInts(n, "axes")
		if len(ins) > 1 && ins[1] != nil {
			axes = ins[1].konst.ints
		}
		shape, err := squeezeShape(n.opType == "Squeeze", x.shape, axes)
		if err != nil {
			return false, err
		}
		if n.opType == "Squeeze" && len(axes) == 0 { // squeeze every 1, the first too
			shape = shape[:0]
			for _, d := range x.shape {
				if d != 1 {
					shape = append(shape, d)
				}
			}
		}
		return true, r.setConst(i, n, intConst(slices.Clone(x.konst.ints), shape))
	case "Gather":
		if len(ins) != 2 || ins[1] == nil || len(x.shape) != 1 || attrInt(n, "axis", 0) != 0 {
			return false, nil
		}
		var out []int64
		for _, k := range ins[1].konst.ints {
			if k < 0 {
				k += int64(len(x.konst.ints))
			}
			if k < 0 || k >= int64(len(x.konst.ints)) {
				return false, fmt.Errorf("index %d outside %d values", k, len(x.konst.ints))
			}
			out = append(out, x.konst.ints[k])
		}
		return true, r.setConst(i, n, intConst(out, slices.Clone(ins[1].shape)))
	case "Concat":
		axis := attrInt(n, "axis", 0)
		var out []int64
		for _, v := range ins {
			if v == nil || len(v.shape) != 1 || (axis != 0 && axis != -1) {
				return false, nil
			}
			out = append(out, v.konst.ints...)
		}
		return true, r.setConst(i, n, intConst(out, []int{len(out)}))
	case "Slice":
		return r.foldSlice(i, n, ins)
	}
	// Add, Sub, Mul, Div of integer scalars or equal-shape vectors.
	if len(ins) != 2 || ins[1] == nil {
		return false, nil
	}
	a, b := x.konst.ints, ins[1].konst.ints
	shape := x.shape
	if len(a) == 1 && len(b) > 1 {
		shape = ins[1].shape
	} else if len(b) != 1 && len(a) != len(b) {
		return false, nil
	}
	out := make([]int64, max(len(a), len(b)))
	for j := range out {
		p, q := a[min(j, len(a)-1)], b[min(j, len(b)-1)]
		if p > maxElements || p < -maxElements || q > maxElements || q < -maxElements {
			return false, fmt.Errorf("integer operands %d, %d out of range", p, q)
		}
		switch n.opType {
		case "Add":
			out[j] = p + q
		case "Sub":
			out[j] = p - q
		case "Mul":
			out[j] = p * q
		case "Div":
			if q == 0 {
				return false, fmt.Errorf("integer division by zero")
			}
			out[j] = p / q
		}
		if out[j] > maxElements || out[j] < -maxElements {
			return false, fmt.Errorf("integer %d out of range", out[j])
		}
	}
	return true, r.setConst(i, n, intConst(out, slices.Clone(shape)))
}

// foldSlice slices a constant integer vector (opset 10+: starts, ends,
// axes and steps are inputs; before: attributes).
func (r *reader) foldSlice(i int, n *protoNode, ins []*value) (bool, error) {
	x := ins[0]
	if len(x.shape) != 1 {
		return false, nil
	}
	starts, ends, axes := attrInts(n, "starts"), attrInts(n, "ends"), attrInts(n, "axes")
	steps := []int64{1}
	input := func(k int) []int64 {
		if k < len(ins) && ins[k] != nil {
			return ins[k].konst.ints
		}
		return nil
	}
	if r.opset >= 10 {
		starts, ends, axes = input(1), input(2), input(3)
		if s := input(4); s != nil {
			steps = s
		}
	}
	if len(starts) != 1 || len(ends) != 1 || len(steps) != 1 || (len(axes) > 0 && (len(axes) != 1 || (axes[0] != 0 && axes[0] != -1))) {
		return false, nil
	}
	nv := int64(len(x.konst.ints))
	step := steps[0]
	if step == 0 {
		return false, fmt.Errorf("slice step 0")
	}
	// A step longer than the vector takes at most one element; bounding it
	// keeps the index arithmetic below from overflowing.
	step = min(max(step, -nv-1), nv+1)
	clamp := func(v, lo, hi int64) int64 {
		if v < 0 {
			v += nv
		}
		return min(max(v, lo), hi)
	}
	var out []int64
	if step > 0 {
		for j := clamp(starts[0], 0, nv); j < clamp(ends[0], 0, nv); j += step {
			out = append(out, x.konst.ints[j])
		}
	} else {
		for j := clamp(starts[0], 0, nv-1); j > clamp(ends[0], -1, nv-1); j += step {
			out = append(out, x.konst.ints[j])
		}
	}
	return true, r.setConst(i, n, intConst(out, []int{len(out)}))
}

// clampAxis maps a Shape start/end onto 0..rank.
func clampAxis(a int64, rank int) int {
	if a < 0 {
		a += int64(rank)
	}
	return int(min(max(a, 0), int64(rank)))
}

// intConst is an INT64 constant value.
func intConst(v []int64, shape []int) *value {
	if v == nil {
		v = []int64{}
	}
	return &value{konst: &constant{ints: v, dt: dtInt64}, shape: shape}
}
