package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestGemmSegs checks GemmSegs against the float64 reference and against
// GemmAct over the segments copied together: one to three segments, row
// counts covering every tile height, strides shorter than a segment (the
// stem's overlapping windows) and longer, bounds that bind, HARD_SWISH,
// and several column panels.
func TestGemmSegs(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, s := range []struct{ m, segs, ks, lda, n int }{
		{64, 3, 9, 6, 32}, {1, 3, 9, 6, 32}, {63, 3, 9, 6, 64}, {13, 3, 9, 6, 32}, {29, 2, 7, 11, 96},
		{5, 1, 20, 20, 32}, {100, 3, 21, 6, 32}, {49, 3, 9, 9, 33}, {20, 3, 9, 6, 32}, {7, 3, 9, 6, 64}, {12, 3, 4, 6, 32},
		// One 16-column panel (V3's stem): every tile height, a last
		// tile moved back over rows already done, segments whose length
		// is not a multiple of three, two segments (copied together).
		{111, 3, 9, 6, 16}, {112, 3, 9, 3, 16}, {24, 3, 9, 6, 16}, {23, 3, 9, 6, 16}, {16, 3, 9, 6, 16}, {15, 3, 10, 6, 16},
		{8, 3, 9, 6, 16}, {7, 3, 9, 6, 16}, {4, 3, 11, 6, 16}, {3, 3, 9, 6, 16}, {2, 3, 9, 6, 16}, {1, 3, 9, 6, 16}, {29, 2, 7, 11, 16},
		// One segment on a 16-column panel: a plain GEMM (V3's 112x112x16
		// 1x1 convolution, K 16).
		{336, 1, 16, 16, 16}, {23, 1, 16, 20, 16}, {9, 1, 5, 5, 16}, {1, 1, 16, 16, 16},
	} {
		for _, act := range []Act{{Lo: NoClampLo, Hi: NoClampHi}, {Lo: -0.3, Hi: 0.3}, {Lo: 0, Hi: 6, HardSwish: true}} {
			t.Run(fmt.Sprintf("%+v/%+v", s, act), func(t *testing.T) {
				k := s.segs * s.ks
				a := make([][]float32, s.segs)
				joined := make([]float32, s.m*k)
				for i := range a {
					a[i] = randSlice(rng, (s.m-1)*s.lda+s.ks)
					for r := 0; r < s.m; r++ {
						copy(joined[r*k+i*s.ks:r*k+(i+1)*s.ks], a[i][r*s.lda:r*s.lda+s.ks])
					}
				}
				w, bias := randSlice(rng, s.n*k), randSlice(rng, s.n)
				p := PackB(w, s.n, k, bias)
				want := refGemm(s.m, s.n, k, joined, k, w, bias, act.Lo, act.Hi)
				if act.HardSwish {
					HardSwish(want)
				}
				got := make([]float32, s.m*s.n)
				GemmSegs(s.m, a, s.lda, p, act, got, s.n)
				closeTo(t, got, want, 1e-5)
				joint := make([]float32, s.m*s.n)
				GemmAct(s.m, joined, k, p, act, joint, s.n)
				closeTo(t, got, joint, 1e-5)
			})
		}
	}
}

func TestGemmSegsShortOperand(t *testing.T) {
	p := PackB(make([]float32, 32*27), 32, 27, make([]float32, 32))
	a := [][]float32{make([]float32, 10*6+9), make([]float32, 10*6+9), make([]float32, 10*6+8)}
	defer func() {
		if recover() == nil {
			t.Error("GemmSegs accepted a segment one float short")
		}
	}()
	GemmSegs(11, a, 6, p, Act{Lo: NoClampLo, Hi: NoClampHi}, make([]float32, 11*32), 32)
}
