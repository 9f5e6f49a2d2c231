package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestGemmHalfPanelSameSums: a last panel of at most 16 real columns run by
// the 16-column tiles (halfPanel), and one of 17 to 31 by the 32-column
// tiles in place (maskedTail), give every output bit for bit what the
// 32-column tiles through the staging tile give, and match the float64
// reference: every row-tile height (13, 12, 8, 4, 1), 1 to 31 real columns
// in the last panel (masked loads and stores: the columns of the next row
// are not touched), K in several blocks (sums carried in C), the bounds,
// HARD_SWISH, a residual, panel sub-ranges, and the read-ahead kernels
// (gemmR<rows>x16, gemmR<rows>x32) of a one-band product followed by
// few-row weights.
func TestGemmHalfPanelSameSums(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU: the banded driver is not used")
	}
	defer func(kc int, h, mt bool) { kcOverride, halfPanel, maskedTail = kc, h, mt }(kcOverride, halfPanel, maskedTail)
	rng := rand.New(rand.NewPCG(7, 8))
	next := PackB(randSlice(rng, 1000*64), 1000, 64, nil) // weights to read ahead
	for _, kc := range []int{0, 8} {
		kcOverride = kc
		for _, s := range []struct{ m, n, k int }{
			{49, 40, 72}, {49, 80, 37}, {13, 112, 24}, {196, 80, 40}, {64, 16 + 32, 9}, {29, 33, 64},
			{100, 72, 120}, {25, 47, 19}, {5, 200, 33}, {12, 240, 16}, {150, 40, 24},
			{700, 80, 40}, {620, 72, 120}, // several bands, the later ones tile-major
			{49, 24, 120}, {13, 120, 184}, {64, 57, 40}, {196, 63, 33}, {700, 120, 24}, {100, 184, 80},
		} {
			a := randSlice(rng, s.m*s.k)
			w := randSlice(rng, s.n*s.k)
			bias := randSlice(rng, s.n)
			res := randSlice(rng, s.m*s.n)
			p := PackB(w, s.n, s.k, bias)
			if s.n%NR512 == 0 {
				t.Fatalf("%v: no partial last panel", s)
			}
			for _, ahead := range []bool{false, true} {
				if ahead {
					p.SetReadAhead(next, s.m, 1)
				} else {
					p.SetReadAhead(nil, 0, 0)
				}
				for _, act := range []Act{
					{Lo: NoClampLo, Hi: NoClampHi},
					{Lo: -0.3, Hi: 0.3},
					{Lo: NoClampLo, Hi: NoClampHi, HardSwish: true},
					{Lo: -0.5, Hi: 6, Res: res, LdRes: s.n},
				} {
					name := fmt.Sprintf("kc%d/%dx%dx%d/ahead=%v/%+v", kc, s.m, s.k, s.n, ahead, Act{Lo: act.Lo, Hi: act.Hi, HardSwish: act.HardSwish, LdRes: act.LdRes})
					run := func(half bool, split bool) []float32 {
						halfPanel, maskedTail = half, half
						c := make([]float32, s.m*s.n)
						if split {
							for q := p.Panels() - 1; q >= 0; q-- {
								GemmPanelsAct(s.m, a, s.k, p, q, q+1, act, c, s.n)
							}
						} else {
							GemmAct(s.m, a, s.k, p, act, c, s.n)
						}
						return c
					}
					old := run(false, false)
					for _, split := range []bool{false, true} {
						got := run(true, split)
						for i := range got {
							if math.Float32bits(got[i]) != math.Float32bits(old[i]) {
								t.Fatalf("%s split=%v: output %d (row %d, column %d) = %g, the 32-column tiles give %g", name, split, i, i/s.n, i%s.n, got[i], old[i])
							}
						}
					}
					want := refGemm(s.m, s.n, s.k, a, s.k, w, bias, NoClampLo, NoClampHi)
					for i := range want {
						v := want[i]
						if act.Res != nil {
							v += res[i]
						}
						v = clamp(v, act.Lo, act.Hi)
						want[i] = v
					}
					if act.HardSwish {
						HardSwish(want)
					}
					closeTo(t, old, want, 1e-4)
				}
			}
		}
	}
}
