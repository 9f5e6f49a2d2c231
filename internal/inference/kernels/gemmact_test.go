package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// refHardSwish is HARD_SWISH as TFLite's reference kernel computes it.
func refHardSwish(x float32) float32 { return x * min(max(x+3, 0), 6) / 6 }

// TestGemmHardSwish checks the HARD_SWISH epilogue on every GEMM path
// (generic, AVX2 6×16, AVX-512 16-wide, AVX-512 panel-major and banded,
// the banded one with K in one and in several blocks): odd M, N and K,
// partial panels, bounds that bind, panel sub-ranges. Each result must
// equal the same path's plain GEMM followed by HardSwish bit for bit (the
// epilogue rounds as the separate pass does), and the float64 reference
// within 1e-5.
func TestGemmHardSwish(t *testing.T) {
	paths(t, func(t *testing.T) {
		defer func(kc int, banded bool) { kcOverride, bandedGemm = kc, banded }(kcOverride, bandedGemm)
		type variant struct {
			banded bool
			kc     int
		}
		variants := []variant{{bandedGemm, 0}}
		if hasAVX512 {
			variants = append(variants, variant{false, 0}, variant{true, 8}, variant{true, 12})
		}
		rng := rand.New(rand.NewPCG(5, 6))
		for _, v := range variants {
			bandedGemm, kcOverride = v.banded, v.kc
			for _, s := range []struct{ m, n, k, lda int }{
				{1, 1, 1, 1}, {1, 33, 5, 5}, {7, 17, 27, 30}, {13, 40, 64, 64}, {16, 10, 40, 44}, {29, 16, 27, 27},
				{37, 96, 100, 128}, {64, 1001, 33, 33}, {25, 70, 37, 41}, {100, 128, 9, 9},
			} {
				for _, bnd := range [][2]float32{{NoClampLo, NoClampHi}, {0, 6}, {-2.5, 2}} {
					a := randSlice(rng, s.m*s.lda)
					for i := range a {
						a[i] *= 4 // sums across -3..3, where HARD_SWISH bends
					}
					w := randSlice(rng, s.n*s.k)
					bias := randSlice(rng, s.n)
					p := PackB(w, s.n, s.k, bias)
					act := Act{Lo: bnd[0], Hi: bnd[1], HardSwish: true}
					got := make([]float32, s.m*s.n)
					GemmAct(s.m, a, s.lda, p, act, got, s.n)
					plain := make([]float32, s.m*s.n)
					Gemm(s.m, a, s.lda, p, bnd[0], bnd[1], plain, s.n)
					HardSwish(plain)
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(plain[i]) {
							t.Fatalf("%+v %v bounds %v: element %d = %g, GEMM then HardSwish %g", v, s, bnd, i, got[i], plain[i])
						}
					}
					want := refGemm(s.m, s.n, s.k, a, s.lda, w, bias, bnd[0], bnd[1])
					for i := range want {
						want[i] = refHardSwish(want[i])
					}
					closeTo(t, got, want, 1e-5)
					// Panel by panel from the last, as threads splitting
					// columns call it.
					clear(got)
					for q := p.Panels() - 1; q >= 0; q-- {
						GemmPanelsAct(s.m, a, s.lda, p, q, q+1, act, got, s.n)
					}
					closeTo(t, got, want, 1e-5)
				}
			}
		}
	})
}

// TestGemmHardSwishValues runs chosen values through the epilogue of each
// path (a K=1 product of x by weight 1, bias 0, so the sum is x) and
// compares with the scalar formula bit for bit: the bends at -3 and 3,
// zeros, values where x*(x+3) rounds, large, tiny and subnormal values.
func TestGemmHardSwishValues(t *testing.T) {
	xs := []float32{-1e30, -100, -3.0000002, -3, -2.9999998, -2.5, -1.5, -1, -0.5, -1e-30, 0, 1e-30,
		math.SmallestNonzeroFloat32, 1e-3, 0.1, 1.0 / 3, 0.5, 1, 1.5, 2.9999998, 3, 3.0000002, 7, 1e30}
	rng := rand.New(rand.NewPCG(7, 8))
	for range 4000 {
		xs = append(xs, float32(rng.NormFloat64()*4))
	}
	want := make([]float32, len(xs))
	for i, x := range xs {
		want[i] = refHardSwish(x)
	}
	paths(t, func(t *testing.T) {
		for _, n := range []int{1, 16, 32, 33} {
			// n identical columns: every column of a tile sees x.
			w := make([]float32, n)
			for i := range w {
				w[i] = 1
			}
			p := PackB(w, n, 1, make([]float32, n))
			c := make([]float32, len(xs)*n)
			GemmAct(len(xs), xs, 1, p, Act{Lo: NoClampLo, Hi: NoClampHi, HardSwish: true}, c, n)
			for i, x := range xs {
				for j := 0; j < n; j++ {
					if g := c[i*n+j]; math.Float32bits(g) != math.Float32bits(want[i]) {
						t.Fatalf("n %d: HardSwish(%g) = %g (%#x), want %g (%#x)", n, x, g, math.Float32bits(g), want[i], math.Float32bits(want[i]))
					}
				}
			}
		}
	})
}
