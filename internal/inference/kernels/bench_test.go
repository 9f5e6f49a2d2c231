package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cspipe/cspipe/internal/inference/abbench"
)

// BenchmarkGemm reports GFLOP/s of the packed GEMM on shapes from
// MobileNet V1 1.0@128 pointwise layers (M pixels, K in, N out channels).
func BenchmarkGemm(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, s := range []struct{ m, k, n int }{{4096, 32, 64}, {1024, 128, 128}, {256, 256, 256}, {64, 512, 512}, {64, 1024, 1024}, {16, 1024, 1024}} {
		b.Run(fmt.Sprintf("%dx%dx%d", s.m, s.k, s.n), func(b *testing.B) {
			a := randSlice(rng, s.m*s.k)
			p := PackB(randSlice(rng, s.n*s.k), s.n, s.k, randSlice(rng, s.n))
			c := make([]float32, s.m*s.n)
			cpu0 := cpuSeconds()
			for b.Loop() {
				Gemm(s.m, a, s.k, p, 0, 6, c, s.n)
			}
			flops := 2 * float64(s.m*s.k*s.n) * float64(b.N)
			b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			// Per CPU second: steadier on a shared machine.
			b.ReportMetric(flops/(cpuSeconds()-cpu0)/1e9, "cpu-GFLOP/s")
		})
	}
}

// cpuSeconds is the CPU time all the process's threads have used.
func cpuSeconds() float64 {
	t, _ := abbench.ProcessCPU.Now()
	return t.Seconds()
}

// BenchmarkDepthwise reports GFLOP/s of 3x3 depthwise layers of MobileNet
// V1 1.0@128 and 5x5 ones of V3-Large@224.
func BenchmarkDepthwise(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, s := range []struct{ h, c, stride, k int }{{64, 32, 1, 3}, {64, 64, 2, 3}, {32, 128, 1, 3}, {16, 256, 2, 3}, {8, 512, 1, 3}, {8, 512, 2, 3}, {4, 1024, 1, 3}, {28, 120, 1, 5}, {14, 672, 2, 5}} {
		b.Run(fmt.Sprintf("%dx%dx%d_k%d_s%d", s.h, s.h, s.c, s.k, s.stride), func(b *testing.B) {
			o := (s.h + s.stride - 1) / s.stride
			pad := max((o-1)*s.stride+s.k-s.h, 0) / 2
			p := DWParams{H: s.h, W: s.h, C: s.c, KH: s.k, KW: s.k, SH: s.stride, SW: s.stride, PadT: pad, PadL: pad, OH: o, OW: o, Lo: 0, Hi: 6}
			in, w, bias := randSlice(rng, s.h*s.h*s.c), randSlice(rng, s.k*s.k*s.c), randSlice(rng, s.c)
			out := make([]float32, o*o*s.c)
			scratch := make([]float32, DWScratch(&p))
			for _, blocked := range []bool{false, true} {
				name := "rowwise"
				if blocked {
					name = "blocked" // DepthwiseBlocked: four pixels per step
				}
				b.Run(name, func(b *testing.B) {
					cpu0 := cpuSeconds()
					for b.Loop() {
						if blocked {
							DepthwiseBlocked(&p, in, w, bias, out, 0, o, scratch)
						} else {
							Depthwise(&p, in, w, bias, out, 0, o)
						}
					}
					b.ReportMetric(2*float64(s.k*s.k*o*o*s.c)*float64(b.N)/(cpuSeconds()-cpu0)/1e9, "cpu-GFLOP/s")
				})
			}
		})
	}
}

// BenchmarkGemmCold reports the GEMM on the pointwise and classifier shapes
// of MobileNet V1 1.0 at 128 (batch 1 and 8) and 224, with
// weights cold as in a whole model: each iteration uses the next of enough
// weight copies to overflow L2 many times. "panel" is the panel-major loop,
// "banded" the cache-blocked driver (AVX-512 only), side by side.
func BenchmarkGemmCold(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, s := range []struct{ m, k, n int }{
		{4096, 32, 64}, {1024, 128, 128}, {256, 256, 256}, {64, 512, 512}, {16, 1024, 1024}, {1, 1024, 1001}, // 128, batch 1
		{512, 512, 512}, {128, 1024, 1024}, {8, 1024, 1001}, // 128, 8 images
		{12544, 32, 64}, {196, 512, 512}, {49, 1024, 1024}, // 224, batch 1
	} {
		a := randSlice(rng, s.m*s.k)
		c := make([]float32, s.m*s.n)
		copies := max(2, (32<<20)/(4*s.k*s.n))
		ps := make([]*PackedB, copies)
		w, bias := randSlice(rng, s.n*s.k), randSlice(rng, s.n)
		for i := range ps {
			ps[i] = PackB(w, s.n, s.k, bias)
		}
		for _, banded := range []bool{false, true} {
			name := "panel"
			if banded {
				name = "banded"
			}
			b.Run(fmt.Sprintf("%dx%dx%d/%s", s.m, s.k, s.n, name), func(b *testing.B) {
				if banded && !hasAVX512 {
					b.Skip("no AVX-512")
				}
				defer func(v bool) { bandedGemm = v }(bandedGemm)
				bandedGemm = banded
				cpu0 := cpuSeconds()
				i := 0
				for b.Loop() {
					Gemm(s.m, a, s.k, ps[i], 0, 6, c, s.n)
					i = (i + 1) % len(ps)
				}
				b.ReportMetric(float64(s.m*s.k*s.n)*float64(b.N)/(cpuSeconds()-cpu0)/1e9, "cpu-GMAC/s")
			})
		}
	}
}

// BenchmarkGemmHardSwish compares, on the 1x1 layers of MobileNet V3-Large
// at 224 that HARD_SWISH follows (M pixels, K in, N out channels), the
// plain GEMM ("clamp"), HARD_SWISH in the GEMM's epilogue ("epilogue") and
// the GEMM followed by a separate HardSwish pass over its output ("pass").
func BenchmarkGemmHardSwish(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, s := range []struct{ m, k, n int }{{196, 80, 240}, {196, 112, 672}, {49, 160, 960}, {49, 960, 160}, {1, 960, 1280}} {
		a := randSlice(rng, s.m*s.k)
		p := PackB(randSlice(rng, s.n*s.k), s.n, s.k, randSlice(rng, s.n))
		c := make([]float32, s.m*s.n)
		for _, mode := range []string{"clamp", "epilogue", "pass"} {
			b.Run(fmt.Sprintf("%dx%dx%d/%s", s.m, s.k, s.n, mode), func(b *testing.B) {
				act := Act{Lo: NoClampLo, Hi: NoClampHi, HardSwish: mode == "epilogue"}
				cpu0 := cpuSeconds()
				for b.Loop() {
					GemmAct(s.m, a, s.k, p, act, c, s.n)
					if mode == "pass" {
						HardSwish(c)
					}
				}
				b.ReportMetric((cpuSeconds()-cpu0)*1e6/float64(b.N), "cpu-µs/op")
			})
		}
	}
}

// gemmShapes are the GEMM calls ResNet-50@224 and MobileNet V1 1.0@128 make
// at batch 8 on 2 threads (each worker runs a sub-batch of 4 images on one
// thread) and at batch 1 on one thread, as the graph issues them: M is the
// rows of one call (48-row gather and residual blocks, 16- or 52-row
// remainders, bands of fused depthwise+1x1 pairs, whole layers for plain
// 1x1 convolutions), lda the row stride of A (the stems read their column
// strip in place, 42 and 18 floats apart). Together the ResNet rows are
// over 95 % of its multiply-adds, the V1 rows all of V1's GEMMs.
var gemmShapes = []struct {
	model        string
	m, k, n, lda int
}{
	{"resnet50", 48, 2304, 256, 2304}, // stage 3 3x3, gathered
	{"resnet50", 48, 1152, 128, 1152}, // stage 2 3x3
	{"resnet50", 48, 576, 64, 576},    // stage 1 3x3
	{"resnet50", 48, 256, 1024, 256},  // stage 3 expand + residual
	{"resnet50", 784, 1024, 256, 1024},
	{"resnet50", 48, 4608, 512, 4608}, // stage 4 3x3
	{"resnet50", 48, 128, 512, 128},
	{"resnet50", 48, 64, 256, 64},
	{"resnet50", 3136, 512, 128, 512},
	{"resnet50", 48, 512, 2048, 512},
	{"resnet50", 112, 147, 64, 42}, // 7x7 stem, one output row
	{"resnet50", 3136, 256, 64, 256},
	{"resnet50", 196, 2048, 512, 2048},
	{"resnet50", 48, 512, 1024, 512},
	{"resnet50", 48, 256, 512, 256},
	{"resnet50", 52, 4608, 512, 4608},
	{"resnet50", 48, 1024, 2048, 1024},
	{"resnet50", 3136, 64, 256, 64},
	{"resnet50", 16, 2304, 256, 2304},
	// Batch 1 on one thread: stage 4's 49 rows.
	{"resnet50-b1", 49, 4608, 512, 4608},
	{"resnet50-b1", 49, 512, 2048, 512},
	{"resnet50-b1", 49, 2048, 512, 2048},
	// MobileNet V1 1.0@128 at batch 8 on 2 threads: image by image up to
	// the split (the stem row by row, the fused depthwise+1x1 pairs band by
	// band), then each layer once over the worker's 4 images.
	{"v1", 64, 27, 32, 18}, // stem, one output row
	{"v1", 192, 32, 64, 32},
	{"v1", 96, 64, 128, 64},
	{"v1", 96, 128, 128, 128},
	{"v1", 96, 128, 256, 128},
	{"v1", 1024, 256, 256, 256},
	{"v1", 256, 256, 512, 256},
	{"v1", 256, 512, 512, 512},
	{"v1", 64, 512, 1024, 512},
	{"v1", 64, 1024, 1024, 1024},
	{"v1", 4, 1024, 1001, 1024},
	// Batch 1 on one thread: the same up to the split, then one image's
	// rows.
	{"v1-b1", 256, 256, 256, 256},
	{"v1-b1", 64, 256, 512, 256},
	{"v1-b1", 64, 512, 512, 512},
	{"v1-b1", 16, 512, 1024, 512},
	{"v1-b1", 16, 1024, 1024, 1024},
	{"v1-b1", 1, 1024, 1001, 1024},
}

var benchPeak float64

// BenchmarkGemmShapes reports, for each shape of gemmShapes, multiply-adds
// per CPU second and their share of the core's measured FMA peak
// (PeakMACs; "%peak" is the fastest call's share), weights and A warm as
// between the blocks of one layer.
func BenchmarkGemmShapes(b *testing.B) {
	if benchPeak == 0 {
		benchPeak = PeakMACs(300 * time.Millisecond)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for _, s := range gemmShapes {
		b.Run(fmt.Sprintf("%s/%dx%dx%d", s.model, s.m, s.k, s.n), func(b *testing.B) {
			a := randSlice(rng, (s.m-1)*s.lda+s.k)
			p := PackB(randSlice(rng, s.n*s.k), s.n, s.k, randSlice(rng, s.n))
			c := make([]float32, s.m*s.n)
			// The fastest call as well as the average: on a shared
			// machine (or a vCPU whose sibling thread is busy) the
			// fastest is the one least disturbed, as PeakMACs' is.
			best := math.Inf(1)
			cpu0 := cpuSeconds()
			for b.Loop() {
				t0 := time.Now()
				Gemm(s.m, a, s.lda, p, 0, 6, c, s.n)
				best = min(best, time.Since(t0).Seconds())
			}
			macs := float64(s.m * s.k * s.n)
			b.ReportMetric(macs*float64(b.N)/(cpuSeconds()-cpu0)/1e9, "cpu-GMAC/s")
			b.ReportMetric(macs/best/1e9, "best-GMAC/s")
			if benchPeak > 0 {
				b.ReportMetric(100*macs/best/benchPeak, "%peak")
			}
		})
	}
}

// BenchmarkGemmResidual compares, on ResNet-50's 1x1 expansions that a
// residual ADD follows (M rows of a worker's sub-batch, K in, N out), the
// residual added in the GEMM's epilogue over all rows ("epilogue") with
// the GEMM over 48-row blocks each followed by Add and Clamp passes while
// the block is in cache ("blocks48", how the graph ran them before),
// multiply-adds per CPU second and the fastest run's rate. The residual
// and the output are larger than L2, as in the model.
func BenchmarkGemmResidual(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, s := range []struct{ m, k, n int }{{3136, 64, 256}, {3136, 128, 512}, {784, 256, 1024}, {196, 512, 2048}} {
		a := randSlice(rng, s.m*s.k)
		p := PackB(randSlice(rng, s.n*s.k), s.n, s.k, randSlice(rng, s.n))
		res := randSlice(rng, s.m*s.n)
		c := make([]float32, s.m*s.n)
		for _, mode := range []string{"epilogue", "blocks48"} {
			b.Run(fmt.Sprintf("%dx%dx%d/%s", s.m, s.k, s.n, mode), func(b *testing.B) {
				best := math.Inf(1)
				cpu0 := cpuSeconds()
				for b.Loop() {
					t0 := time.Now()
					if mode == "epilogue" {
						GemmAct(s.m, a, s.k, p, Act{Lo: 0, Hi: NoClampHi, Res: res, LdRes: s.n}, c, s.n)
					} else {
						for r := 0; r < s.m; r += 48 {
							n := min(48, s.m-r)
							Gemm(n, a[r*s.k:], s.k, p, NoClampLo, NoClampHi, c[r*s.n:], s.n)
							Add(c[r*s.n:(r+n)*s.n], c[r*s.n:(r+n)*s.n], res[r*s.n:(r+n)*s.n])
							Clamp(c[r*s.n:(r+n)*s.n], 0, NoClampHi)
						}
					}
					best = min(best, time.Since(t0).Seconds())
				}
				macs := float64(s.m * s.k * s.n)
				b.ReportMetric(macs*float64(b.N)/(cpuSeconds()-cpu0)/1e9, "cpu-GMAC/s")
				b.ReportMetric(macs/best/1e9, "best-GMAC/s")
			})
		}
	}
}
