package graph

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSmallKBitIdentical: a plain 1x1 convolution of few input channels
// (convSmallK) and a fused depthwise+1x1 pair (dwpwSmallK) on
// kernels.GemmSmallKAct give bit for bit what GemmAct and Gemm give
// unfused, for output widths of one pair of 32-column panels, two, a pair
// and a single panel, a pair and a partial one, and one partial panel
// after a K over smallKMaxK; bands of every row
// and of one row (row counts not multiples of the kernel's six-row tile);
// with the block's input added back as a residual (after a projection
// with bounds of its own or none, with the ADD's bounds or none); the
// expansion with HARD_SWISH (K up to convSmallKMaxK) on the kernels'
// epilogue; one and two threads, one image and three.
// The plain 1x1 convolutions with a fused residual (ResNet's) are in
// TestSmallKResidualBitIdentical.
func TestSmallKBitIdentical(t *testing.T) {
	h, w := 13, 11
	type shape struct{ c0, c, n int } // input, expanded and output channels
	type epilogue struct {
		residual bool
		hs       bool    // HARD_SWISH after the expansion (instead of RELU6)
		pwAct    *Bounds // the projection's bounds
		addAct   *Bounds // the residual ADD's
	}
	build := func(s shape, ep epilogue) *Graph {
		rng := rand.New(rand.NewPCG(uint64(s.c0), uint64(s.n)))
		g := &Graph{PackBudget: 1 << 22}
		add := func(t *Tensor) int { g.Tensors = append(g.Tensors, t); return len(g.Tensors) - 1 }
		weights := func(shape ...int) int {
			size := 1
			for _, d := range shape {
				size *= d
			}
			return add(&Tensor{Shape: shape, Float: randFloats(rng, size), Const: true})
		}
		in := add(&Tensor{Name: "in", Shape: []int{1, h, w, s.c0}})
		x, d, p, sum := add(&Tensor{}), add(&Tensor{}), add(&Tensor{}), add(&Tensor{})
		expand := Node{Op: OpConv2D, Inputs: []int{in, weights(s.c, 1, 1, s.c0), weights(s.c)}, Output: x, Padding: PadValid, StrideH: 1, StrideW: 1, Act: &Bounds{0, 6}}
		if ep.hs {
			expand.Act, expand.Output = nil, add(&Tensor{})
			g.Nodes = append(g.Nodes, expand, Node{Op: OpHardSwish, Inputs: []int{expand.Output}, Output: x})
		} else {
			g.Nodes = append(g.Nodes, expand)
		}
		g.Nodes = append(g.Nodes,
			Node{Op: OpDepthwiseConv2D, Inputs: []int{x, weights(1, 3, 3, s.c), weights(s.c)}, Output: d, Padding: PadSame, StrideH: 1, StrideW: 1, Act: &Bounds{0, 6}},
			Node{Op: OpConv2D, Inputs: []int{d, weights(s.n, 1, 1, s.c), weights(s.n)}, Output: p, Padding: PadValid, StrideH: 1, StrideW: 1, Act: ep.pwAct},
		)
		g.Input, g.Output = in, p
		if ep.residual {
			g.Nodes = append(g.Nodes, Node{Op: OpAdd, Inputs: []int{p, in}, Output: sum, Act: ep.addAct})
			g.Output = sum
		}
		return g
	}
	defer func(b, p int) { fusedBandBytes, fusedMinPixels = b, p }(fusedBandBytes, fusedMinPixels)
	defer func(d, c int) { smallKMaxK, convSmallKMaxK = d, c }(smallKMaxK, convSmallKMaxK)
	defer setSmallKSwitches(true)
	clamp := &Bounds{-1, 1}
	for _, tc := range []struct {
		s    shape
		ep   epilogue
		maxK int  // convSmallKMaxK
		big  bool // a 29x23 image: the weights of K×N over 13x11's output stop the fusion
	}{
		{shape{16, 32, 64}, epilogue{pwAct: clamp}, 64, false},
		{shape{24, 64, 128}, epilogue{pwAct: clamp}, 64, false},
		{shape{32, 96, 96}, epilogue{pwAct: clamp}, 64, false},
		{shape{16, 48, 80}, epilogue{pwAct: clamp}, 64, false},
		{shape{24, 136, 24}, epilogue{residual: true, pwAct: clamp}, 64, false}, // K over smallKMaxK, weights under smallKMaxKN
		{shape{64, 32, 64}, epilogue{residual: true, pwAct: clamp}, 64, false},
		// The residual after a projection without bounds, the ADD's
		// bounds or none.
		{shape{24, 72, 24}, epilogue{residual: true}, 64, false},
		{shape{40, 120, 40}, epilogue{residual: true, addAct: &Bounds{0, 6}}, 64, false},
		{shape{64, 96, 64}, epilogue{residual: true, addAct: &Bounds{-0.5, 0.5}}, 64, false},
		{shape{80, 48, 80}, epilogue{residual: true, hs: true}, 160, false},
		// HARD_SWISH expansions of V3's K (40 to 160), one and several pairs
		// and a partial panel.
		{shape{40, 120, 40}, epilogue{hs: true, pwAct: clamp}, 160, false},
		{shape{80, 200, 80}, epilogue{hs: true}, 160, true},
		{shape{112, 72, 112}, epilogue{hs: true, pwAct: clamp}, 160, false},
		{shape{160, 136, 24}, epilogue{hs: true}, 160, true},
	} {
		t.Run(fmt.Sprintf("%dx%dx%d/res=%v/hs=%v/pw=%v/add=%v", tc.s.c0, tc.s.c, tc.s.n, tc.ep.residual, tc.ep.hs, tc.ep.pwAct, tc.ep.addAct), func(t *testing.T) {
			convSmallKMaxK = tc.maxK
			h, w = 13, 11
			if tc.big {
				h, w = 29, 23
			}
			fuseDWPW = false
			ref, err := Plan(build(tc.s, tc.ep))
			fuseDWPW = true
			if err != nil {
				t.Fatal(err)
			}
			for _, minPix := range []int{1000, 1} { // one band; bands of one row
				fusedBandBytes, fusedMinPixels = 1, minPix
				m, err := Plan(build(tc.s, tc.ep))
				if err != nil {
					t.Fatal(err)
				}
				var kinds []string
				for _, nd := range m.nodes {
					kinds = append(kinds, kernelName(nd.k))
				}
				fused := "depthwise+conv"
				if tc.ep.residual {
					fused = "depthwise+conv+add"
				}
				if want := []string{"conv", fused}; !slices.Equal(kinds, want) {
					t.Fatalf("planned %q, want %q", kinds, want)
				}
				compareSmallK(t, ref, m, h*w*tc.s.c0, fmt.Sprintf("bands of %d pixels", minPix))
			}
		})
	}
}

// TestSmallKResidualBitIdentical: plain 1x1 convolutions of K up to
// convSmallKMaxK with a fused residual (ResNet's 64->256, fuseResiduals:
// 256 channels and more) and the convolution computing that residual
// with HARD_SWISH, on kernels.GemmSmallKAct, give bit for bit what GemmAct
// gives, on rows not a multiple of six, one and two threads, one image
// and three; the planner fuses the residual.
func TestSmallKResidualBitIdentical(t *testing.T) {
	const h, w = 7, 13
	build := func(cin, cout int, hs bool, addAct *Bounds) *Graph {
		rng := rand.New(rand.NewPCG(uint64(cin), uint64(cout)))
		g := &Graph{PackBudget: 1 << 22}
		add := func(t *Tensor) int { g.Tensors = append(g.Tensors, t); return len(g.Tensors) - 1 }
		weights := func(shape ...int) int {
			size := 1
			for _, d := range shape {
				size *= d
			}
			return add(&Tensor{Shape: shape, Float: randFloats(rng, size), Const: true})
		}
		in := add(&Tensor{Name: "in", Shape: []int{1, h, w, cin}})
		// Declared shapes: fuseResiduals compares them.
		shape := []int{1, h, w, cout}
		r, p, sum := add(&Tensor{Shape: shape}), add(&Tensor{Shape: shape}), add(&Tensor{Shape: shape})
		a := Node{Op: OpConv2D, Inputs: []int{in, weights(cout, 1, 1, cin), weights(cout)}, Output: r, Padding: PadValid, StrideH: 1, StrideW: 1, Act: &Bounds{0, 6}}
		if hs {
			a.Act, a.Output = nil, add(&Tensor{Shape: shape})
			g.Nodes = append(g.Nodes, a, Node{Op: OpHardSwish, Inputs: []int{a.Output}, Output: r})
		} else {
			g.Nodes = append(g.Nodes, a)
		}
		g.Nodes = append(g.Nodes,
			Node{Op: OpConv2D, Inputs: []int{in, weights(cout, 1, 1, cin), weights(cout)}, Output: p, Padding: PadValid, StrideH: 1, StrideW: 1},
			Node{Op: OpAdd, Inputs: []int{p, r}, Output: sum, Act: addAct},
		)
		g.Input, g.Output = in, sum
		return g
	}
	defer func(c int) { convSmallKMaxK = c }(convSmallKMaxK)
	defer setSmallKSwitches(true)
	for _, tc := range []struct {
		cin, cout int
		hs        bool
		addAct    *Bounds
	}{
		{64, 256, false, &Bounds{0, 6}},
		{64, 256, true, nil},
		{40, 264, true, &Bounds{-1, 1}},
		{128, 320, false, nil},
	} {
		t.Run(fmt.Sprintf("%dx%d/hs=%v/add=%v", tc.cin, tc.cout, tc.hs, tc.addAct), func(t *testing.T) {
			convSmallKMaxK = 160
			m, err := Plan(build(tc.cin, tc.cout, tc.hs, tc.addAct))
			if err != nil {
				t.Fatal(err)
			}
			var res int
			for _, nd := range m.nodes {
				if k, ok := nd.k.(*convKernel); ok && k.residual {
					res++
				}
			}
			if len(m.nodes) != 2 || res != 1 {
				t.Fatalf("planned %d nodes, %d with a fused residual; want 2, 1", len(m.nodes), res)
			}
			compareSmallK(t, m, m, h*w*tc.cin, "")
		})
	}
}

// setSmallKSwitches sets every small-K switch of the graph to on.
func setSmallKSwitches(on bool) {
	dwpwSmallK, convSmallK, convSmallKAct = on, on, on
}

// compareSmallK runs ref with the small-K switches off and m with them on
// at batch 1 and 3 on one and two threads, and fails where their outputs
// differ in a bit.
func compareSmallK(t *testing.T, ref, m *Model, inSize int, name string) {
	t.Helper()
	for _, run := range []struct{ batch, threads int }{{1, 1}, {1, 2}, {3, 1}, {3, 2}} {
		in := randFloats(rand.New(rand.NewPCG(5, 6)), run.batch*inSize)
		got, exp := make([]float32, run.batch*m.NumClasses()), make([]float32, run.batch*m.NumClasses())
		ref.SetThreads(run.threads)
		m.SetThreads(run.threads)
		setSmallKSwitches(false)
		if err := ref.Run(in, run.batch, exp); err != nil {
			t.Fatal(err)
		}
		setSmallKSwitches(true)
		if err := m.Run(in, run.batch, got); err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if got[i] != exp[i] {
				t.Fatalf("%s batch %d, %d threads: output %d = %g, Gemm's %g", name, run.batch, run.threads, i, got[i], exp[i])
			}
		}
	}
}
