package graph

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
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
	var ts, tg, ratios []float64
	for i := 0; b.Loop(); i++ {
		var t [2]float64
		for j := range 2 {
			plain := (i+j)%2 == 0
			dwpwPlain16 = plain
			t0 := time.Now()
			if err := m.Run(x, 1, out); err != nil {
				b.Fatal(err)
			}
			if plain {
				t[0] = time.Since(t0).Seconds()
			} else {
				t[1] = time.Since(t0).Seconds()
			}
		}
		ts, tg, ratios = append(ts, t[0]), append(tg, t[1]), append(ratios, t[1]/t[0])
	}
	for _, v := range [][]float64{ts, tg, ratios} {
		slices.Sort(v)
	}
	b.ReportMetric(ts[len(ts)/2]*1e6, "segs-med-us")
	b.ReportMetric(tg[len(tg)/2]*1e6, "gemm-med-us")
	b.ReportMetric(ratios[len(ratios)/2], "speedup-med")
}
