package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
)

// TestFuseExpandDepthwise plans 1x1 convolution → depthwise graphs with and
// without the fusion and compares the outputs: bands of one row and of
// several, band edges inside the padding, strides 1 and 2, 3x3 and 5x5,
// channel counts off the vector width, RELU6 and HARD_SWISH on either
// side, several images and threads. An expansion read twice stays apart.
func TestFuseExpandDepthwise(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	type shape struct {
		h, w, cin, mid, k, s int
		pad                  Padding
		expHS, dwHS          bool
	}
	shapes := []shape{
		{13, 11, 5, 24, 3, 2, PadSame, false, false},
		{12, 12, 8, 20, 5, 1, PadSame, true, true},
		{9, 14, 3, 35, 3, 1, PadValid, false, true},
		{16, 9, 16, 16, 5, 2, PadSame, true, false},
	}
	build := func(s shape, shared bool) *Graph {
		g := &Graph{PackBudget: 1 << 22}
		add := func(t *Tensor) int { g.Tensors = append(g.Tensors, t); return len(g.Tensors) - 1 }
		in := add(&Tensor{Name: "in", Shape: []int{1, s.h, s.w, s.cin}})
		cw := add(&Tensor{Shape: []int{s.mid, 1, 1, s.cin}, Float: randFloats(rng, s.mid*s.cin), Const: true})
		cb := add(&Tensor{Shape: []int{s.mid}, Float: randFloats(rng, s.mid), Const: true})
		dw := add(&Tensor{Shape: []int{1, s.k, s.k, s.mid}, Float: randFloats(rng, s.k*s.k*s.mid), Const: true})
		db := add(&Tensor{Shape: []int{s.mid}, Float: randFloats(rng, s.mid), Const: true})
		mid, depth := add(&Tensor{Shape: []int{1, s.h, s.w, s.mid}}), add(&Tensor{})
		g.Nodes = []Node{
			{Op: OpConv2D, Inputs: []int{in, cw, cb}, Output: mid, Padding: PadValid, StrideH: 1, StrideW: 1, Act: &Bounds{0, 6}, HardSwish: s.expHS},
			{Op: OpDepthwiseConv2D, Inputs: []int{mid, dw, db}, Output: depth, Padding: s.pad, StrideH: s.s, StrideW: s.s, HardSwish: s.dwHS},
		}
		g.Input, g.Output = in, depth
		if shared {
			sum := add(&Tensor{})
			pool := add(&Tensor{})
			g.Nodes = append(g.Nodes,
				Node{Op: OpMean, Inputs: []int{mid}, Output: pool, Axes: []int{1, 2}, KeepDims: true},
				Node{Op: OpMul, Inputs: []int{depth, pool}, Output: sum})
			g.Output = sum
		}
		return g
	}
	savedMin, savedBand := expandFuseMin, expandBandFloats
	defer func() { expandFuseMin, expandBandFloats = savedMin, savedBand }()
	for _, s := range shapes {
		for _, band := range []int{1, 3 * s.w * s.mid, 1 << 17} { // one row per band, a few, the whole image
			for _, shared := range []bool{false, true} {
				t.Run(fmt.Sprintf("%dx%dx%d_to_%d_k%d_s%d_band%d_shared=%v", s.h, s.w, s.cin, s.mid, s.k, s.s, band, shared), func(t *testing.T) {
					seed := rng.Uint64()
					plan := func(min int) *Model {
						expandFuseMin, expandBandFloats = min, band
						rng = rand.New(rand.NewPCG(seed, 1))
						m, err := Plan(build(s, shared))
						if err != nil {
							t.Fatal(err)
						}
						return m
					}
					fused, apart := plan(0), plan(math.MaxInt)
					wantNodes := len(apart.nodes) - 1
					if shared {
						wantNodes = len(apart.nodes)
					}
					if len(fused.nodes) != wantNodes {
						t.Fatalf("%d operators planned with fusion, %d without", len(fused.nodes), len(apart.nodes))
					}
					if outs := int64(fused.NumClasses()); !shared && (fused.work < apart.work-outs || fused.work > apart.work+outs) {
						t.Errorf("fused graph counts %d multiply-adds, unfused %d", fused.work, apart.work)
					}
					for _, bt := range []struct{ batch, threads int }{{1, 1}, {1, 2}, {3, 2}} {
						in := randFloats(rng, bt.batch*s.h*s.w*s.cin)
						got := make([]float32, bt.batch*fused.NumClasses())
						want := make([]float32, len(got))
						fused.SetThreads(bt.threads)
						apart.SetThreads(bt.threads)
						if err := fused.Run(in, bt.batch, got); err != nil {
							t.Fatal(err)
						}
						if err := apart.Run(in, bt.batch, want); err != nil {
							t.Fatal(err)
						}
						for i := range want {
							if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
								t.Fatalf("batch %d threads %d: output %d = %v, want %v", bt.batch, bt.threads, i, got[i], want[i])
							}
						}
					}
				})
			}
		}
	}
}

// expandBlockGraph is an hw×hw×cin image expanded by a 1x1 convolution to
// mid channels, then a k×k depthwise of stride s (both ReLU6, random
// weights): the pair the expansion fusion plans as one operator.
func expandBlockGraph(rng *rand.Rand, hw, cin, mid, k, s int) *Graph {
	g := &Graph{PackBudget: 1 << 24}
	add := func(t *Tensor) int { g.Tensors = append(g.Tensors, t); return len(g.Tensors) - 1 }
	in := add(&Tensor{Name: "in", Shape: []int{1, hw, hw, cin}})
	cw := add(&Tensor{Shape: []int{mid, 1, 1, cin}, Float: randFloats(rng, mid*cin), Const: true})
	cb := add(&Tensor{Shape: []int{mid}, Float: randFloats(rng, mid), Const: true})
	dw := add(&Tensor{Shape: []int{1, k, k, mid}, Float: randFloats(rng, k*k*mid), Const: true})
	db := add(&Tensor{Shape: []int{mid}, Float: randFloats(rng, mid), Const: true})
	m, depth := add(&Tensor{Shape: []int{1, hw, hw, mid}}), add(&Tensor{})
	g.Nodes = []Node{
		{Op: OpConv2D, Inputs: []int{in, cw, cb}, Output: m, Padding: PadValid, StrideH: 1, StrideW: 1, Act: &Bounds{0, 6}},
		{Op: OpDepthwiseConv2D, Inputs: []int{m, dw, db}, Output: depth, Padding: PadSame, StrideH: s, StrideW: s, Act: &Bounds{0, 6}},
	}
	g.Input, g.Output = in, depth
	return g
}

// BenchmarkExpandDepthwise runs the expansion and depthwise convolution of
// MobileNet V3-Large's inverted residual blocks at 224 (one image, one
// thread), fused band by band ("fused") and as two operators ("apart"):
// 112x112x16 to 64 channels then 3x3 stride 2 (the block V3 fuses), and
// 56x56x24 to 72 then 3x3 stride 1 and 5x5 stride 2 (which it keeps apart).
func BenchmarkExpandDepthwise(b *testing.B) {
	for _, s := range []struct{ hw, cin, mid, k, s int }{{112, 16, 64, 3, 2}, {56, 24, 72, 3, 1}, {56, 24, 72, 5, 2}} {
		for _, mode := range []string{"fused", "apart"} {
			b.Run(fmt.Sprintf("%dx%dx%d_to_%d_k%d_s%d/%s", s.hw, s.hw, s.cin, s.mid, s.k, s.s, mode), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(1, 2))
				g := expandBlockGraph(rng, s.hw, s.cin, s.mid, s.k, s.s)
				saved := expandFuseMin
				expandFuseMin = 0
				if mode == "apart" {
					expandFuseMin = math.MaxInt
				}
				m, err := Plan(g)
				expandFuseMin = saved
				if err != nil {
					b.Fatal(err)
				}
				m.SetThreads(1)
				x := randFloats(rng, s.hw*s.hw*s.cin)
				out := make([]float32, m.NumClasses())
				for b.Loop() {
					if err := m.Run(x, 1, out); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkExpandBlocked runs V3-Large's fused 112x112x16 -> 64, 3x3
// stride-2 block (and the 56x56x24 -> 72 ones fused on purpose) with the
// bands' depthwise on DepthwiseBlocked and on Depthwise (expandBlocked),
// alternating run by run on one thread; it reports each one's median time
// and the median of the per-pair ratios (Depthwise over blocked).
func BenchmarkExpandBlocked(b *testing.B) {
	defer func(v bool) { expandBlocked = v }(expandBlocked)
	for _, s := range []struct {
		hw, cin, mid, k, s int
		hs                 bool
	}{{112, 16, 64, 3, 2, false}, {56, 24, 72, 3, 1, false}, {56, 24, 72, 5, 2, false}, {112, 16, 64, 3, 2, true}} {
		b.Run(fmt.Sprintf("%dx%dx%d_to_%d_k%d_s%d_hs%v", s.hw, s.hw, s.cin, s.mid, s.k, s.s, s.hs), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			g := expandBlockGraph(rng, s.hw, s.cin, s.mid, s.k, s.s)
			add := func(t *Tensor) int { g.Tensors = append(g.Tensors, t); return len(g.Tensors) - 1 }
			depth := g.Output
			if s.hs {
				hs := add(&Tensor{})
				g.Nodes = append(g.Nodes, Node{Op: OpHardSwish, Inputs: []int{depth}, Output: hs})
				g.Output = hs
			}
			saved := expandFuseMin
			expandFuseMin = 0
			m, err := Plan(g)
			expandFuseMin = saved
			if err != nil {
				b.Fatal(err)
			}
			m.SetThreads(1)
			x := randFloats(rng, s.hw*s.hw*s.cin)
			out := make([]float32, m.NumClasses())
			side := func(name string, blocked bool) abbench.Side {
				return ABModelSide(b, name, m, 1, x, out, func() { expandBlocked = blocked })
			}
			t := abbench.Alternate(b, abbench.Wall, side("blocked", true), side("depthwise", false))
			t.Report(b, 0, abbench.Med, 1e6, "%s-med-us")
			b.ReportMetric(abbench.Med(t.Ratios(0, 1, 0)), "speedup-med")
		})
	}
}
