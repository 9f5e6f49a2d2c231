package kernels

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestGemmPair: GemmPair gives Gemm's bits on the fused pairs' shapes and
// around them: rows of whole tiles and with rows left (the overlapping last
// tile), fewer rows than a tile, K not a multiple of the four-step loop, a
// partial last panel, A and C rows wider than K and N, bounds and none, on
// both loop orders; and GemmPairAhead gives the same bits with rows to
// prefetch of no line up to more lines than the loop has steps, and
// leaves them as they were.
func TestGemmPair(t *testing.T) {
	defer func(v bool) { pairPanelMajor = v }(pairPanelMajor)
	rng := rand.New(rand.NewPCG(41, 42))
	for _, s := range []struct{ m, k, n, padA, padC int }{
		{384, 32, 64, 0, 0}, {192, 64, 128, 0, 0}, {96, 128, 128, 0, 0}, {96, 128, 256, 0, 0},
		{6, 32, 16, 0, 0}, {7, 32, 16, 0, 0}, {5, 32, 64, 0, 0}, {1, 8, 16, 0, 0},
		{13, 1, 16, 0, 0}, {17, 3, 32, 1, 0}, {23, 5, 40, 0, 3}, {100, 31, 24, 2, 5},
		{64, 16, 8, 0, 0}, {37, 24, 72, 0, 0}, {90, 40, 200, 3, 1},
	} {
		for _, panelMajor := range []bool{false, true} {
			pairPanelMajor = panelMajor
			name := fmt.Sprintf("%dx%dx%d/lda+%d/ldc+%d/panelmajor=%v", s.m, s.k, s.n, s.padA, s.padC, panelMajor)
			lda, ldc := s.k+s.padA, s.n+s.padC
			a := randSlice(rng, (s.m-1)*lda+s.k)
			b := PackB(randSlice(rng, s.n*s.k), s.n, s.k, randSlice(rng, s.n))
			for _, bounds := range [][2]float32{{0, 6}, {NoClampLo, NoClampHi}, {-0.5, 0.25}} {
				want := randSlice(rng, (s.m-1)*ldc+s.n)
				got := append([]float32(nil), want...)
				Gemm(s.m, a, lda, b, bounds[0], bounds[1], want, ldc)
				GemmPair(s.m, a, lda, b, bounds[0], bounds[1], got, ldc)
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("%s bounds %v: c[%d] (row %d) = %g, Gemm %g", name, bounds, i, i/ldc, got[i], want[i])
					}
				}
				for _, n := range []int{0, 5, 16, 1000, 1 << 16} {
					ahead := randSlice(rng, n)
					keep := append([]float32(nil), ahead...)
					clear(got)
					GemmPairAhead(s.m, a, lda, b, bounds[0], bounds[1], got, ldc, ahead)
					for i := range got {
						if got[i] != want[i] && (i%ldc < s.n) {
							t.Fatalf("%s bounds %v ahead %d: c[%d] (row %d) = %g, Gemm %g", name, bounds, n, i, i/ldc, got[i], want[i])
						}
					}
					if !slices.Equal(ahead, keep) {
						t.Fatalf("%s ahead %d: the prefetched rows changed", name, n)
					}
				}
			}
		}
	}
}
