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

// TestPoolTapMatchesScalar checks PoolTap's vector path (c a multiple of 8)
// and portable path against the scalar formula, with strided input.
func TestPoolTapMatchesScalar(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, c := range []int{3, 8, 16, 24, 64} {
		for _, stride := range []int{1, 2, 3} {
			for _, isMax := range []bool{false, true} {
				const n = 7
				in := make([]float32, (n-1)*stride*c+c)
				for i := range in {
					in[i] = rng.Float32()*8 - 4
				}
				out := make([]float32, n*c)
				for i := range out {
					out[i] = rng.Float32()*8 - 4
				}
				want := append([]float32(nil), out...)
				for x := 0; x < n; x++ {
					for j := 0; j < c; j++ {
						v := in[x*stride*c+j]
						if isMax {
							want[x*c+j] = max(want[x*c+j], v)
						} else {
							want[x*c+j] += v
						}
					}
				}
				PoolTap(out, in, n, c, stride*c, isMax)
				for i := range want {
					if out[i] != want[i] {
						t.Fatalf("c %d stride %d max %v: out[%d] = %g, want %g", c, stride, isMax, i, out[i], want[i])
					}
				}
			}
		}
	}
}
