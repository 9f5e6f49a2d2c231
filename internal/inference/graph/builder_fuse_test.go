package graph

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// fusionNet builds a small network that every graph-level fusion pass
// changes, through konst (adds a constant) and op (adds a node with its
// declared output shape): a 1x1 expansion and a RELU6 before a depthwise
// convolution, HARD_SWISH after it, a zero PAD before a VALID 3x3
// convolution, and a wide 1x1 convolution whose output a residual ADD and a
// RELU6 follow.
func fusionNet(rng *rand.Rand, konst func(*Tensor) int, op func(n Node, shape []int) int, in int) int {
	w := func(shape ...int) int {
		return konst(&Tensor{Shape: shape, DType: Float32, Float: randFloats(rng, NumElements(shape))})
	}
	img := func(c int) []int { return []int{1, 16, 16, c} }
	e := op(Node{Op: OpConv2D, Inputs: []int{in, w(32, 1, 1, 4), w(32)}, Padding: PadValid, StrideH: 1, StrideW: 1}, img(32))
	e = op(Node{Op: OpClamp, Inputs: []int{e}, Act: &Bounds{0, 6}}, img(32))
	d := op(Node{Op: OpDepthwiseConv2D, Inputs: []int{e, w(1, 3, 3, 32), w(32)}, Padding: PadSame, StrideH: 1, StrideW: 1}, img(32))
	d = op(Node{Op: OpHardSwish, Inputs: []int{d}}, img(32))
	p := op(Node{Op: OpPad, Inputs: []int{d}, Paddings: []int{0, 0, 1, 1, 1, 1, 0, 0}}, []int{1, 18, 18, 32})
	c := op(Node{Op: OpConv2D, Inputs: []int{p, w(256, 3, 3, 32), w(256)}, Padding: PadValid, StrideH: 1, StrideW: 1, Act: &Bounds{0, NoBounds.Hi}}, img(256))
	r := op(Node{Op: OpConv2D, Inputs: []int{c, w(256, 1, 1, 256), w(256)}, Padding: PadValid, StrideH: 1, StrideW: 1}, img(256))
	s := op(Node{Op: OpAdd, Inputs: []int{r, c}}, img(256))
	s = op(Node{Op: OpClamp, Inputs: []int{s}, Act: &Bounds{0, 6}}, img(256))
	return op(Node{Op: OpMean, Inputs: []int{s}, Axes: []int{1, 2}}, []int{1, 256})
}

// planFusionNet plans fusionNet as a whole graph (Plan, the TFLite
// reader's path) with the given pack budget.
func planFusionNet(t *testing.T, seed uint64, budget int) (*Model, *Graph, error) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	g := &Graph{Tensors: []*Tensor{{Name: "in", Shape: []int{1, 16, 16, 4}}}, PackBudget: budget}
	konst := func(c *Tensor) int {
		c.Const = true
		g.Tensors = append(g.Tensors, c)
		return len(g.Tensors) - 1
	}
	op := func(n Node, shape []int) int {
		g.Tensors = append(g.Tensors, &Tensor{Shape: shape})
		n.Output = len(g.Tensors) - 1
		g.Nodes = append(g.Nodes, n)
		return n.Output
	}
	g.Output = fusionNet(rng, konst, op, 0)
	m, err := Plan(g)
	return m, g, err
}

// buildFusionNet plans fusionNet node by node through a Builder (the ONNX
// reader's path).
func buildFusionNet(t *testing.T, seed uint64, budget int) (*Model, *Builder, error) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	b, err := NewBuilder("in", 16, 16, 4, budget)
	if err != nil {
		t.Fatal(err)
	}
	var failed error
	konst := func(c *Tensor) int {
		i, err := b.Const(c)
		if err != nil {
			t.Fatal(err)
		}
		return i
	}
	op := func(n Node, shape []int) int {
		if failed != nil {
			return b.Input()
		}
		i, err := b.Add(n, "")
		if err != nil {
			failed = err
			return b.Input()
		}
		if !slices.Equal(b.Shape(i), shape) {
			t.Fatalf("%s: shape %v, want %v", n.Op, b.Shape(i), shape)
		}
		return i
	}
	out := fusionNet(rng, konst, op, b.Input())
	if failed != nil {
		return nil, b, failed
	}
	m, err := b.Finish(out)
	return m, b, err
}

// TestBuilderFuses: a graph planned node by node through a Builder ends in
// the same planned model as the whole graph through Plan: Finish runs the
// graph-level fusion passes and re-plans what they change. The pack
// budget the fused graph needs is enough for the Builder too (the kernels
// re-planning drops give theirs back), and the outputs are the same.
func TestBuilderFuses(t *testing.T) {
	saved := expandFuseMin
	defer func() { expandFuseMin = saved }()
	expandFuseMin = 0

	const big = 1 << 24
	whole, g, err := planFusionNet(t, 5, big)
	if err != nil {
		t.Fatal(err)
	}
	need := big - g.PackBudget
	want := whole.Describe()
	if len(want) != 4 {
		t.Fatalf("Plan fused fusionNet into %d operators, want 4:\n%s", len(want), strings.Join(want, "\n"))
	}
	built, b, err := buildFusionNet(t, 5, need)
	if err != nil {
		t.Fatalf("Builder with the %d packed floats Plan needed: %v", need, err)
	}
	if got := built.Describe(); !slices.Equal(got, want) {
		t.Fatalf("Builder planned\n%s\nPlan planned\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if b.g.PackBudget != 0 {
		t.Errorf("Builder left %d packed floats of its budget, Plan 0", b.g.PackBudget)
	}
	if built.Work() != whole.Work() {
		t.Errorf("Builder counts %d multiply-adds, Plan %d", built.Work(), whole.Work())
	}
	if _, _, err := planFusionNet(t, 5, need-1); err == nil {
		t.Fatal("Plan accepted a pack budget one float short")
	}
	if _, _, err := buildFusionNet(t, 5, need-1); err == nil {
		t.Fatal("Builder accepted a pack budget one float short")
	}

	rng := rand.New(rand.NewPCG(6, 1))
	for _, batch := range []int{1, 3} {
		in := randFloats(rng, batch*16*16*4)
		got := make([]float32, batch*built.NumClasses())
		exp := make([]float32, len(got))
		if err := built.Run(in, batch, got); err != nil {
			t.Fatal(err)
		}
		if err := whole.Run(in, batch, exp); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, exp) {
			t.Fatalf("batch %d: Builder's model computes %v..., Plan's %v...", batch, got[:4], exp[:4])
		}
	}
}
