package graph

import (
	"fmt"
	"slices"
)

// AddQuant plans n like Add, but with a new INT8 output tensor carrying the
// per-tensor quantization parameters q: the ONNX reader builds quantized
// operators (QuantizeLinear, QDQ groups, QLinear operators) with it. The
// planner runs n on INT8 data when its first input is INT8, and a QUANTIZE
// from FLOAT32.
func (b *Builder) AddQuant(n Node, name string, q Quant) (int, error) {
	if len(q.Scale) != 1 || len(q.ZeroPoint) != 1 {
		return 0, fmt.Errorf("%s: output %q: want per-tensor quantization parameters, got %d scales", n.Name, name, len(q.Scale))
	}
	if len(b.g.Tensors) >= MaxTensors {
		return 0, fmt.Errorf("graph too large: more than %d tensors", MaxTensors)
	}
	q.Scale, q.ZeroPoint = slices.Clone(q.Scale), slices.Clone(q.ZeroPoint)
	b.g.Tensors = append(b.g.Tensors, &Tensor{Name: name, DType: Int8, Quant: &q})
	b.m.tensors = b.g.Tensors
	b.defined = append(b.defined, false)
	n.Output = len(b.g.Tensors) - 1
	if err := b.plan(len(b.g.Nodes), n, nil); err != nil {
		return 0, err
	}
	return n.Output, nil
}

// NumDequantize counts the planned DEQUANTIZE operators: a quantized model
// whose operators all run on INT8 has one, before the float output.
func (m *Model) NumDequantize() int {
	n := 0
	for _, p := range m.nodes {
		if _, ok := p.k.(*dequantizeKernel); ok {
			n++
		}
	}
	return n
}
