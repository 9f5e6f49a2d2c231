package graph

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
)

// BenchmarkResNetWinograd runs ResNet-50@224's 3x3 convolutions on one
// thread, at batch 1 and at the sub-batch of 4 a worker of batch 8 on 2
// threads runs, on the direct path as planned with Winograd off and on
// Winograd F(2×2, 3×3) and F(4×4, 3×3), in rotation call by call, and
// reports the median over rounds of the direct path's time over each
// Winograd variant's ("direct/F2", "direct/F4", above 1 when Winograd is
// faster) and each path's median effective rate (the direct convolution's
// multiply-adds per second).
func BenchmarkResNetWinograd(b *testing.B) {
	for _, s := range []struct{ h, c, batch int }{{56, 64, 1}, {56, 64, 4}, {28, 128, 1}, {28, 128, 4}, {14, 256, 1}, {14, 256, 4}, {7, 512, 1}, {7, 512, 4}} {
		b.Run(fmt.Sprintf("%dx%dx%d_b%d", s.h, s.h, s.c, s.batch), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			g, _, _ := winoConvGraph(rng, s.h, s.h, s.c, s.c, PadSame, &Bounds{0, 6}, false, false)
			// The models stay reachable while their kernels run: a dropped
			// model's huge-page block of packed weights is unmapped
			// (hugemem.go), and the kernels read it through raw pointers.
			var ks []*convKernel
			var ms []*Model
			for _, v := range []int{-1, 2, 4} {
				winogradOn, winoVariant = v > 0, max(v, 0)
				m, err := Plan(g)
				winogradOn, winoVariant = true, 0
				if err != nil {
					b.Fatal(err)
				}
				k := m.nodes[0].k.(*convKernel)
				if (k.wino != nil) != (v > 0) || v > 0 && k.wino.m != v {
					b.Fatalf("variant %d not planned", v)
				}
				ks = append(ks, k)
				ms = append(ms, m)
			}
			in := randFloats(rng, s.batch*s.h*s.h*s.c)
			out := make([]float32, s.batch*s.h*s.h*s.c)
			e := &env{threads: 1, batch: s.batch}
			ins := [][]float32{in}
			var sides []abbench.Side
			for j, name := range []string{"direct", "F2", "F4"} {
				sides = append(sides, abbench.Side{Name: name, Run: func() { ks[j].run(e, ins, out) }})
			}
			t := abbench.Alternate(b, abbench.Wall, sides...)
			runtime.KeepAlive(ms)
			b.ReportMetric(abbench.Med(t.Ratios(0, 0, 1)), "direct/F2")
			b.ReportMetric(abbench.Med(t.Ratios(0, 0, 2)), "direct/F4")
			macs := float64(s.batch * s.h * s.h * s.c * 9 * s.c)
			t.Report(b, 0, func(s []float64) float64 { return macs / abbench.Med(s) }, 1e-9, "%s-GMAC/s")
		})
	}
}
