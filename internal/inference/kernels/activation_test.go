package kernels

import (
	"math/rand/v2"
	"testing"
)

// TestActivationsMatchScalar checks the vector Clamp, HardSwish, Mul and Add against
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
		w := make([]float32, n)
		for i := range w {
			w[i] = rng.Float32()*4 - 2
		}
		prod, sum := make([]float32, n), make([]float32, n)
		Mul(prod, v, w)
		Add(sum, v, w)
		for i := range v {
			if prod[i] != v[i]*w[i] || sum[i] != v[i]+w[i] {
				t.Fatalf("n %d: Mul/Add(%g, %g) = %g, %g", n, v[i], w[i], prod[i], sum[i])
			}
		}
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
