package onnx

import (
	"fmt"

	"github.com/cspipe/cspipe/internal/inference/graph"
)

// msDomain is the domain of onnxruntime's contrib operators.
const msDomain = "com.microsoft"

// qint8In returns input k of a QLinear operator, an INT8 activation whose
// parameters must be the ones the operator declares in inputs si and zi.
func (r *reader) qint8In(n *protoNode, k, si, zi int) (*value, error) {
	x, err := r.rawIn(n, k)
	if err != nil {
		return nil, err
	}
	if x.deq != nil {
		x = x.deq
	}
	if x.q == nil {
		return nil, fmt.Errorf("input %q is not quantized (want the INT8 or UINT8 output of a QuantizeLinear or QLinear operator)", n.inputs[k])
	}
	p, err := r.scaleZP(n, si, zi)
	if err != nil {
		return nil, err
	}
	if !p.same(x.q) {
		return nil, fmt.Errorf("input %q: declared parameters (%s) differ from its producer's (%s), which is not supported", n.inputs[k], p, x.q)
	}
	return x, nil
}

// qlinearWeights reads constant weights k with scale si and zero point zi
// along axis 0 of a QLinear operator.
func (r *reader) qlinearWeights(n *protoNode, k, si, zi, axis int) (*value, *qconst, error) {
	w, err := r.rawIn(n, k)
	if err != nil {
		return nil, nil, err
	}
	if w.konst == nil {
		return nil, nil, fmt.Errorf("weights %q must be a constant", n.inputs[k])
	}
	sc, err := r.rawIn(n, si)
	if err != nil {
		return nil, nil, err
	}
	var zc *value
	if zi < len(n.inputs) && n.inputs[zi] != "" {
		if zc, err = r.rawIn(n, zi); err != nil {
			return nil, nil, err
		}
	}
	c, err := quantConst(w, sc, zc, int64(axis))
	if err != nil {
		return nil, nil, fmt.Errorf("weights %q: %w", n.inputs[k], err)
	}
	if c.int32 {
		return nil, nil, fmt.Errorf("weights %q: want INT8 or UINT8 data", n.inputs[k])
	}
	return w, c, nil
}

// qlinearBias reads QLinearConv's optional INT32 bias (at the input scale
// times the weight scale by definition).
func (r *reader) qlinearBias(n *protoNode, k int, inScale float32, wq *qconst, cout int) (*value, error) {
	if k >= len(n.inputs) || n.inputs[k] == "" {
		return nil, nil
	}
	b, err := r.rawIn(n, k)
	if err != nil {
		return nil, err
	}
	if b.konst == nil || b.konst.dt != dtInt32 || len(b.konst.ints) != cout {
		return nil, fmt.Errorf("bias %q must be an INT32 constant of %d values", n.inputs[k], cout)
	}
	ws := channelScales(wq, cout)
	c := &qconst{int32: true, data: b.konst.ints, scale: make([]float32, cout), zp: make([]int32, cout)}
	fl := make([]float32, cout)
	for j := range c.scale {
		c.scale[j] = float32(float64(inScale) * float64(ws[j]))
		fl[j] = c.scale[j] * float32(c.data[j])
	}
	return &value{konst: &constant{float: true, dt: dtFloat, floats: fl, q: c}, shape: []int{cout}}, nil
}

// qlinear translates the QOperator-form operators of the default domain.
func (r *reader) qlinear(i int, n *protoNode) error {
	switch n.opType {
	case "QLinearConv":
		x, err := r.qint8In(n, 0, 1, 2)
		if err != nil {
			return err
		}
		w, wq, err := r.qlinearWeights(n, 3, 4, 5, 0)
		if err != nil {
			return err
		}
		p, err := r.scaleZP(n, 6, 7)
		if err != nil {
			return err
		}
		if len(w.shape) != 4 {
			return fmt.Errorf("weights must be 4-D, got shape %v", w.shape)
		}
		bias, err := r.qlinearBias(n, 8, x.q.scale, wq, w.shape[0])
		if err != nil {
			return err
		}
		return r.int8Conv(i, n, x, wq, w.shape, bias, p)
	case "QLinearMatMul":
		x, err := r.qint8In(n, 0, 1, 2)
		if err != nil {
			return err
		}
		w, wq, err := r.qlinearWeights(n, 3, 4, 5, 1)
		if err != nil {
			return err
		}
		p, err := r.scaleZP(n, 6, 7)
		if err != nil {
			return err
		}
		return r.int8FC(i, n, x, wq, w.shape, false, nil, p)
	}
	return fmt.Errorf("unsupported operator %s", n.opType)
}

// qlinearMS translates onnxruntime's contrib QLinear operators.
func (r *reader) qlinearMS(i int, n *protoNode) error {
	name := fmt.Sprintf("node %d %q (%s)", i, n.name, n.opType)
	switch n.opType {
	case "QLinearAdd", "QLinearMul":
		a, err := r.qint8In(n, 0, 1, 2)
		if err != nil {
			return err
		}
		b, err := r.qint8In(n, 3, 4, 5)
		if err != nil {
			return err
		}
		p, err := r.scaleZP(n, 6, 7)
		if err != nil {
			return err
		}
		if a.nchw != b.nchw || len(a.shape) != len(b.shape) {
			return fmt.Errorf("operands of shapes %v and %v: broadcasting is not supported on INT8", a.shape, b.shape)
		}
		for j := range a.shape {
			if a.shape[j] != b.shape[j] {
				return fmt.Errorf("operands of shapes %v and %v: broadcasting is not supported on INT8", a.shape, b.shape)
			}
		}
		op := graph.OpAdd
		if n.opType == "QLinearMul" {
			op = graph.OpMul
		}
		return r.addQuant(i, n, graph.Node{Op: op, Name: name, Inputs: []int{a.tensor, b.tensor}, Act: r.fuse[i].act}, a.nchw, p)
	case "QLinearGlobalAveragePool":
		x, err := r.qint8In(n, 0, 1, 2)
		if err != nil {
			return err
		}
		if attrInt(n, "channels_last", 0) != 0 {
			return fmt.Errorf("channels_last 1 is not supported")
		}
		if !x.nchw {
			return fmt.Errorf("input %q of shape %v is not an NCHW image", n.inputs[0], x.shape)
		}
		p, err := r.scaleZP(n, 3, 4)
		if err != nil {
			return err
		}
		return r.addQuant(i, n, graph.Node{Op: graph.OpMean, Name: name, Inputs: []int{x.tensor}, Axes: []int{1, 2}, KeepDims: true, QLinearMean: true}, true, p)
	case "QLinearConcat":
		p, err := r.scaleZP(n, 0, 1)
		if err != nil {
			return err
		}
		if len(n.inputs) < 5 || (len(n.inputs)-2)%3 != 0 {
			return fmt.Errorf("%d inputs, want the output parameters and (X, scale, zero point) triples", len(n.inputs))
		}
		var ins []int
		var first *value
		for k := 2; k < len(n.inputs); k += 3 {
			x, err := r.qint8In(n, k, k+1, k+2)
			if err != nil {
				return err
			}
			if first == nil {
				first = x
			}
			if x.nchw != first.nchw || len(x.shape) != len(first.shape) {
				return fmt.Errorf("inputs mix layouts or ranks")
			}
			ins = append(ins, x.tensor)
		}
		axis := int(attrInt(n, "axis", 1))
		if axis < 0 {
			axis += len(first.shape)
		}
		if axis < 0 || axis >= len(first.shape) {
			return fmt.Errorf("axis %d outside rank %d", axis, len(first.shape))
		}
		if first.nchw {
			axis = nhwcAxis[axis]
		}
		return r.addQuant(i, n, graph.Node{Op: graph.OpConcat, Name: name, Inputs: ins, Axis: axis}, first.nchw, p)
	}
	return fmt.Errorf("unsupported operator %s of domain %q (the engine runs QLinearAdd, QLinearMul, QLinearGlobalAveragePool and QLinearConcat from it)", n.opType, n.domain)
}

// int8Passthrough are the operators that run on an INT8 activation as they
// are, keeping its parameters (QOperator models apply them to QLinear
// outputs).
var int8Passthrough = map[string]bool{"MaxPool": true, "Flatten": true, "Reshape": true, "Squeeze": true, "Unsqueeze": true}
