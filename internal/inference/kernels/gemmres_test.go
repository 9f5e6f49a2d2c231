package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestGemmResidual checks Act.Res on every GEMM path (generic, AVX2,
// AVX-512 panel-major, and the banded driver whose epilogue adds it, with K
// in one and in several blocks): odd M, N and K, partial panels, a residual
// with its own row stride, bounds that bind, HARD_SWISH after them, panel
// sub-ranges in any order. Each result must equal, bit for bit, the same
// path's GEMM with open bounds followed by Add of the residual, Clamp and
// HardSwish (the separate passes a convolution and its ADD ran before).
func TestGemmResidual(t *testing.T) {
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
		rng := rand.New(rand.NewPCG(7, 8))
		for _, v := range variants {
			bandedGemm, kcOverride = v.banded, v.kc
			for _, s := range []struct{ m, n, k, lda, ldr int }{
				{1, 1, 1, 1, 1}, {1, 33, 5, 5, 40}, {7, 17, 27, 30, 17}, {13, 64, 64, 64, 64}, {29, 96, 37, 41, 100},
				{49, 1001, 33, 33, 1001}, {100, 128, 9, 9, 130},
			} {
				for _, act := range []Act{
					{Lo: NoClampLo, Hi: NoClampHi}, {Lo: 0, Hi: 6}, {Lo: -0.5, Hi: 0.7}, {Lo: NoClampLo, Hi: NoClampHi, HardSwish: true},
				} {
					name := fmt.Sprintf("%+v %v bounds [%g, %g] hs %v", v, s, act.Lo, act.Hi, act.HardSwish)
					a := randSlice(rng, s.m*s.lda)
					w := randSlice(rng, s.n*s.k)
					bias := randSlice(rng, s.n)
					res := randSlice(rng, (s.m-1)*s.ldr+s.n)
					for i := range res {
						res[i] *= 3
					}
					p := PackB(w, s.n, s.k, bias)
					want := make([]float32, s.m*s.n)
					Gemm(s.m, a, s.lda, p, NoClampLo, NoClampHi, want, s.n)
					for i := 0; i < s.m; i++ {
						row := want[i*s.n : (i+1)*s.n]
						Add(row, row, res[i*s.ldr:i*s.ldr+s.n])
						Clamp(row, act.Lo, act.Hi)
						if act.HardSwish {
							HardSwish(row)
						}
					}
					ref := refGemm(s.m, s.n, s.k, a, s.lda, w, bias, NoClampLo, NoClampHi)
					for i := 0; i < s.m; i++ {
						for j := 0; j < s.n; j++ {
							x := clamp(ref[i*s.n+j]+res[i*s.ldr+j], act.Lo, act.Hi)
							if act.HardSwish {
								x = refHardSwish(x)
							}
							ref[i*s.n+j] = x
						}
					}
					closeTo(t, want, ref, 1e-5)

					act.Res, act.LdRes = res, s.ldr
					got := make([]float32, s.m*s.n)
					GemmAct(s.m, a, s.lda, p, act, got, s.n)
					sameBits(t, name, got, want)
					// Panel by panel from the last, as threads splitting
					// columns call it.
					clear(got)
					for q := p.Panels() - 1; q >= 0; q-- {
						GemmPanelsAct(s.m, a, s.lda, p, q, q+1, act, got, s.n)
					}
					sameBits(t, name+" by panels", got, want)
				}
			}
		}
	})
}

// TestGemmResidualOverlap: a residual sharing memory with the output is
// refused (the banded driver keeps partial sums in the output).
func TestGemmResidualOverlap(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	p := PackB(randSlice(rng, 64*8), 64, 8, nil)
	a, c := randSlice(rng, 4*8), make([]float32, 5*64)
	defer func() {
		if recover() == nil {
			t.Fatal("a residual overlapping the output was accepted")
		}
	}()
	GemmAct(4, a, 8, p, Act{Lo: NoClampLo, Hi: NoClampHi, Res: c[64:], LdRes: 64}, c, 64)
}

func sameBits(t *testing.T, name string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: element %d = %g, want %g", name, i, got[i], want[i])
		}
	}
}
