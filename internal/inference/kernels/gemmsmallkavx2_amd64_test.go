package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestGemmSmallKAhead: GemmSmallKAhead gives GemmSmallK's bits (gemmAVX2's
// on this path, Gemm's elsewhere) on the fused pairs' K=128 shapes and
// around them: whole tiles and rows left (one 1-5-row tile, or two of 3-5
// rows), fewer than two tiles, K not a multiple of the four-step loop, a
// partial last panel (left to GemmSmallK), A and C rows wider than K and
// N, the bounds and none, the next panel's read-ahead on and off; with
// rows to prefetch of no line up to more lines than the passes reach,
// which stay as they were; and the output's padding is not written. On an
// AVX2 CPU without AVX-512 the kernel must take the pair shapes.
func TestGemmSmallKAhead(t *testing.T) {
	defer func(v bool) { avx2Prefetch = v }(avx2Prefetch)
	rng := rand.New(rand.NewPCG(43, 44))
	taken := 0
	for _, s := range []struct{ m, k, n, padA, padC int }{
		{96, 128, 128, 0, 0}, {96, 128, 256, 0, 0}, {128, 128, 128, 0, 0}, {64, 128, 256, 0, 0},
		{6, 128, 16, 0, 0}, {7, 32, 16, 0, 0}, {9, 8, 32, 0, 0}, {12, 5, 48, 0, 0}, {13, 1, 16, 0, 0},
		{17, 3, 32, 1, 0}, {23, 5, 40, 0, 3}, {100, 31, 32, 2, 5}, {101, 130, 64, 3, 1},
		{37, 24, 80, 0, 0}, {50, 64, 16, 0, 7}, {200, 129, 96, 1, 2}, {5, 16, 32, 0, 0},
	} {
		lda, ldc := s.k+s.padA, s.n+s.padC
		a := randSlice(rng, (s.m-1)*lda+s.k)
		b := PackB(randSlice(rng, s.n*s.k), s.n, s.k, randSlice(rng, s.n))
		if smallKAheadTakes(s.m, b) {
			taken++
		}
		for _, pf := range []bool{true, false} {
			avx2Prefetch = pf
			for _, bounds := range [][2]float32{{0, 6}, {NoClampLo, NoClampHi}, {-0.5, 0.25}} {
				name := fmt.Sprintf("%dx%dx%d/lda+%d/ldc+%d/prefetch=%v/bounds=%v", s.m, s.k, s.n, s.padA, s.padC, pf, bounds)
				want := make([]float32, s.m*ldc)
				for i := range want {
					want[i] = float32(math.NaN())
				}
				GemmSmallK(s.m, a, lda, b, bounds[0], bounds[1], want, ldc)
				for _, n := range []int{0, 5, 16, 1000, 1 << 16} {
					ahead := randSlice(rng, n)
					keep := slices.Clone(ahead)
					got := make([]float32, s.m*ldc)
					for i := range got {
						got[i] = float32(math.NaN())
					}
					GemmSmallKAhead(s.m, a, lda, b, bounds[0], bounds[1], got, ldc, ahead)
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%s ahead %d: c[%d] (row %d, column %d) = %g, GemmSmallK %g", name, n, i, i/ldc, i%ldc, got[i], want[i])
						}
					}
					if !slices.Equal(ahead, keep) {
						t.Fatalf("%s ahead %d: the prefetched rows changed", name, n)
					}
				}
			}
		}
	}
	if hasAVX2FMA && !hasAVX512 && smallKAheadAVX2 && taken < 10 {
		t.Fatalf("gemmS6x16 took %d of the shapes", taken)
	}
	t.Logf("gemmS6x16 took %d shapes", taken)
}
