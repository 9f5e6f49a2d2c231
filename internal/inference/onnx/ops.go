package onnx

import (
	"fmt"
	"slices"

	"github.com/cspipe/cspipe/internal/inference/graph"
)

// node translates one ONNX node.
func (r *reader) node(i int, n *protoNode) error {
	if n.domain == msDomain {
		return r.qlinearMS(i, n)
	}
	if ok, err := r.fold(i, n); ok || err != nil {
		return err
	}
	if !r.int8Mode {
		if ok, err := r.tryQDQ(i, n); ok || err != nil {
			return err
		}
		if int8Passthrough[n.opType] && len(n.inputs) > 0 {
			if v := r.values[n.inputs[0]]; v != nil && v.q != nil {
				r.int8Mode, r.outQuant = true, v.q
				defer func() { r.int8Mode, r.outQuant = false, nil }()
			}
		}
	}
	switch n.opType {
	case "QuantizeLinear":
		return r.quantizeLinear(i, n)
	case "DequantizeLinear":
		return r.dequantizeLinear(i, n)
	case "QLinearConv", "QLinearMatMul":
		return r.qlinear(i, n)
	case "Conv":
		return r.conv(i, n)
	case "Gemm", "MatMul":
		return r.gemm(i, n)
	case "Relu", "Clip":
		x, err := r.activation(n, 0)
		if err != nil {
			return err
		}
		b, ok := r.clipBounds(n)
		if !ok {
			return fmt.Errorf("clip limits must be scalar FLOAT constants with min <= max")
		}
		return r.add(i, n, graph.Node{Op: graph.OpClamp, Inputs: []int{x.tensor}, Act: &b}, x.nchw)
	case "LeakyRelu", "Sigmoid", "HardSwish", "HardSigmoid":
		x, err := r.activation(n, 0)
		if err != nil {
			return err
		}
		gn := graph.Node{Inputs: []int{x.tensor}}
		switch n.opType {
		case "LeakyRelu":
			gn.Op, gn.Alpha = graph.OpLeakyRelu, attrFloat(n, "alpha", 0.01)
		case "Sigmoid":
			gn.Op = graph.OpLogistic
		case "HardSwish":
			gn.Op = graph.OpHardSwish
		case "HardSigmoid":
			gn.Op, gn.Alpha, gn.Beta = graph.OpHardSigmoid, attrFloat(n, "alpha", 0.2), attrFloat(n, "beta", 0.5)
		}
		return r.add(i, n, gn, x.nchw)
	case "Add", "Mul", "Sub", "Div":
		return r.binary(i, n)
	case "BatchNormalization":
		return r.batchNorm(i, n)
	case "GlobalAveragePool":
		x, err := r.image(n)
		if err != nil {
			return err
		}
		return r.add(i, n, graph.Node{Op: graph.OpMean, Inputs: []int{x.tensor}, Axes: []int{1, 2}, KeepDims: true}, true)
	case "ReduceMean":
		return r.reduceMean(i, n)
	case "AveragePool", "MaxPool":
		return r.pool(i, n)
	case "Flatten", "Reshape", "Squeeze", "Unsqueeze":
		return r.reshape(i, n)
	case "Concat":
		return r.concat(i, n)
	case "Softmax":
		x, err := r.activation(n, 0)
		if err != nil {
			return err
		}
		rank := len(x.shape)
		axis := attrInt(n, "axis", map[bool]int64{true: -1, false: 1}[r.opset >= 13])
		if axis < 0 {
			axis += int64(rank)
		}
		if x.nchw || axis != int64(rank-1) {
			return fmt.Errorf("softmax over axis %d of a %v tensor; only the last axis of a [N classes] tensor is supported", axis, x.shape)
		}
		return r.add(i, n, graph.Node{Op: graph.OpSoftmax, Inputs: []int{x.tensor}, Axis: -1, Beta: 1}, false)
	case "Pad":
		return r.pad(i, n)
	case "Transpose":
		return r.transpose(i, n)
	case "Identity", "Dropout":
		v, err := r.rawIn(n, 0)
		if err != nil {
			return err
		}
		if n.opType == "Dropout" && len(n.outputs) > 1 && n.outputs[1] != "" {
			return fmt.Errorf("dropout mask output is not supported")
		}
		return r.set(i, n, v)
	case "Constant":
		a := n.attrs["value"]
		if a == nil || a.t == nil {
			return fmt.Errorf("only a tensor value is supported")
		}
		if len(n.outputs) != 1 {
			return fmt.Errorf("want one output")
		}
		return r.addConst(n.outputs[0], a.t)
	}
	return fmt.Errorf("unsupported operator %s", n.opType)
}

// image returns input 0 of n, which must be a 4-D activation.
func (r *reader) image(n *protoNode) (*value, error) {
	x, err := r.activation(n, 0)
	if err != nil {
		return nil, err
	}
	if !x.nchw {
		return nil, fmt.Errorf("input %q of shape %v is not an NCHW image", n.inputs[0], x.shape)
	}
	return x, nil
}

func (r *reader) binary(i int, n *protoNode) error {
	a, err := r.in(n, 0)
	if err != nil {
		return err
	}
	b, err := r.in(n, 1)
	if err != nil {
		return err
	}
	op := graph.OpAdd
	if n.opType == "Mul" || n.opType == "Div" {
		op = graph.OpMul
	}
	if n.opType == "Sub" || n.opType == "Div" {
		// x - c = x + (-c); x / c = x * (1/c): only with a constant divisor or subtrahend.
		if b.konst == nil || !b.konst.float {
			return fmt.Errorf("%s with a non-constant second operand is not supported", n.opType)
		}
		c := slices.Clone(b.konst.floats)
		for j, v := range c {
			if n.opType == "Sub" {
				c[j] = -v
			} else {
				c[j] = 1 / v
			}
		}
		b = &value{konst: &constant{float: true, floats: c}, shape: b.shape}
	}
	if a.konst != nil && b.konst != nil {
		return fmt.Errorf("both operands are constants (constant folding is not supported)")
	}
	nchw := (a.konst == nil && a.nchw) || (b.konst == nil && b.nchw)
	for _, v := range []*value{a, b} {
		if v.konst == nil && v.nchw != nchw {
			return fmt.Errorf("operands of shapes %v and %v mix an NCHW feature map with another layout", a.shape, b.shape)
		}
	}
	at, err := r.tensorOf(a, nchw)
	if err != nil {
		return err
	}
	bt, err := r.tensorOf(b, nchw)
	if err != nil {
		return err
	}
	return r.add(i, n, graph.Node{Op: op, Inputs: []int{at, bt}, Act: r.fuse[i].act}, nchw)
}

// nhwcAxis maps an NCHW axis to the engine's NHWC axis.
var nhwcAxis = []int{0, 3, 1, 2}

func (r *reader) reduceMean(i int, n *protoNode) error {
	x, err := r.activation(n, 0)
	if err != nil {
		return err
	}
	axes := attrInts(n, "axes")
	if len(n.inputs) > 1 && n.inputs[1] != "" {
		av, err := r.in(n, 1)
		if err != nil {
			return err
		}
		if av.konst == nil || av.konst.float {
			return fmt.Errorf("axes must be an integer constant")
		}
		axes = av.konst.ints
	}
	if len(axes) == 0 {
		return fmt.Errorf("reducing over all axes is not supported")
	}
	keep := attrInt(n, "keepdims", 1) != 0
	rank := len(x.shape)
	var mapped []int
	spatial := true
	for _, a := range axes {
		if a < 0 {
			a += int64(rank)
		}
		if a < 0 || a >= int64(rank) {
			return fmt.Errorf("axis %d outside rank %d", a, rank)
		}
		spatial = spatial && (a == 2 || a == 3)
		if x.nchw {
			mapped = append(mapped, nhwcAxis[a])
		} else {
			mapped = append(mapped, int(a))
		}
	}
	switch {
	case !x.nchw, keep:
		return r.add(i, n, graph.Node{Op: graph.OpMean, Inputs: []int{x.tensor}, Axes: mapped, KeepDims: keep}, x.nchw)
	case spatial && len(axes) == 2:
		return r.add(i, n, graph.Node{Op: graph.OpMean, Inputs: []int{x.tensor}, Axes: mapped}, false)
	}
	return fmt.Errorf("reducing axes %v of an NCHW feature map without keepdims is not supported", axes)
}

func (r *reader) pool(i int, n *protoNode) error {
	x, err := r.image(n)
	if err != nil {
		return err
	}
	if attrInt(n, "ceil_mode", 0) != 0 {
		return fmt.Errorf("unsupported ceil_mode 1")
	}
	if len(n.outputs) > 1 {
		return fmt.Errorf("MaxPool indices output is not supported")
	}
	gn := graph.Node{Op: graph.OpAveragePool2D, Inputs: []int{x.tensor}}
	if n.opType == "MaxPool" {
		gn.Op = graph.OpMaxPool2D
	}
	gn.CountIncludePad = attrInt(n, "count_include_pad", 0) != 0
	if err := window(n, &gn, x.shape[2], x.shape[3], attrInts(n, "kernel_shape")); err != nil {
		return err
	}
	return r.add(i, n, gn, true)
}

// reshape handles Flatten, Reshape, Squeeze and Unsqueeze where the data
// order does not change between NCHW and NHWC: a feature map of 1x1 pixels
// and plain tensors.
func (r *reader) reshape(i int, n *protoNode) error {
	x, err := r.activation(n, 0)
	if err != nil {
		return err
	}
	if x.nchw && (x.shape[2] != 1 || x.shape[3] != 1) {
		return fmt.Errorf("%s of a %v feature map needs the NCHW element order; only 1x1 maps are supported", n.opType, x.shape)
	}
	in := x.shape
	var shape []int
	switch n.opType {
	case "Flatten":
		axis := int(attrInt(n, "axis", 1))
		if axis < 0 {
			axis += len(in)
		}
		if axis < 0 || axis > len(in) {
			return fmt.Errorf("axis %d outside rank %d", axis, len(in))
		}
		shape = []int{graph.NumElements(in[:axis]), graph.NumElements(in[axis:])}
	case "Reshape":
		sv, err := r.in(n, 1)
		if err != nil {
			return err
		}
		if sv.konst == nil || sv.konst.float || len(sv.konst.ints) > maxRank {
			return fmt.Errorf("shape must be an integer constant of rank at most %d", maxRank)
		}
		allowZero := attrInt(n, "allowzero", 0) != 0
		for j, d := range sv.konst.ints {
			switch {
			case d == 0 && !allowZero:
				if j >= len(in) {
					return fmt.Errorf("shape %v copies dimension %d of %v", sv.konst.ints, j, in)
				}
				shape = append(shape, in[j])
			case d == -1 || (d > 0 && d <= maxElements):
				shape = append(shape, int(d))
			default:
				return fmt.Errorf("unsupported shape %v", sv.konst.ints)
			}
		}
		if len(shape) > 0 && shape[0] == -1 && len(in) > 0 && in[0] == 1 {
			shape[0] = 1 // the batch dimension
		}
	case "Squeeze", "Unsqueeze":
		axes := attrInts(n, "axes")
		if len(n.inputs) > 1 && n.inputs[1] != "" {
			av, err := r.in(n, 1)
			if err != nil {
				return err
			}
			if av.konst == nil || av.konst.float {
				return fmt.Errorf("axes must be an integer constant")
			}
			axes = av.konst.ints
		}
		if shape, err = squeezeShape(n.opType == "Squeeze", in, axes); err != nil {
			return err
		}
	}
	if len(shape) > 0 && shape[0] != 1 && shape[0] != -1 {
		return fmt.Errorf("new shape %v does not keep the batch dimension first", shape)
	}
	nchw := len(shape) == 4
	phys := shape
	if nchw {
		phys = []int{shape[0], shape[2], shape[3], shape[1]}
		if !(shape[2] == 1 && shape[3] == 1) {
			return fmt.Errorf("%s to a %v feature map needs the NCHW element order; only 1x1 maps are supported", n.opType, shape)
		}
	}
	return r.add(i, n, graph.Node{Op: graph.OpReshape, Inputs: []int{x.tensor}, Shape: phys}, nchw)
}

func squeezeShape(squeeze bool, in []int, axes []int64) ([]int, error) {
	if squeeze {
		drop := map[int]bool{}
		for _, a := range axes {
			if a < 0 {
				a += int64(len(in))
			}
			if a < 0 || a >= int64(len(in)) || in[a] != 1 {
				return nil, fmt.Errorf("cannot squeeze axis %d of %v", a, in)
			}
			drop[int(a)] = true
		}
		var out []int
		for j, d := range in {
			if (len(axes) == 0 && d == 1 && j > 0) || drop[j] {
				continue
			}
			out = append(out, d)
		}
		return out, nil
	}
	rank := len(in) + len(axes)
	if rank > maxRank {
		return nil, fmt.Errorf("unsqueezed rank %d above %d", rank, maxRank)
	}
	ins := map[int]bool{}
	for _, a := range axes {
		if a < 0 {
			a += int64(rank)
		}
		if a < 0 || a >= int64(rank) {
			return nil, fmt.Errorf("axis %d outside rank %d", a, rank)
		}
		ins[int(a)] = true
	}
	var out []int
	k := 0
	for j := 0; j < rank; j++ {
		if ins[j] {
			out = append(out, 1)
			continue
		}
		if k >= len(in) {
			return nil, fmt.Errorf("duplicate axes %v", axes)
		}
		out = append(out, in[k])
		k++
	}
	return out, nil
}

func (r *reader) concat(i int, n *protoNode) error {
	if len(n.inputs) == 0 {
		return fmt.Errorf("no inputs")
	}
	first, err := r.activation(n, 0)
	if err != nil {
		return err
	}
	axis := int(attrInt(n, "axis", 1))
	if axis < 0 {
		axis += len(first.shape)
	}
	if axis < 0 || axis >= len(first.shape) {
		return fmt.Errorf("axis %d outside rank %d", axis, len(first.shape))
	}
	var ins []int
	for j := range n.inputs {
		v, err := r.in(n, j)
		if err != nil {
			return err
		}
		if v.konst == nil && v.nchw != first.nchw {
			return fmt.Errorf("inputs mix an NCHW feature map with another layout")
		}
		t, err := r.tensorOf(v, first.nchw)
		if err != nil {
			return err
		}
		ins = append(ins, t)
	}
	if first.nchw {
		axis = nhwcAxis[axis]
	}
	return r.add(i, n, graph.Node{Op: graph.OpConcat, Inputs: ins, Axis: axis}, first.nchw)
}

func (r *reader) pad(i int, n *protoNode) error {
	x, err := r.activation(n, 0)
	if err != nil {
		return err
	}
	if m := attrString(n, "mode", "constant"); m != "constant" {
		return fmt.Errorf("unsupported pad mode %q (only constant)", m)
	}
	pads := attrInts(n, "pads")
	value := attrFloat(n, "value", 0)
	if r.opset >= 11 {
		pv, err := r.in(n, 1)
		if err != nil {
			return err
		}
		if pv.konst == nil || pv.konst.float {
			return fmt.Errorf("pads must be an integer constant")
		}
		pads = pv.konst.ints
		if len(n.inputs) > 2 && n.inputs[2] != "" {
			cv, err := r.in(n, 2)
			if err != nil {
				return err
			}
			if cv.konst == nil || !cv.konst.float || len(cv.konst.floats) != 1 {
				return fmt.Errorf("constant_value must be a scalar FLOAT constant")
			}
			value = cv.konst.floats[0]
		}
		if len(n.inputs) > 3 && n.inputs[3] != "" {
			return fmt.Errorf("pad axes input is not supported")
		}
	}
	rank := len(x.shape)
	if len(pads) != 2*rank {
		return fmt.Errorf("%d pads for rank %d", len(pads), rank)
	}
	// ONNX: all begins, then all ends, in logical axis order.
	phys := make([]int, 2*rank)
	for a := 0; a < rank; a++ {
		p := a
		if x.nchw {
			p = nhwcAxis[a]
		}
		if pads[a] < 0 || pads[a+rank] < 0 || pads[a] > 1<<16 || pads[a+rank] > 1<<16 {
			return fmt.Errorf("unsupported pads %v", pads)
		}
		phys[2*p], phys[2*p+1] = int(pads[a]), int(pads[a+rank])
	}
	return r.add(i, n, graph.Node{Op: graph.OpPad, Inputs: []int{x.tensor}, Paddings: phys, PadValue: value}, x.nchw)
}

// transpose supports only the layout changes between NHWC and NCHW, which
// are free: the data stays NHWC.
func (r *reader) transpose(i int, n *protoNode) error {
	x, err := r.rawIn(n, 0)
	if err != nil {
		return err
	}
	if x.konst != nil {
		return fmt.Errorf("input %q is a constant, want an activation (constant folding is not supported)", n.inputs[0])
	}
	y, err := relayout(x, attrInts(n, "perm"))
	if err != nil {
		return err
	}
	return r.set(i, n, y)
}

// relayout is x seen through a layout Transpose (the data stays NHWC); a
// quantized value keeps its parameters and a DequantizeLinear output stays
// uncomputed.
func relayout(x *value, perm []int64) (*value, error) {
	s := x.shape
	y := *x
	switch {
	case !x.nchw && len(s) == 4 && slices.Equal(perm, []int64{0, 3, 1, 2}):
		y.nchw, y.shape = true, []int{s[0], s[3], s[1], s[2]}
	case x.nchw && slices.Equal(perm, []int64{0, 2, 3, 1}):
		y.nchw, y.shape = false, []int{s[0], s[2], s[3], s[1]}
	default:
		return nil, fmt.Errorf("unsupported transpose %v of a %v tensor (only NHWC<->NCHW)", perm, x.shape)
	}
	if x.deq != nil && !x.deqDone {
		d, err := relayout(x.deq, perm)
		if err != nil {
			return nil, err
		}
		y.deq = d
	}
	return &y, nil
}
