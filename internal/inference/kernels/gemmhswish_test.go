package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// sameValue is bit equality, any NaN matching any NaN.
func sameValue(a, b float32) bool {
	if a != a && b != b {
		return true
	}
	return math.Float32bits(a) == math.Float32bits(b)
}

// div6Values returns sums that exercise every branch of the division-free
// HARD_SWISH epilogue: x <= -3 (p = ±0), +Inf (p = Inf, remainder NaN),
// -Inf and NaN, the largest floats, subnormal and tiny x, whose p is below,
// at and just above 2^-122 (where the epilogue divides), every exponent by
// random bit patterns, and ordinary values around the bends.
func div6Values(rng *rand.Rand, finite bool) []float32 {
	xs := []float32{0, float32(math.Copysign(0, -1)), -3, 3, -2.9999998, 2.9999998, -3.0000002, 3.0000002,
		1e-30, -1e-30, 1e30, -1e30, math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32}
	if !finite {
		xs = append(xs, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()))
	}
	for e := -130; e <= -118; e++ {
		for range 2048 {
			x := float32(math.Ldexp(1+rng.Float64(), e))
			if rng.IntN(2) == 0 {
				x = -x
			}
			xs = append(xs, x)
		}
	}
	for range 1 << 15 {
		x := math.Float32frombits(rng.Uint32())
		if finite && (math.IsInf(float64(x), 0) || x != x) {
			continue
		}
		xs = append(xs, x)
	}
	for range 1 << 14 {
		xs = append(xs, float32(rng.NormFloat64()*4))
	}
	return xs
}

// TestGemmHardSwishDiv6 runs the values of div6Values through the
// HARD_SWISH epilogue of every GEMM path, in products of 13, 25 (12, 8, 4
// and 1 row tiles), 49 and 100 rows, so each micro-kernel height of the
// banded GEMM (the 13-row one keeping its constants in memory) sees all of
// them, and compares with the scalar formula on the same path's plain sums
// bit for bit: first as the sums of a K=1 product (weight 1, bias -0: the
// sum is x, infinities and NaN included, and on the AVX-512 paths signed
// zeros too), then with a different value in
// every lane (K=16, each column picking one input) under bounds.
func TestGemmHardSwishDiv6(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	chunks := []int{13, 25, 49, 100}
	paths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(11, 12))
		t.Run("identity", func(t *testing.T) {
			xs := div6Values(rng, false)
			for _, n := range []int{32, 64} {
				w := make([]float32, n)
				bias := make([]float32, n)
				for j := range w {
					w[j], bias[j] = 1, negZero
				}
				p := PackB(w, n, 1, bias)
				c, plain := make([]float32, len(xs)*n), make([]float32, len(xs)*n)
				for i, ci := 0, 0; i < len(xs); ci++ {
					m := min(chunks[ci%len(chunks)], len(xs)-i)
					GemmAct(m, xs[i:], 1, p, Act{Lo: NoClampLo, Hi: NoClampHi, HardSwish: true}, c[i*n:], n)
					Gemm(m, xs[i:], 1, p, NoClampLo, NoClampHi, plain[i*n:], n)
					i += m
				}
				for i, x := range xs {
					for j := 0; j < n; j++ {
						// The sum is x, but for the sign of a zero on the
						// paths that add the bias last; the bounds of the
						// plain GEMM (open, yet a VMAXPS) make NaN -Inf.
						s := plain[i*n+j]
						if s != x && x == x {
							t.Fatalf("n %d: the sum of %g is %g", n, x, s)
						}
						if g, want := c[i*n+j], refHardSwish(s); !sameValue(g, want) {
							t.Fatalf("n %d: HardSwish(%g %#08x) = %g (%#08x), want %g (%#08x)", n, s, math.Float32bits(s), g, math.Float32bits(g), want, math.Float32bits(want))
						}
					}
				}
			}
		})
		for _, bnd := range [][2]float32{{NoClampLo, NoClampHi}, {-2.5, 2}, {0, 1e-37}} {
			t.Run(fmt.Sprintf("lanes/bounds%g,%g", bnd[0], bnd[1]), func(t *testing.T) {
				const k, n = 16, 64
				xs := div6Values(rng, true)
				rows := len(xs) / k
				// Column j reads input (j + 5*(j/16)) mod 16, so the two
				// halves of a tile row hold different permutations.
				w := make([]float32, n*k)
				for j := 0; j < n; j++ {
					w[j*k+(j+5*(j/16))%k] = 1
				}
				p := PackB(w, n, k, make([]float32, n))
				got, plain := make([]float32, rows*n), make([]float32, rows*n)
				for i, ci := 0, 0; i < rows; ci++ {
					m := min(chunks[ci%len(chunks)], rows-i)
					GemmAct(m, xs[i*k:], k, p, Act{Lo: bnd[0], Hi: bnd[1], HardSwish: true}, got[i*n:], n)
					Gemm(m, xs[i*k:], k, p, bnd[0], bnd[1], plain[i*n:], n)
					i += m
				}
				for i := range got {
					if want := refHardSwish(plain[i]); !sameValue(got[i], want) {
						t.Fatalf("element %d: HardSwish(%g %#08x) = %g (%#08x), want %g (%#08x)", i, plain[i], math.Float32bits(plain[i]), got[i], math.Float32bits(got[i]), want, math.Float32bits(want))
					}
				}
			})
		}
	})
}
