package graph

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// BenchmarkResNetWinograd runs ResNet-50@224's 3x3 convolutions on one
// thread, at batch 1 and at the sub-batch of 4 a worker of batch 8 on 2
// threads runs, on the direct path as planned with Winograd off and on the
// Winograd path, in alternation call by call, and reports the median over
// pairs of the direct path's time over Winograd's ("direct/wino", above 1
// when Winograd is faster) and each path's median effective rate (the
// direct convolution's multiply-adds per second).
func BenchmarkResNetWinograd(b *testing.B) {
	for _, s := range []struct{ h, c, batch int }{{56, 64, 1}, {56, 64, 4}, {28, 128, 1}, {28, 128, 4}, {14, 256, 1}, {14, 256, 4}, {7, 512, 1}, {7, 512, 4}} {
		b.Run(fmt.Sprintf("%dx%dx%d_b%d", s.h, s.h, s.c, s.batch), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			g, _, _ := winoConvGraph(rng, s.h, s.h, s.c, s.c, PadSame, &Bounds{0, 6}, false, false)
			wino, err := Plan(g)
			if err != nil {
				b.Fatal(err)
			}
			winogradOn = false
			direct, err := Plan(g)
			winogradOn = true
			if err != nil {
				b.Fatal(err)
			}
			wk, dk := wino.nodes[0].k.(*convKernel), direct.nodes[0].k.(*convKernel)
			if wk.wino == nil {
				b.Skip("not planned on the Winograd path")
			}
			in := randFloats(rng, s.batch*s.h*s.h*s.c)
			out := make([]float32, s.batch*s.h*s.h*s.c)
			e := &env{threads: 1, batch: s.batch}
			ins := [][]float32{in}
			wk.run(e, ins, out)
			dk.run(e, ins, out)
			var ratios, tw, td []float64
			for i := 0; b.Loop(); i++ {
				t0 := time.Now()
				if i%2 == 0 {
					wk.run(e, ins, out)
				} else {
					dk.run(e, ins, out)
				}
				t1 := time.Now()
				if i%2 == 0 {
					dk.run(e, ins, out)
				} else {
					wk.run(e, ins, out)
				}
				a, c := t1.Sub(t0).Seconds(), time.Since(t1).Seconds()
				if i%2 == 1 {
					a, c = c, a
				}
				tw, td, ratios = append(tw, a), append(td, c), append(ratios, c/a)
			}
			for _, v := range [][]float64{ratios, tw, td} {
				slices.Sort(v)
			}
			macs := float64(s.batch * s.h * s.h * s.c * 9 * s.c)
			b.ReportMetric(ratios[len(ratios)/2], "direct/wino")
			b.ReportMetric(macs/tw[len(tw)/2]/1e9, "wino-GMAC/s")
			b.ReportMetric(macs/td[len(td)/2]/1e9, "direct-GMAC/s")
		})
	}
}
