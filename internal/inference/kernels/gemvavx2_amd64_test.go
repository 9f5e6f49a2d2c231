package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
)

// TestGemvAVX2 checks the AVX2 few-row driver: bit for bit against the
// 6x16 tiles it replaces for one to four rows (each output sums from zero
// in k order, then the bias), and against the float64 reference, over
// panel counts that take every kernel width (1 to 6 panels and the
// remainders), a partial last panel, K with and without a tail of the
// 4-step loop, row strides above K, output strides above N,
// panel sub-ranges as threads split them, the clamp and HARD_SWISH.
func TestGemvAVX2(t *testing.T) {
	if !hasAVX2FMA || hasAVX512 {
		t.Skip("not the AVX2 path: the AVX2 few-row driver is not used")
	}
	defer func(g bool) { useGemvAVX2 = g }(useGemvAVX2)
	rng := rand.New(rand.NewPCG(7, 8))
	for _, s := range []struct{ n, k, lda int }{
		{1, 3, 3}, {16, 1, 1}, {17, 5, 5}, {33, 2, 3}, {48, 17, 20}, {64, 64, 64}, {96, 3, 3}, {100, 40, 41},
		{112, 8, 8}, {176, 7, 9}, {240, 960, 960}, {1001, 67, 70}, {1001, 1024, 1024},
	} {
		for m := 1; m <= gemvAVX2Rows; m++ {
			for _, act := range []Act{{Lo: NoClampLo, Hi: NoClampHi}, {Lo: -0.3, Hi: 0.3}, {Lo: 0, Hi: 6, HardSwish: true}, {Lo: NoClampLo, Hi: NoClampHi, HardSwish: true}} {
				name := fmt.Sprintf("%dx%dx%d/lda%d/%v", m, s.k, s.n, s.lda, act)
				a := randSlice(rng, m*s.lda)
				for i := range a {
					a[i] *= 4 // HARD_SWISH's bends at -3 and 3 are crossed
				}
				w := randSlice(rng, s.n*s.k)
				bias := randSlice(rng, s.n)
				p := PackB(w, s.n, s.k, bias)
				if p.nr != NR {
					t.Fatalf("%s: packed %d wide, want %d", name, p.nr, NR)
				}
				ldc := s.n + 3
				useGemvAVX2 = false
				want := make([]float32, m*ldc)
				GemmAct(m, a, s.lda, p, act, want, ldc)
				useGemvAVX2 = true
				got := make([]float32, m*ldc)
				GemmAct(m, a, s.lda, p, act, got, ldc)
				if !slices.Equal(got, want) {
					t.Fatalf("%s: differs from the 6x16 tiles", name)
				}
				if !act.HardSwish {
					ref := refGemm(m, s.n, s.k, a, s.lda, w, bias, act.Lo, act.Hi)
					for i := 0; i < m; i++ {
						closeTo(t, got[i*ldc:i*ldc+s.n], ref[i*s.n:(i+1)*s.n], 1e-7*float64(s.k)+1e-6) // float32 sums of k products
					}
				}
				// Panel sub-ranges, from the last, as threads splitting
				// the columns call them; the padding columns stay untouched.
				for i := range got {
					got[i] = -7
				}
				for q := p.Panels(); q > 0; q -= 5 {
					GemmPanelsAct(m, a, s.lda, p, max(q-5, 0), q, act, got, ldc)
				}
				for i := 0; i < m; i++ {
					if !slices.Equal(got[i*ldc:i*ldc+s.n], want[i*ldc:i*ldc+s.n]) {
						t.Fatalf("%s: panel sub-ranges differ from the 6x16 tiles", name)
					}
					for j := s.n; j < ldc; j++ {
						if got[i*ldc+j] != -7 {
							t.Fatalf("%s: wrote column %d past N", name, j)
						}
					}
				}
			}
		}
	}
}

// BenchmarkGemvAVX2 compares the AVX2 few-row driver ("gemv") with the 6x16
// tiles ("tiles"), alternately call by call on one thread's CPU clock, on
// the layers it is for: MobileNet V3-Large's squeeze-excite 1x1
// convolutions and classifier (72x24, 960x240, 240x960, 960x1280,
// 1280x1001) and V1's classifier (1024x1001), one to four rows; four rows
// are a sub-batch of four images (batch 8 on two threads). Every call
// takes the next of copies of the weights filling 64 MiB, so it reads them
// from memory, as a whole model's last layers mostly do. It reports each
// one's median GMAC/s and the quartiles of the per-pair ratios of the
// tiles' time over the driver's ("speedup").
func BenchmarkGemvAVX2(b *testing.B) {
	if !hasAVX2FMA || hasAVX512 {
		b.Skip("not the AVX2 path")
	}
	defer func(g bool) { useGemvAVX2 = g }(useGemvAVX2)
	for _, s := range []struct{ m, k, n int }{
		{1, 72, 24}, {1, 960, 240}, {1, 240, 960}, {1, 960, 1280}, {1, 1280, 1001}, {1, 1024, 1001},
		{2, 1024, 1001}, {3, 1024, 1001}, {4, 1024, 1001}, {4, 960, 240}, {4, 240, 960}, {4, 1280, 1001},
	} {
		b.Run(fmt.Sprintf("%dx%dx%d", s.m, s.k, s.n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			a := randSlice(rng, s.m*s.k)
			w, bias := randSlice(rng, s.n*s.k), randSlice(rng, s.n)
			ps := make([]*PackedB, max(2, (64<<20)/(4*s.k*s.n)))
			for i := range ps {
				ps[i] = PackB(w, s.n, s.k, bias)
			}
			c := make([]float32, s.m*s.n)
			act := Act{Lo: 0, Hi: NoClampHi}
			var p *PackedB
			runs := 0
			side := func(name string, on bool) abbench.Side {
				return abbench.Side{Name: name, Setup: func() {
					p = ps[runs%len(ps)]
					runs++
					useGemvAVX2 = on
				}, Run: func() { GemmAct(s.m, a, s.k, p, act, c, s.n) }}
			}
			t := abbench.Alternate(b, abbench.ThreadCPU, side("gemv", true), side("tiles", false))
			t.ReportRate(b, 0, abbench.Med, float64(s.m*s.k*s.n)/1e9, "med-GMAC/s-%s")
			abbench.ReportQuartiles(b, t.Ratios(0, 1, 0), "speedup")
		})
	}
}

// TestStreamReadAVX2 checks the AVX2 reads BenchmarkGemvAVX2Bound times
// the one-row kernel against: each must read every float it is meant to
// (their sums against float64 ones).
func TestStreamReadAVX2(t *testing.T) {
	if !hasAVX2FMA {
		t.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	x := randSlice(rng, 6*5*16+64)
	var out [8]float32
	lanes := func() float64 {
		s := 0.0
		for _, v := range out {
			s += float64(v)
		}
		return s
	}
	sum := func(s []float32) float64 {
		t := 0.0
		for _, v := range s {
			t += float64(v)
		}
		return t
	}
	streamReadAVX2(&x[0], 6*64, &out[0])
	if got, want := lanes(), sum(x[:6*64]); math.Abs(got-want) > 1e-3 {
		t.Errorf("streamReadAVX2: sum %g, want %g", got, want)
	}
	// Six panels of 3 steps, 5*16+3 floats apart: the floats between
	// the panels' steps are not read.
	const k, stride = 3, 5*16 + 3
	want := 0.0
	for j := 0; j < 6; j++ {
		want += sum(x[j*stride : j*stride+k*16])
	}
	panelRead6AVX2(&x[0], k, stride, &out[0])
	if got := lanes(); math.Abs(got-want) > 1e-3 {
		t.Errorf("panelRead6AVX2: sum %g, want %g", got, want)
	}
}

// BenchmarkGemvAVX2Bound times the one-row kernels of gemvAVX2 on V1's
// classifier (1x1024x1001) against plain reads of the same weights, run by
// run on one thread's CPU clock, each run on the next of copies filling
// 64 MiB (weights from memory, as in a model at batch 1): "read6" reads
// the panels six side by side as gemvAVX2r1g6 does, without its
// multiply-adds, "read1" front to back in one stream. It reports the
// median time of the kernel and the quartiles of the reads' time over the
// kernel's. On Zen 3 (-count 5, load 10-14) the kernel took 273-336 us,
// read6/gemv medians 0.97-0.99 and read1/gemv 1.44-1.49: the multiply-adds
// hide entirely behind the weights' arrival (the kernel is at the bound of
// its six streams), and a single stream is slower than six.
func BenchmarkGemvAVX2Bound(b *testing.B) {
	if !hasAVX2FMA || hasAVX512 {
		b.Skip("not the AVX2 path")
	}
	const k, n = 1024, 1001
	rng := rand.New(rand.NewPCG(1, 1))
	a := randSlice(rng, k)
	w, bias := randSlice(rng, n*k), randSlice(rng, n)
	ps := make([]*PackedB, (64<<20)/(4*k*n))
	for i := range ps {
		ps[i] = PackB(w, n, k, bias)
	}
	c := make([]float32, n)
	var out [8]float32
	act := Act{Lo: NoClampLo, Hi: NoClampHi}
	var p *PackedB
	runs := 0
	next := func() { p = ps[runs%len(ps)]; runs++ }
	full := n / NR // whole panels: the reads take only these
	t := abbench.Alternate(b, abbench.ThreadCPU,
		abbench.Side{Name: "gemv", Setup: next, Run: func() { GemmAct(1, a, k, p, act, c, n) }},
		abbench.Side{Name: "read6", Setup: next, Run: func() {
			q := 0
			for ; q+6 <= full; q += 6 {
				panelRead6AVX2(&p.panels[q*k*NR], k, k*NR, &out[0])
			}
			streamReadAVX2(&p.panels[q*k*NR], (len(p.panels)-q*k*NR)&^63, &out[0])
		}},
		abbench.Side{Name: "read1", Setup: next, Run: func() { streamReadAVX2(&p.panels[0], len(p.panels)&^63, &out[0]) }},
	)
	t.Report(b, 0, abbench.Med, 1e6, "med-us-%s")
	abbench.ReportQuartiles(b, t.Ratios(0, 1, 0), "read6/gemv")
	abbench.ReportQuartiles(b, t.Ratios(0, 2, 0), "read1/gemv")
}
