package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cspipe/cspipe/internal/inference/abbench"
	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// resnetConv3x3 is a 3x3 stride-1 SAME convolution of ResNet-50@224: h×h×c
// to c channels, on the column-window path or gathering each pixel's
// window.
func resnetConv3x3(rng *rand.Rand, h, c int, columns bool) *convKernel {
	k := &convKernel{h: h, w: h, cin: c, oh: h, ow: h, cout: c, kh: 3, kw: 3, sh: 1, sw: 1, padT: 1, padL: 1, lo: 0, hi: kernels.NoClampHi}
	f := randFloats(rng, c*9*c)
	if columns {
		k.columns, k.wpad = true, h+2
		f = columnOrder(f, c, 3, 3, c)
	}
	k.pb = kernels.PackB(f, c, 9*c, randFloats(rng, c))
	return k
}

// BenchmarkResNetConv3x3 runs the 3x3 convolutions of ResNet-50@224's four
// stages on one thread, at batch 1 and as a worker at batch 8 on 2 threads
// runs them (stage 1 image by image, the later stages on a sub-batch of 4),
// on both paths ("planned" marks the one planConv picks), and reports
// multiply-adds per CPU second and the fastest run's rate (the gather or
// the strips included; kernels' BenchmarkGemmShapes has the GEMMs alone).
// Gathering 96 or 192 pixels at a time instead of 48 measured the same.
func BenchmarkResNetConv3x3(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range []struct{ h, c, batch int }{{56, 64, 1}, {28, 128, 1}, {28, 128, 4}, {14, 256, 1}, {14, 256, 4}, {7, 512, 1}, {7, 512, 4}} {
		in := randFloats(rng, s.batch*s.h*s.h*s.c)
		out := make([]float32, s.batch*s.h*s.h*s.c)
		macs := float64(s.batch * s.h * s.h * s.c * 9 * s.c)
		for _, columns := range []bool{false, true} {
			k := resnetConv3x3(rng, s.h, s.c, columns)
			mode := map[bool]string{false: "gather", true: "columns"}[columns]
			if k.wantColumns() == columns {
				mode += "-planned"
			}
			b.Run(fmt.Sprintf("%dx%dx%d_b%d/%s", s.h, s.h, s.c, s.batch, mode), func(b *testing.B) {
				e := &env{threads: 1, batch: s.batch}
				benchRate(b, macs, func() { k.run(e, [][]float32{in}, out) })
			})
		}
	}
}

// benchRate times run alone, b.N times, and reports its multiply-adds
// (macs a run) per second of the process's CPU time ("cpu-GMAC/s":
// steadier than wall time on a shared machine) and at the fastest run's
// wall time ("best-GMAC/s").
func benchRate(b *testing.B, macs float64, run func()) {
	best := math.Inf(1)
	cpu0, _ := abbench.ProcessCPU.Now()
	for b.Loop() {
		t0 := time.Now()
		run()
		best = min(best, time.Since(t0).Seconds())
	}
	cpu1, _ := abbench.ProcessCPU.Now()
	b.ReportMetric(macs*float64(b.N)/(cpu1-cpu0).Seconds()/1e9, "cpu-GMAC/s")
	b.ReportMetric(macs/best/1e9, "best-GMAC/s")
}

// BenchmarkResNetConv3x3Paths runs ResNet-50@224's 3x3 convolutions at
// batch 1 on one thread on both paths in alternation, call by call, and
// reports the median over pairs of the gathered path's time over the
// column-window path's ("gather/columns", above 1 when the strips are
// faster): the two see the same load, which a shared machine's absolute
// rates do not.
func BenchmarkResNetConv3x3Paths(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range []struct{ h, c int }{{56, 64}, {28, 128}, {14, 256}} {
		in := randFloats(rng, s.h*s.h*s.c)
		out := make([]float32, s.h*s.h*s.c)
		g, col := resnetConv3x3(rng, s.h, s.c, false), resnetConv3x3(rng, s.h, s.c, true)
		b.Run(fmt.Sprintf("%dx%dx%d", s.h, s.h, s.c), func(b *testing.B) {
			e := &env{threads: 1, batch: 1}
			ins := [][]float32{in}
			t := abbench.Alternate(b, abbench.Wall,
				abbench.Side{Name: "gather", Run: func() { g.run(e, ins, out) }},
				abbench.Side{Name: "columns", Run: func() { col.run(e, ins, out) }})
			b.ReportMetric(abbench.Med(t.Ratios(0, 0, 1)), "gather/columns")
		})
	}
}
