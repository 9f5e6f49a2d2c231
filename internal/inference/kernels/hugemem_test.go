package kernels

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestRelocate moves packed weights into other buffers and requires the
// GEMM to use them (its output follows a change to the new copy, not the
// old) and to give the same bits as before the move.
func TestRelocate(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, s := range []struct{ m, k, n int }{{1, 960, 1280}, {5, 64, 40}, {13, 27, 8}} {
		a := randSlice(rng, s.m*s.k)
		p := PackB(randSlice(rng, s.n*s.k), s.n, s.k, randSlice(rng, s.n))
		want := make([]float32, s.m*s.n)
		Gemm(s.m, a, s.k, p, NoClampLo, NoClampHi, want, s.n)
		oldPanels, oldBias := p.panels, p.bias
		var bufs [][]float32
		p.Relocate(func(n int) []float32 {
			b := make([]float32, n+16)[16:]
			bufs = append(bufs, b)
			return b
		})
		if len(bufs) != 2 || p.PanelsAt() != &bufs[0][0] || &p.bias[0] != &bufs[1][0] {
			t.Fatalf("%v: panels and bias not moved to the buffers given", s)
		}
		if np, nb := p.Floats(); np != len(oldPanels) || nb != len(oldBias) {
			t.Fatalf("%v: %d panel and %d bias floats after the move, want %d and %d", s, np, nb, len(oldPanels), len(oldBias))
		}
		clear(oldPanels)
		clear(oldBias)
		got := make([]float32, s.m*s.n)
		Gemm(s.m, a, s.k, p, NoClampLo, NoClampHi, got, s.n)
		if !slices.Equal(got, want) {
			t.Fatalf("%v: GEMM differs after the move", s)
		}
	}
}
