package kernels

import (
	"math/rand/v2"
	"testing"
)

// TestActivationsMatchScalar checks the vector Clamp and HardSwish against
// the scalar formulas on every length up to 40 (vector body and tail).
func TestActivationsMatchScalar(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for n := 0; n <= 40; n++ {
		v := make([]float32, n)
		for i := range v {
			v[i] = rng.Float32()*16 - 8
		}
		c, h := append([]float32(nil), v...), append([]float32(nil), v...)
		Clamp(c, -1, 2.5)
		HardSwish(h)
		for i, x := range v {
			if want := min(max(x, -1), 2.5); c[i] != want {
				t.Fatalf("n %d: Clamp(%g) = %g, want %g", n, x, c[i], want)
			}
			if want := x * min(max(x+3, 0), 6) / 6; h[i] != want {
				t.Fatalf("n %d: HardSwish(%g) = %g, want %g", n, x, h[i], want)
			}
		}
	}
}
