package graph

import (
	"fmt"
	"reflect"
	"slices"
)

// Plan checks every operator of g, computes the shapes of its activations
// and picks the kernels. Plan takes ownership of g: it fills in activation
// shapes and the planned kernels keep references to constant data.
func Plan(g *Graph) (*Model, error) {
	if g.Input < 0 || g.Input >= len(g.Tensors) || g.Output < 0 || g.Output >= len(g.Tensors) {
		return nil, fmt.Errorf("graph input %d or output %d outside %d tensors", g.Input, g.Output, len(g.Tensors))
	}
	if len(g.Tensors) > MaxTensors || len(g.Nodes) > MaxNodes {
		return nil, fmt.Errorf("graph too large: %d tensors, %d operators", len(g.Tensors), len(g.Nodes))
	}
	quantEnds(g)
	nodes := fuseActivations(g)
	g.Nodes = nil
	b, err := begin(g)
	if err != nil {
		return nil, err
	}
	for i := range nodes {
		if err := b.plan(i, nodes[i], nil); err != nil {
			return nil, err
		}
	}
	b.fused = true // Finish need not run the passes again
	return b.Finish(g.Output)
}

// Builder plans a graph operator by operator, so that a reader can ask the
// shape of anything it has built so far (the ONNX reader needs them to map
// NCHW operators onto the engine's NHWC layout). Finish then runs the
// graph-level fusions over the whole graph, as Plan does, so a model ends
// in the same planned operators whichever way it was built.
type Builder struct {
	g       *Graph
	m       *Model
	defined []bool
	done    []nodePlan // what planning each entry of g.Nodes gave
	fused   bool       // the graph-level fusions ran before planning (Plan)
}

// nodePlan is what planning one node gave: its kernel and output shape, and
// how many packed floats it took from the pack budget.
type nodePlan struct {
	k      kernel
	shape  []int
	packed int
}

// NewBuilder starts a graph whose input is an NHWC float image of the given
// size. packBudget is how many floats of packed weights the planner may
// allocate.
func NewBuilder(name string, h, w, c, packBudget int) (*Builder, error) {
	g := &Graph{Tensors: []*Tensor{{Name: name, Shape: []int{1, h, w, c}, DType: Float32}}, PackBudget: packBudget}
	return begin(g)
}

func begin(g *Graph) (*Builder, error) {
	m := &Model{tensors: g.Tensors, input: g.Input, output: -1}
	in := g.Tensors[m.input]
	if in.DType != Float32 || in.Const {
		return nil, fmt.Errorf("input tensor %q: want a FLOAT32 activation, got %s", in.Name, in.DType)
	}
	if len(in.Shape) != 4 || in.Shape[0] != 1 {
		return nil, fmt.Errorf("input tensor %q: unsupported shape %v, want [1 H W C]", in.Name, in.Shape)
	}
	for _, d := range in.Shape {
		if d <= 0 || d > 1<<16 {
			return nil, fmt.Errorf("input tensor %q: unsupported shape %v", in.Name, in.Shape)
		}
	}
	m.inH, m.inW, m.inC = in.Shape[1], in.Shape[2], in.Shape[3]
	b := &Builder{g: g, m: m, defined: make([]bool, len(g.Tensors))}
	b.defined[m.input] = true
	for i, t := range g.Tensors {
		if t.Const {
			b.defined[i] = true
		}
	}
	return b, nil
}

// Input is the tensor index of the graph input.
func (b *Builder) Input() int { return b.g.Input }

// Shape is the shape of a constant, the input or a computed tensor.
func (b *Builder) Shape(t int) []int { return b.g.Tensors[t].Shape }

// Const adds a constant tensor and returns its index.
func (b *Builder) Const(t *Tensor) (int, error) {
	if len(b.g.Tensors) >= MaxTensors {
		return 0, fmt.Errorf("graph too large: more than %d tensors", MaxTensors)
	}
	t.Const = true
	b.g.Tensors = append(b.g.Tensors, t)
	b.m.tensors = b.g.Tensors
	b.defined = append(b.defined, true)
	return len(b.g.Tensors) - 1, nil
}

// Add plans n with a new FLOAT32 output tensor named name (n.Output is
// ignored) and returns the output's index.
func (b *Builder) Add(n Node, name string) (int, error) {
	if len(b.g.Tensors) >= MaxTensors {
		return 0, fmt.Errorf("graph too large: more than %d tensors", MaxTensors)
	}
	b.g.Tensors = append(b.g.Tensors, &Tensor{Name: name, DType: Float32})
	b.m.tensors = b.g.Tensors
	b.defined = append(b.defined, false)
	n.Output = len(b.g.Tensors) - 1
	if err := b.plan(len(b.g.Nodes), n, nil); err != nil {
		return 0, err
	}
	return n.Output, nil
}

// plan checks and plans node i. When prev is not nil, n was planned before
// (see fuse) and keeps that kernel: only the checks around it run again.
func (b *Builder) plan(i int, n Node, prev *nodePlan) error {
	g, m := b.g, b.m
	if len(g.Nodes) >= MaxNodes {
		return fmt.Errorf("graph too large: more than %d operators", MaxNodes)
	}
	g.Nodes = append(g.Nodes, n)
	np := &g.Nodes[len(g.Nodes)-1]
	name := n.Name
	if name == "" {
		name = fmt.Sprintf("operator %d (%s)", i, n.Op)
	}
	out := n.Output
	if out < 0 || out >= len(g.Tensors) || b.defined[out] {
		return fmt.Errorf("%s: output tensor %d is constant, the input, outside the graph or written twice", name, out)
	}
	for _, ti := range n.Inputs {
		if ti < -1 || ti >= len(g.Tensors) {
			return fmt.Errorf("%s: tensor index %d outside %d tensors", name, ti, len(g.Tensors))
		}
		if ti >= 0 && !b.defined[ti] {
			return fmt.Errorf("%s: input tensor %d used before it is computed", name, ti)
		}
	}
	var k kernel
	var shape []int
	packed := 0
	if prev != nil {
		k, shape, packed = prev.k, prev.shape, prev.packed
	} else {
		budget := g.PackBudget
		var err error
		k, shape, err = planNode(g, np)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if f, ok := k.(hardSwishFuser); n.HardSwish && (!ok || !f.fuseHardSwish()) {
			k = hardSwishAfter{k}
		}
		packed = budget - g.PackBudget
	}
	ot := g.Tensors[out]
	if ot.DType != Float32 && (ot.DType != Int8 || !isQuantNode(g, np)) {
		return fmt.Errorf("%s: output tensor %q has unsupported tensor type %s", name, ot.Name, ot.DType)
	}
	if len(ot.Shape) != 0 && !slices.Equal(ot.Shape, shape) {
		return fmt.Errorf("%s: output tensor %q declared with shape %v, computed %v", name, ot.Name, ot.Shape, shape)
	}
	size := NumElements(shape)
	if size > maxActivation {
		return fmt.Errorf("%s: output shape %v above %d elements", name, shape, maxActivation)
	}
	m.work += nodeMACs(k, size)
	if m.work > maxWork {
		return fmt.Errorf("%s: graph needs more than %d multiply-adds per image", name, int64(maxWork))
	}
	ot.Shape = shape
	b.defined[out] = true
	m.nodes = append(m.nodes, planned{name: name, k: k, ins: n.Inputs, out: out})
	b.done = append(b.done, nodePlan{k: k, shape: shape, packed: packed})
	return nil
}

// fuse runs the graph-level fusion passes (fuseActivations) over the nodes
// planned so far and, when they change any, plans the graph again: a node
// the passes left as it was keeps its kernel and packed weights, the others
// are planned anew, and what the dropped kernels had packed goes back to
// the pack budget. Plan fuses before it plans and skips this; the ONNX
// reader plans node by node (it needs every shape as it goes to map NCHW
// onto NHWC), so for it the passes run here, over the whole graph with
// every shape known, and both readers end in the same planned model.
func (b *Builder) fuse() error {
	g, m := b.g, b.m
	old, oldPlans := slices.Clone(g.Nodes), b.done
	nodes := fuseActivations(g)
	byOut := make(map[int]int, len(old))
	for j, n := range old {
		byOut[n.Output] = j
	}
	reuse := make([]int, len(nodes))
	kept := make([]bool, len(old))
	changed := len(nodes) != len(old)
	for i := range nodes {
		reuse[i] = -1
		if j, ok := byOut[nodes[i].Output]; ok && reflect.DeepEqual(nodes[i], old[j]) {
			reuse[i], kept[j] = j, true
		} else {
			changed = true
		}
	}
	if !changed {
		return nil
	}
	for j := range old {
		if !kept[j] {
			g.PackBudget += oldPlans[j].packed
			oldPlans[j] = nodePlan{} // let its packed weights go
		}
	}
	g.Nodes, b.done, m.nodes, m.work = nil, nil, nil, 0
	for t := range b.defined {
		b.defined[t] = t == g.Input || g.Tensors[t].Const
	}
	for i, n := range nodes {
		var prev *nodePlan
		if j := reuse[i]; j >= 0 {
			prev = &oldPlans[j]
		}
		if err := b.plan(i, n, prev); err != nil {
			return err
		}
	}
	return nil
}

// Finish makes tensor output the graph's output and lays out the
// activations. The builder must not be used afterwards.
func (b *Builder) Finish(output int) (*Model, error) {
	g, m := b.g, b.m
	if output < 0 || output >= len(g.Tensors) {
		return nil, fmt.Errorf("graph output %d outside %d tensors", output, len(g.Tensors))
	}
	m.output = output
	g.Output = output
	ot := g.Tensors[m.output]
	if !b.defined[m.output] || ot.Const || m.output == m.input {
		return nil, fmt.Errorf("graph output tensor %q is not computed by an operator", ot.Name)
	}
	if finishFusion && !b.fused {
		if err := b.fuse(); err != nil {
			return nil, err
		}
	}
	if len(ot.Shape) == 0 || ot.Shape[0] != 1 {
		return nil, fmt.Errorf("output tensor %q: unsupported shape %v, want [1 ...]", ot.Name, ot.Shape)
	}
	m.classes = ot.Size()
	m.fuseDepthwisePointwise()
	m.fuseQuantPads()
	m.fuseQuantBlocks()
	m.assignSlots()
	m.planSplit()
	total := 0
	for _, n := range m.slotLen {
		total += n
	}
	if total > maxWorkspace {
		return nil, fmt.Errorf("graph needs %d floats of activations per image, above %d", total, maxWorkspace)
	}
	m.moveWeightsHuge()
	m.linkReadAhead()
	return m, nil
}

// finishFusion makes Finish run the graph-level fusions; tests' unfused
// references and a benchmark (the ONNX reader's plans before they ran
// there) turn it off.
var finishFusion = true

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
	case hardSwishAfter:
		return costPerOutput(k.k)
	case *convKernel:
		return k.pb.K
	case *fcKernel:
		return k.pb.K
	case *depthwiseKernel:
		return k.cost()
	case *dwPointwise:
		return k.pw.pb.K
	case *padKernel, *qpadKernel:
		return 0 // a copy: no multiply-adds (and a fused PAD then counts the same)
	case *poolKernel:
		return k.kh * k.kw
	case *meanKernel:
		return k.count
	case *qconvKernel:
		if k.depthwise {
			return k.kh * k.kw
		}
		return k.kh * k.kw * k.cin
	case *qfcKernel:
		return k.k
	case *qpoolKernel:
		return k.p.kh * k.p.kw
	case *qmeanKernel:
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
		size := m.tensors[n.out].Size()
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
