package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// resnetConv3x3 is a 3x3 stride-1 SAME convolution of ResNet-50@224 on the
// gathered path: h×h×c to c channels.
func resnetConv3x3(rng *rand.Rand, h, c int) *convKernel {
	k := &convKernel{h: h, w: h, cin: c, oh: h, ow: h, cout: c, kh: 3, kw: 3, sh: 1, sw: 1, padT: 1, padL: 1, lo: 0, hi: kernels.NoClampHi}
	k.pb = kernels.PackB(randFloats(rng, c*9*c), c, 9*c, randFloats(rng, c))
	return k
}

// BenchmarkResNetConv3x3 runs the 3x3 convolutions of ResNet-50@224's four
// stages on one thread as a worker at batch 8 on 2 threads runs them (stage
// 1 image by image, the later stages on a sub-batch of 4), and reports
// multiply-adds per CPU second and the fastest run's rate (gathering the
// windows included; kernels' BenchmarkGemmShapes has the GEMMs alone).
// Gathering 96 or 192 pixels at a time instead of 48 measured the same.
func BenchmarkResNetConv3x3(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range []struct{ h, c, batch int }{{56, 64, 1}, {28, 128, 4}, {14, 256, 4}, {7, 512, 4}} {
		k := resnetConv3x3(rng, s.h, s.c)
		in := randFloats(rng, s.batch*s.h*s.h*s.c)
		out := make([]float32, s.batch*s.h*s.h*s.c)
		macs := float64(s.batch * s.h * s.h * s.c * k.pb.K)
		b.Run(fmt.Sprintf("%dx%dx%d_b%d", s.h, s.h, s.c, s.batch), func(b *testing.B) {
			e := &env{threads: 1, batch: s.batch}
			best := math.Inf(1)
			cpu0 := cpuSeconds()
			for b.Loop() {
				t0 := time.Now()
				k.run(e, [][]float32{in}, out)
				best = min(best, time.Since(t0).Seconds())
			}
			b.ReportMetric(macs*float64(b.N)/(cpuSeconds()-cpu0)/1e9, "cpu-GMAC/s")
			b.ReportMetric(macs/best/1e9, "best-GMAC/s")
		})
	}
}

// cpuSeconds is the process's user+system CPU time: steadier than wall
// time on a shared machine.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
