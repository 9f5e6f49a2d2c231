//go:build amd64

package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
)

// BenchmarkGemmWarmCold measures what a layer loses to bringing its
// weights from L3: the same GEMM with its packed weights cold (the next of
// copies filling 12 MB, about MobileNet V1's weights, as in a whole model at batch 1, where every layer
// meets weights last read an image ago) and warm (the copy read through
// just before the timed call, untimed, so that it sits in L2 when the
// layer starts; "half" warms only the first half of the panels). The modes
// take turns call by call on the thread's CPU clock; med-us-* are median
// calls. Shapes: MobileNet V1 1.0@128's 8x8 512→512, 4x4 512→1024 and
// 1024→1024 layers at batch 1.
func BenchmarkGemmWarmCold(b *testing.B) {
	if !hasAVX512 {
		b.Skip("no AVX-512: the banded driver is not used")
	}
	for _, s := range []struct{ m, k, n int }{{64, 512, 512}, {16, 512, 1024}, {16, 1024, 1024}} {
		b.Run(fmt.Sprintf("%dx%dx%d", s.m, s.k, s.n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(3, 4))
			a := randSlice(rng, s.m*s.k)
			w, bias := randSlice(rng, s.n*s.k), randSlice(rng, s.n)
			ps := make([]*PackedB, max(3, (12<<20)/(4*s.k*s.n)))
			for i := range ps {
				ps[i] = PackB(w, s.n, s.k, bias)
			}
			c := make([]float32, s.m*s.n)
			var sink [16]float32
			// Every run takes the next copy of the weights; "warm" and
			// "half" read it (or half of it) through first, untimed.
			var p *PackedB
			runs := 0
			mode := func(name string, warm int) abbench.Side {
				return abbench.Side{Name: name, Setup: func() {
					p = ps[runs%len(ps)]
					runs++
					if warm > 0 {
						streamRead512(&p.panels[0], len(p.panels)/warm&^63, &sink[0])
					}
				}, Run: func() { GemmAct(s.m, a, s.k, p, Act{Lo: 0, Hi: NoClampHi}, c, s.n) }}
			}
			t := abbench.Alternate(b, abbench.ThreadCPU, mode("cold", 0), mode("half", 2), mode("warm", 1))
			t.Report(b, 0, abbench.Med, 1e6, "med-us-%s")
			t.ReportRate(b, 0, abbench.Med, float64(s.m*s.k*s.n)/1e9, "med-GMAC/s-%s")
		})
	}
}

// BenchmarkGemmOneBandFullK compares one-band products in one K block
// ("full", oneBandFullK) with L1-sized K blocks ("kc"), weights cold, on
// one image's late layers: MobileNet V1 1.0@128's 4x4 and 8x8 layers,
// ResNet-50's 7x7 stage (49x4608x512 keeps its K blocks: panels over an
// eighth of L2), V2/V3's 4x4 and 7x7 expansions and projections.
func BenchmarkGemmOneBandFullK(b *testing.B) {
	if !hasAVX512 {
		b.Skip("no AVX-512: the banded driver is not used")
	}
	for _, s := range []struct{ m, k, n int }{{16, 512, 1024}, {16, 1024, 1024}, {64, 512, 512}, {64, 256, 512}, {49, 2048, 512}, {49, 512, 2048}, {49, 1024, 2048}, {16, 320, 1280}, {16, 960, 160}, {49, 960, 160}, {96, 128, 256}} {
		b.Run(fmt.Sprintf("%dx%dx%d", s.m, s.k, s.n), func(b *testing.B) {
			old := oneBandFullK
			benchGemmModes(b, s.m, s.k, s.n, false, []string{"kc", "full"}, func(mode string) {
				oneBandFullK = mode == "full" || (mode == "" && old)
			})
		})
	}
}
