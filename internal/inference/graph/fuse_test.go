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
	want := refRun(t, build(), in)
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-6 {
			t.Fatalf("output %d = %g, unfused %g", i, got[i], want[i])
		}
	}
}

// refRun plans each node on its own (no fusion) and runs them in order.
func refRun(t *testing.T, g *Graph, in []float32) []float32 {
	nodes := g.Nodes
	g.Nodes = nil
	b, err := begin(g)
	if err != nil {
		t.Fatal(err)
	}
	for i := range nodes {
		if err := b.plan(i, nodes[i]); err != nil {
			t.Fatal(err)
		}
	}
	m, err := b.Finish(g.Output)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.nodes) != 6 {
		t.Fatalf("reference has %d operators, want 6", len(m.nodes))
	}
	out := make([]float32, m.NumClasses())
	if err := m.Run(in, 1, out); err != nil {
		t.Fatal(err)
	}
	return out
}
