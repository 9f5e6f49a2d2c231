package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestMaxWindow checks MaxWindow's vector path (c a multiple of 8: 32-float
// blocks and 8-float remainders) and its portable path bit for bit against
// a -Inf row folded tap by tap with PoolTap, as max pooling did before, on
// inputs holding NaNs, signed zeros and infinities, with taps in any order
// and strided pixels; and that a tap reading past the input panics.
func TestMaxWindow(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	specials := []float32{float32(math.NaN()), float32(math.Copysign(0, -1)), 0, float32(math.Inf(1)), float32(math.Inf(-1))}
	for _, c := range []int{3, 8, 16, 24, 32, 40, 64, 72, 96} {
		for _, s := range []struct{ stride, ntaps int }{{1, 1}, {2, 9}, {1, 4}, {3, 6}} {
			t.Run(fmt.Sprintf("c%d_stride%d_taps%d", c, s.stride, s.ntaps), func(t *testing.T) {
				const n = 9
				const rowLen = 5
				taps := make([]int, s.ntaps)
				for i := range taps {
					taps[i] = rng.IntN(3*rowLen) * c
				}
				span := 3 * rowLen * c
				in := make([]float32, (n-1)*s.stride*c+span+c)
				for i := range in {
					in[i] = float32(rng.IntN(9) - 4) // ties, so equal values' order matters
					if rng.IntN(8) == 0 {
						in[i] = specials[rng.IntN(len(specials))]
					}
				}
				want := make([]float32, n*c)
				for i := range want {
					want[i] = float32(math.Inf(-1))
				}
				for _, tp := range taps {
					PoolTap(want, in[tp:], n, c, s.stride*c, true)
				}
				paths := []struct {
					name string
					run  func(out []float32)
				}{
					{"MaxWindow", func(out []float32) { MaxWindow(out, in, n, c, s.stride*c, taps) }},
					{"generic", func(out []float32) { maxWindowGeneric(out, in, n, c, s.stride*c, taps) }},
				}
				for _, p := range paths {
					out := make([]float32, n*c)
					p.run(out)
					for i := range want {
						if math.Float32bits(out[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%s: out[%d] = %v (%#x), want %v (%#x)", p.name, i, out[i], math.Float32bits(out[i]), want[i], math.Float32bits(want[i]))
						}
					}
				}
			})
		}
	}
	t.Run("tap past the input", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Fatal("no panic")
			}
		}()
		in := make([]float32, 4*8)
		MaxWindow(make([]float32, 2*8), in, 2, 8, 8, []int{0, 16 + 1})
	})
}
