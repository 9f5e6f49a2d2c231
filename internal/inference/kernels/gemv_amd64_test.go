package kernels

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestGemv checks the few-row AVX-512 driver: against the float64
// reference, and bit for bit against the banded GEMM it replaces for one
// to four rows (each output sums its products in the same order), over
// panel counts that take the 4-, 2- and 1-panel kernels, a partial last
// panel, K with and without a tail of the 4-step loop, row strides above
// K, panel sub-ranges, the clamp and HARD_SWISH.
func TestGemv(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU: the few-row driver is not used")
	}
	defer func(g, banded bool) { useGemv, bandedGemm = g, banded }(useGemv, bandedGemm)
	rng := rand.New(rand.NewPCG(5, 6))
	for _, s := range []struct{ n, k, lda int }{
		{33, 5, 5}, {64, 1, 1}, {96, 17, 20}, {128, 64, 64}, {160, 3, 3}, {224, 40, 41}, {250, 8, 8},
		{288, 100, 100}, {1001, 67, 70}, {1280, 960, 960},
	} {
		for m := 1; m <= gemvRows; m++ {
			for _, act := range []Act{{Lo: NoClampLo, Hi: NoClampHi}, {Lo: -0.3, Hi: 0.3}, {Lo: NoClampLo, Hi: NoClampHi, HardSwish: true}} {
				name := fmt.Sprintf("%dx%dx%d/lda%d/%v", m, s.k, s.n, s.lda, act)
				a := randSlice(rng, m*s.lda)
				for i := range a {
					a[i] *= 4 // HARD_SWISH's bends at -3 and 3 are crossed
				}
				w := randSlice(rng, s.n*s.k)
				bias := randSlice(rng, s.n)
				p := PackB(w, s.n, s.k, bias)
				if p.nr != NR512 {
					t.Fatalf("%s: packed %d wide, want %d", name, p.nr, NR512)
				}
				useGemv, bandedGemm = false, true
				want := make([]float32, m*s.n)
				GemmAct(m, a, s.lda, p, act, want, s.n)
				useGemv = true
				got := make([]float32, m*s.n)
				GemmAct(m, a, s.lda, p, act, got, s.n)
				if !slices.Equal(got, want) {
					t.Fatalf("%s: differs from the banded GEMM", name)
				}
				if !act.HardSwish {
					closeTo(t, got, refGemm(m, s.n, s.k, a, s.lda, w, bias, act.Lo, act.Hi), 1e-7*float64(s.k)+1e-6) // float32 sums of k products
				}
				// Panel sub-ranges, from the last, as threads splitting
				// the columns call them.
				clear(got)
				for q := p.Panels(); q > 0; q -= 3 {
					GemmPanelsAct(m, a, s.lda, p, max(q-3, 0), q, act, got, s.n)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("%s: panel sub-ranges differ from the banded GEMM", name)
				}
			}
		}
	}
}

// BenchmarkGemv compares the few-row driver ("gemv") with the banded
// GEMM ("banded") and with the driver as it was before its kernels took
// several rows at once ("before": two or three rows one by one, four on the
// banded GEMM), alternately call by call on one thread (benchGemmModes),
// on the layers it is for: MobileNet V3-Large's squeeze-excite 1x1
// convolutions and classifier (960x240, 240x960, 960x1280, 1280x1001) and
// V1's classifier (1024x1001), one to four rows; four rows are a
// sub-batch of four images (batch 8 on two threads). The weights rotate
// through copies filling 32 MiB, so calls read them from L3 or memory, as
// a whole model does.
func BenchmarkGemv(b *testing.B) {
	if !hasAVX512 {
		b.Skip("no AVX-512")
	}
	defer func(g, r bool) { useGemv, gemvMultiRow = g, r }(useGemv, gemvMultiRow)
	for _, s := range []struct{ m, k, n int }{
		{1, 960, 240}, {1, 240, 960}, {1, 960, 1280}, {1, 1280, 1001}, {1, 1024, 1001}, {2, 1280, 1001}, {3, 1280, 1001},
		{4, 1024, 1001}, {4, 960, 240}, {4, 240, 960}, {4, 1280, 1001},
	} {
		b.Run(fmt.Sprintf("%dx%dx%d", s.m, s.k, s.n), func(b *testing.B) {
			benchGemmModes(b, s.m, s.k, s.n, false, []string{"banded", "before", "gemv"}, func(mode string) {
				useGemv, gemvMultiRow = mode != "banded", mode != "before"
			})
		})
	}
}
