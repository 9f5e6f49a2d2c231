package graph

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestFusePads plans PAD → consumer graphs with and without the fusion
// and compares operator counts and outputs: uneven padding before a
// strided convolution (the ResNet stem), before a depthwise convolution,
// before a max pool whose input a RELU bounds (ResNet's pool), and the
// cases that must stay apart: a max pool over values that may be
// negative, a non-zero PAD, padding as wide as the window.
func TestFusePads(t *testing.T) {
	type tc struct {
		name     string
		op       Op
		relu     bool // a RELU6 1x1 convolution computes the PAD's input
		pads     [4]int
		value    float32
		k, s     int
		wantFuse bool
	}
	cases := []tc{
		{"conv_stem", OpConv2D, false, [4]int{3, 1, 2, 0}, 0, 7, 2, true},
		{"depthwise", OpDepthwiseConv2D, false, [4]int{1, 1, 1, 1}, 0, 3, 1, true},
		{"maxpool_relu", OpMaxPool2D, true, [4]int{1, 1, 1, 1}, 0, 3, 2, true},
		{"maxpool_signed", OpMaxPool2D, false, [4]int{1, 1, 1, 1}, 0, 3, 2, false},
		{"nonzero_value", OpConv2D, false, [4]int{1, 1, 1, 1}, 0.5, 3, 1, false},
		{"pad_as_wide_as_window", OpConv2D, false, [4]int{3, 0, 0, 0}, 0, 3, 1, false},
	}
	const h, w, c = 11, 10, 5
	rng := rand.New(rand.NewPCG(13, 14))
	for _, cs := range cases {
		t.Run(cs.name, func(t *testing.T) {
			seed := rng.Uint64()
			build := func() *Graph {
				r := rand.New(rand.NewPCG(seed, 2))
				g := &Graph{PackBudget: 1 << 22}
				add := func(t *Tensor) int { g.Tensors = append(g.Tensors, t); return len(g.Tensors) - 1 }
				in := add(&Tensor{Name: "in", Shape: []int{1, h, w, c}})
				src := in
				if cs.relu {
					cw := add(&Tensor{Shape: []int{c, 1, 1, c}, Float: randFloats(r, c*c), Const: true})
					src = add(&Tensor{Shape: []int{1, h, w, c}})
					g.Nodes = append(g.Nodes, Node{Op: OpConv2D, Inputs: []int{in, cw}, Output: src, Padding: PadValid, StrideH: 1, StrideW: 1, Act: &Bounds{0, 6}})
				}
				padded := add(&Tensor{Shape: []int{1, h + cs.pads[0] + cs.pads[2], w + cs.pads[1] + cs.pads[3], c}})
				out := add(&Tensor{})
				g.Nodes = append(g.Nodes, Node{Op: OpPad, Inputs: []int{src}, Output: padded, PadValue: cs.value,
					Paddings: []int{0, 0, cs.pads[0], cs.pads[2], cs.pads[1], cs.pads[3], 0, 0}})
				n := Node{Op: cs.op, Inputs: []int{padded}, Output: out, Padding: PadValid, StrideH: cs.s, StrideW: cs.s}
				switch cs.op {
				case OpConv2D:
					f := add(&Tensor{Shape: []int{7, cs.k, cs.k, c}, Float: randFloats(r, 7*cs.k*cs.k*c), Const: true})
					b := add(&Tensor{Shape: []int{7}, Float: randFloats(r, 7), Const: true})
					n.Inputs = append(n.Inputs, f, b)
				case OpDepthwiseConv2D:
					f := add(&Tensor{Shape: []int{1, cs.k, cs.k, c}, Float: randFloats(r, cs.k*cs.k*c), Const: true})
					n.Inputs = append(n.Inputs, f)
				default:
					n.FilterH, n.FilterW = cs.k, cs.k
				}
				g.Nodes = append(g.Nodes, n)
				g.Input, g.Output = in, out
				return g
			}
			defer func() { padFusion = true }()
			padFusion = true
			fused, err := Plan(build())
			if err != nil {
				t.Fatal(err)
			}
			padFusion = false
			apart, err := Plan(build())
			if err != nil {
				t.Fatal(err)
			}
			if got := len(fused.nodes) < len(apart.nodes); got != cs.wantFuse {
				t.Fatalf("fused: %v (%d operators against %d), want %v", got, len(fused.nodes), len(apart.nodes), cs.wantFuse)
			}
			for _, batch := range []int{1, 2} {
				in := scaledCopy(randFloats(rng, batch*h*w*c))
				got := make([]float32, batch*fused.NumClasses())
				want := make([]float32, batch*apart.NumClasses())
				if len(got) != len(want) {
					t.Fatalf("output sizes %d and %d", len(got), len(want))
				}
				if err := fused.Run(in, batch, got); err != nil {
					t.Fatal(err)
				}
				if err := apart.Run(in, batch, want); err != nil {
					t.Fatal(err)
				}
				for i := range want {
					if d := math.Abs(float64(got[i] - want[i])); !(d <= 1e-5*math.Max(1, math.Abs(float64(want[i])))) {
						t.Fatalf("batch %d: output %d = %v, want %v", batch, i, got[i], want[i])
					}
				}
			}
		})
	}
}

// scaledCopy shifts v to mostly negative values, so that a max pool which
// wrongly pads with zeros shows it.
func scaledCopy(v []float32) []float32 {
	for i := range v {
		v[i] = v[i]*2 - 1.5
	}
	return v
}
