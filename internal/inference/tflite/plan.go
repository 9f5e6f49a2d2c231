package tflite

import (
	"fmt"
	"slices"
)

// load parses the file and plans execution.
func load(b []byte) (*Model, error) {
	g, err := parseFile(b)
	if err != nil {
		return nil, err
	}
	if len(g.inputs) != 1 || len(g.outputs) != 1 {
		return nil, fmt.Errorf("graph has %d inputs and %d outputs, want 1 and 1", len(g.inputs), len(g.outputs))
	}
	m := &Model{tensors: g.tensors, input: g.inputs[0], output: g.outputs[0]}
	in := g.tensors[m.input]
	if in.typ != TypeFloat32 || in.konst {
		return nil, fmt.Errorf("input tensor %q: want a FLOAT32 activation, got %s", in.name, typeName(in.typ))
	}
	if len(in.shape) != 4 || in.shape[0] != 1 {
		return nil, fmt.Errorf("input tensor %q: unsupported shape %v, want [1 H W C]", in.name, in.shape)
	}
	m.inH, m.inW, m.inC = in.shape[1], in.shape[2], in.shape[3]

	defined := make([]bool, len(g.tensors))
	defined[m.input] = true
	for i, t := range g.tensors {
		if t.konst {
			defined[i] = true
		}
	}
	for i, op := range g.ops {
		name := fmt.Sprintf("operator %d (%s)", i, opName(op.code))
		if len(op.outputs) != 1 {
			return nil, fmt.Errorf("%s: %d outputs, want 1", name, len(op.outputs))
		}
		out := op.outputs[0]
		if out < 0 || defined[out] {
			return nil, fmt.Errorf("%s: output tensor %d is constant, the input, or written twice", name, out)
		}
		for _, ti := range op.inputs {
			if ti >= 0 && !defined[ti] {
				return nil, fmt.Errorf("%s: input tensor %d used before it is computed", name, ti)
			}
		}
		k, shape, err := planOp(g, op)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		ot := g.tensors[out]
		if ot.typ != TypeFloat32 {
			return nil, fmt.Errorf("%s: output tensor %q has unsupported tensor type %s", name, ot.name, typeName(ot.typ))
		}
		if len(ot.shape) != 0 && !slices.Equal(ot.shape, shape) {
			return nil, fmt.Errorf("%s: output tensor %q declared with shape %v, computed %v", name, ot.name, ot.shape, shape)
		}
		n := numElements(shape)
		if n > maxActivation {
			return nil, fmt.Errorf("%s: output shape %v above %d elements", name, shape, maxActivation)
		}
		m.work += int64(n) * int64(costPerOutput(k))
		if m.work > maxWork {
			return nil, fmt.Errorf("%s: graph needs more than %d multiply-adds per image", name, int64(maxWork))
		}
		ot.shape = shape
		defined[out] = true
		m.nodes = append(m.nodes, planned{name: name, k: k, ins: op.inputs, out: out})
	}
	ot := g.tensors[m.output]
	if !defined[m.output] || ot.konst || m.output == m.input {
		return nil, fmt.Errorf("graph output tensor %q is not computed by an operator", ot.name)
	}
	if len(ot.shape) == 0 || ot.shape[0] != 1 {
		return nil, fmt.Errorf("output tensor %q: unsupported shape %v, want [1 ...]", ot.name, ot.shape)
	}
	m.classes = ot.size()
	m.assignSlots()
	total := 0
	for _, n := range m.slotLen {
		total += n
	}
	if total > maxWorkspace {
		return nil, fmt.Errorf("graph needs %d floats of activations per image, above %d", total, maxWorkspace)
	}
	return m, nil
}

// Limits on what one image may cost, so a hostile file cannot make Run
// allocate or compute without bound.
const (
	maxActivation = 1 << 24
	maxWorkspace  = 1 << 24 // 64 MiB per image; MobileNets at 224 need about 4 Mi floats
	maxWork       = 1 << 34
)

// costPerOutput estimates multiply-adds per output element.
func costPerOutput(k kernel) int {
	switch k := k.(type) {
	case *convKernel:
		return k.pb.K
	case *fcKernel:
		return k.pb.K
	case *depthwiseKernel:
		return k.p.KH * k.p.KW
	case *poolKernel:
		return k.kh * k.kw
	case *meanKernel:
		return k.count
	}
	return 1
}

// assignSlots gives every activation a workspace slot, reusing slots whose
// tensor is no longer needed.
func (m *Model) assignSlots() {
	last := make([]int, len(m.tensors))
	for i := range last {
		last[i] = -1
	}
	for i, n := range m.nodes {
		for _, ti := range n.ins {
			if ti >= 0 {
				last[ti] = i
			}
		}
	}
	last[m.output] = len(m.nodes)
	m.slotOf = make([]int, len(m.tensors))
	for i := range m.slotOf {
		m.slotOf[i] = -1
	}
	var free []int
	for i, n := range m.nodes {
		size := m.tensors[n.out].size()
		slot := pickSlot(free, m.slotLen, size)
		if slot >= 0 {
			s := free[slot]
			free = slices.Delete(free, slot, slot+1)
			m.slotLen[s] = max(m.slotLen[s], size)
			m.slotOf[n.out] = s
		} else {
			m.slotLen = append(m.slotLen, size)
			m.slotOf[n.out] = len(m.slotLen) - 1
		}
		// Inputs whose last use is this node free their slots after it runs.
		for _, ti := range n.ins {
			if ti >= 0 && last[ti] == i && m.slotOf[ti] >= 0 && !slices.Contains(free, m.slotOf[ti]) {
				free = append(free, m.slotOf[ti])
			}
		}
		if last[n.out] < 0 { // computed but never read
			free = append(free, m.slotOf[n.out])
		}
	}
}

// pickSlot returns the index in free of the smallest slot holding size
// floats, else of the largest slot (which will grow), else -1.
func pickSlot(free, slotLen []int, size int) int {
	best, largest := -1, -1
	for j, s := range free {
		if slotLen[s] >= size && (best < 0 || slotLen[s] < slotLen[free[best]]) {
			best = j
		}
		if largest < 0 || slotLen[s] > slotLen[free[largest]] {
			largest = j
		}
	}
	if best >= 0 {
		return best
	}
	return largest
}
