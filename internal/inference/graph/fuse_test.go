package graph

import (
	"math"
	"testing"
)

// TestFuseActivations: a RELU6 after a convolution and a HARD_SWISH after a
// depthwise convolution fold into them (fewer planned operators, same
// numbers), while an activation whose input is also read elsewhere stays.
func TestFuseActivations(t *testing.T) {
	build := func() *Graph {
		g := &Graph{PackBudget: 1 << 20}
		add := func(t *Tensor) int { g.Tensors = append(g.Tensors, t); return len(g.Tensors) - 1 }
		in := add(&Tensor{Name: "in", Shape: []int{1, 4, 4, 2}})
		w := make([]float32, 8*2)
		for i := range w {
			w[i] = float32(i%5) - 2
		}
		cw := add(&Tensor{Shape: []int{8, 1, 1, 2}, Float: w, Const: true})
		dw := add(&Tensor{Shape: []int{1, 1, 1, 8}, Float: w[:8], Const: true})
		conv, relu6, depth, hsw, other, sum := add(&Tensor{}), add(&Tensor{}), add(&Tensor{}), add(&Tensor{}), add(&Tensor{}), add(&Tensor{})
		g.Nodes = []Node{
			{Op: OpConv2D, Inputs: []int{in, cw}, Output: conv, Padding: PadValid, StrideH: 1, StrideW: 1},
			{Op: OpClamp, Inputs: []int{conv}, Output: relu6, Act: &Bounds{0, 6}},
			{Op: OpDepthwiseConv2D, Inputs: []int{relu6, dw}, Output: depth, Padding: PadValid, StrideH: 1, StrideW: 1},
			{Op: OpHardSwish, Inputs: []int{depth}, Output: hsw},
			{Op: OpClamp, Inputs: []int{depth}, Output: other, Act: &Bounds{-1, 1}}, // depth has two readers: no fusion
			{Op: OpAdd, Inputs: []int{hsw, other}, Output: sum},
		}
		g.Input, g.Output = in, sum
		return g
	}
	m, err := Plan(build())
	if err != nil {
		t.Fatal(err)
	}
	if len(m.nodes) != 5 {
		t.Fatalf("%d planned operators, want 5 (RELU6 folded, HARD_SWISH kept: its input has two readers)", len(m.nodes))
	}
	in := make([]float32, 32)
	for i := range in {
		in[i] = float32(i%7) - 3
	}
	got := make([]float32, m.NumClasses())
	if err := m.Run(in, 1, got); err != nil {
		t.Fatal(err)
	}
	// Reference: the same graph without fusion, operator by operator.
	want := refRun(t, build(), in, 6)
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-6 {
			t.Fatalf("output %d = %g, unfused %g", i, got[i], want[i])
		}
	}
}

// refRun plans each node on its own (no fusion) and runs them in order.
func refRun(t *testing.T, g *Graph, in []float32, ops int) []float32 {
	nodes := g.Nodes
	g.Nodes = nil
	b, err := begin(g)
	if err != nil {
		t.Fatal(err)
	}
	defer SetFinishFusion(false)()
	for i := range nodes {
		if err := b.plan(i, nodes[i], nil); err != nil {
			t.Fatal(err)
		}
	}
	m, err := b.Finish(g.Output)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.nodes) != ops {
		t.Fatalf("reference has %d operators, want %d", len(m.nodes), ops)
	}
	out := make([]float32, m.NumClasses())
	if err := m.Run(in, 1, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFuseResidual: an ADD of a 1x1 convolution and an activation computed
// before it (a residual connection) folds into the convolution, bounds
// included; an ADD whose other operand is computed after the convolution
// stays. Same numbers as unfused, on the row-block path (batch 3, one
// thread) and the column-split path (batch 1, two threads).
func TestFuseResidual(t *testing.T) {
	c := minResidualChannels
	build := func() *Graph {
		g := &Graph{PackBudget: 1 << 20}
		add := func(t *Tensor) int { g.Tensors = append(g.Tensors, t); return len(g.Tensors) - 1 }
		shape := []int{1, 5, 5, c}
		act := func() int { return add(&Tensor{Shape: shape}) }
		in := add(&Tensor{Name: "in", Shape: shape})
		w := make([]float32, c*c)
		for i := range w {
			w[i] = float32(i%9-4) / 16
		}
		bias := make([]float32, c)
		for i := range bias {
			bias[i] = float32(i%3) - 1
		}
		cw := add(&Tensor{Shape: []int{c, 1, 1, c}, Float: w, Const: true})
		cb := add(&Tensor{Shape: []int{c}, Float: bias, Const: true})
		c1, sum, c2, later, sum2 := act(), act(), act(), act(), act()
		g.Nodes = []Node{
			{Op: OpConv2D, Inputs: []int{in, cw, cb}, Output: c1, Padding: PadValid, StrideH: 1, StrideW: 1},
			{Op: OpAdd, Inputs: []int{in, c1}, Output: sum, Act: &Bounds{0, 6}},
			{Op: OpConv2D, Inputs: []int{sum, cw}, Output: c2, Padding: PadValid, StrideH: 1, StrideW: 1},
			{Op: OpClamp, Inputs: []int{sum}, Output: later, Act: &Bounds{-1, 1}}, // after c2: no fusion
			{Op: OpAdd, Inputs: []int{c2, later}, Output: sum2},
		}
		g.Input, g.Output = in, sum2
		return g
	}
	m, err := Plan(build())
	if err != nil {
		t.Fatal(err)
	}
	if len(m.nodes) != 4 {
		t.Fatalf("%d planned operators, want 4 (the first ADD folded, the second kept)", len(m.nodes))
	}
	per := 5 * 5 * c
	const batch = 3
	in := make([]float32, batch*per)
	for i := range in {
		in[i] = float32(i%11-5) / 2
	}
	want := make([]float32, batch*per)
	for i := 0; i < batch; i++ {
		copy(want[i*per:], refRun(t, build(), in[i*per:(i+1)*per], 5))
	}
	for _, tc := range []struct{ batch, threads int }{{batch, 1}, {1, 2}} {
		m.SetThreads(tc.threads)
		got := make([]float32, tc.batch*per)
		if err := m.Run(in[:tc.batch*per], tc.batch, got); err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if math.Abs(float64(got[i]-want[i])) > 1e-5*(1+math.Abs(float64(want[i]))) {
				t.Fatalf("batch %d threads %d: output %d = %g, unfused %g", tc.batch, tc.threads, i, got[i], want[i])
			}
		}
	}
}

// TestFuseMeanReshape: a RESHAPE that drops the axes a MEAN kept folds into
// the MEAN (one operator, same numbers), while a RESHAPE to another shape
// and one of a MEAN read twice stay.
func TestFuseMeanReshape(t *testing.T) {
	build := func(shape []int, shared bool) *Graph {
		g := &Graph{PackBudget: 1 << 20}
		add := func(t *Tensor) int { g.Tensors = append(g.Tensors, t); return len(g.Tensors) - 1 }
		in := add(&Tensor{Name: "in", Shape: []int{1, 3, 5, 6}})
		mean, flat := add(&Tensor{Shape: []int{1, 1, 1, 6}}), add(&Tensor{Shape: shape})
		g.Nodes = []Node{
			{Op: OpMean, Inputs: []int{in}, Output: mean, Axes: []int{1, -2}, KeepDims: true},
			{Op: OpReshape, Inputs: []int{mean}, Output: flat, Shape: shape},
		}
		g.Input, g.Output = in, flat
		if shared {
			sum := add(&Tensor{})
			g.Nodes = append(g.Nodes, Node{Op: OpAdd, Inputs: []int{flat, mean}, Output: sum})
			g.Output = sum
		}
		return g
	}
	in := make([]float32, 3*5*6)
	for i := range in {
		in[i] = float32(i%7) - 3.5
	}
	for _, tc := range []struct {
		shape  []int
		shared bool
		nodes  int
	}{
		{[]int{1, 6}, false, 1},
		{[]int{1, 2, 3}, false, 2},
		{[]int{1, 6}, true, 3},
	} {
		m, err := Plan(build(tc.shape, tc.shared))
		if err != nil {
			t.Fatal(err)
		}
		if len(m.nodes) != tc.nodes {
			t.Fatalf("reshape to %v (shared %v): %d planned operators, want %d", tc.shape, tc.shared, len(m.nodes), tc.nodes)
		}
		got := make([]float32, m.NumClasses())
		if err := m.Run(in, 1, got); err != nil {
			t.Fatal(err)
		}
		want := refRun(t, build(tc.shape, tc.shared), in, len(build(tc.shape, tc.shared).Nodes))
		for i := range want {
			if math.Abs(float64(got[i]-want[i])) > 1e-6 {
				t.Fatalf("reshape to %v: output %d = %g, unfused %g", tc.shape, i, got[i], want[i])
			}
		}
	}
}
