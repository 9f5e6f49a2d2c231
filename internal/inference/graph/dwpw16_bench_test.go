package graph

import (
	"math/rand/v2"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
)

// BenchmarkDWPointwisePlain16 runs MobileNet V3-Large's first fused pair
// (112x112x16, 3x3 depthwise then 1x1 to 16 channels) with the 1x1 on
// GemmSegs's one-segment 16-column tiles and on Gemm's (dwpwPlain16),
// alternating run by run on one thread; it reports each one's median time
// and the median of the per-pair ratios (Gemm over GemmSegs).
func BenchmarkDWPointwisePlain16(b *testing.B) {
	defer func(v bool) { dwpwPlain16 = v }(dwpwPlain16)
	const h, c = 112, 16
	rng := rand.New(rand.NewPCG(7, 8))
	g := &Graph{PackBudget: 1 << 24}
	add := func(t *Tensor) int { g.Tensors = append(g.Tensors, t); return len(g.Tensors) - 1 }
	in := add(&Tensor{Name: "in", Shape: []int{1, h, h, c}})
	dw := add(&Tensor{Shape: []int{1, 3, 3, c}, Float: randFloats(rng, 9*c), Const: true})
	dwb := add(&Tensor{Shape: []int{c}, Float: randFloats(rng, c), Const: true})
	pw := add(&Tensor{Shape: []int{c, 1, 1, c}, Float: randFloats(rng, c*c), Const: true})
	pwb := add(&Tensor{Shape: []int{c}, Float: randFloats(rng, c), Const: true})
	d, p := add(&Tensor{}), add(&Tensor{})
	g.Nodes = []Node{
		{Op: OpDepthwiseConv2D, Inputs: []int{in, dw, dwb}, Output: d, Padding: PadSame, StrideH: 1, StrideW: 1, Act: &Bounds{0, 6}},
		{Op: OpConv2D, Inputs: []int{d, pw, pwb}, Output: p, Padding: PadValid, StrideH: 1, StrideW: 1},
	}
	g.Input, g.Output = in, p
	m, err := Plan(g)
	if err != nil {
		b.Fatal(err)
	}
	m.SetThreads(1)
	x := randFloats(rng, h*h*c)
	out := make([]float32, h*h*c)
	// dwpwPlain16 on: GemmSegs's tiles ("segs"); off: Gemm's ("gemm").
	side := func(name string, plain bool) abbench.Side {
		return ABModelSide(b, name, m, 1, x, out, func() { dwpwPlain16 = plain })
	}
	t := abbench.Alternate(b, abbench.Wall, side("segs", true), side("gemm", false))
	t.Report(b, 0, abbench.Med, 1e6, "%s-med-us")
	b.ReportMetric(abbench.Med(t.Ratios(0, 1, 0)), "speedup-med")
}
