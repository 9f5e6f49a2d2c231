package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// sameFloat is bit equality, any NaN matching any NaN.
func sameFloat(a, b float32) bool {
	if a != a && b != b {
		return true
	}
	return math.Float32bits(a) == math.Float32bits(b)
}

// TestDiv6 checks the division step of hardSwish512 against Go's correctly
// rounded p/6, bit for bit. Scaling p by a power of two scales every step
// exactly while the results are normal, so whether p/6 rounds right
// depends on p's mantissa alone: every mantissa is run at 2^-126 (below
// 2^-122: the division fallback), at 2^-122 (the smallest exponent
// without it), at -1 and at the largest exponent; then every subnormal p,
// the special values and 2^23 random bit patterns.
func TestDiv6(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU: hardSwish512 is not used")
	}
	const n = 1 << 23
	in, buf := make([]float32, n), make([]float32, n)
	check := func(what string, fill func(i int) float32) {
		t.Helper()
		for i := range in {
			in[i] = fill(i)
		}
		copy(buf, in)
		div6x512(&buf[0], n)
		bad := 0
		for i, got := range buf {
			p := in[i]
			if want := p / 6; !sameFloat(got, want) {
				if bad < 5 {
					t.Errorf("%s: %g (%#08x)/6 = %g (%#08x), want %g (%#08x)", what, p, math.Float32bits(p), got, math.Float32bits(got), want, math.Float32bits(want))
				}
				bad++
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d of %d wrong", what, bad, n)
		}
	}
	for _, e := range []int{-126, -122, 0, 127} {
		bits := uint32(e+127) << 23
		if e == 0 {
			bits |= 1 << 31 // the sign only moves the result's sign bit
		}
		check(fmt.Sprintf("exponent %d", e), func(i int) float32 { return math.Float32frombits(bits | uint32(i)) })
	}
	check("subnormals", func(i int) float32 { return math.Float32frombits(uint32(i)) })
	specials := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32}
	check("specials", func(i int) float32 { return specials[i%len(specials)] })
	rng := rand.New(rand.NewPCG(7, 8))
	check("random", func(int) float32 { return math.Float32frombits(rng.Uint32()) })
}

// TestHardSwish512 checks the AVX-512 HARD_SWISH pass bit for bit against
// the scalar formula, on values spread over its three pieces (at most -3,
// between, at least 3), the bends themselves, signed zeros, infinities and
// NaN, for lengths that use the two-vector step, the one-vector step and
// the scalar tail.
func TestHardSwish512(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU: hardSwish512 is not used")
	}
	rng := rand.New(rand.NewPCG(9, 10))
	specials := []float32{-3, 3, 0, float32(math.Copysign(0, -1)), -2.9999998, 2.9999998, 1e-30, -1e-30, 1e30, -1e30,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), math.MaxFloat32, -math.MaxFloat32}
	for _, n := range []int{16, 17, 31, 32, 48, 1000, 1 << 16} {
		v := make([]float32, n)
		for i := range v {
			v[i] = (rng.Float32()*2 - 1) * 8
			if i%7 == 0 {
				v[i] = specials[(i/7)%len(specials)]
			}
		}
		want := make([]float32, n)
		for i, x := range v {
			want[i] = x * min(max(x+3, 0), 6) / 6
		}
		HardSwish(v)
		for i := range v {
			if !sameFloat(v[i], want[i]) {
				t.Fatalf("n %d, element %d: got %g (%#08x), want %g (%#08x)", n, i, v[i], math.Float32bits(v[i]), want[i], math.Float32bits(want[i]))
			}
		}
	}
}

// BenchmarkHardSwish compares the HARD_SWISH pass on the AVX2 path (a
// VDIVPS per 8 floats) with the AVX-512 one (the corrected reciprocal), on
// a depthwise output row of V3-Large (14x672, in L1) and a whole 14x14x672
// activation (in L2). Each run rewrites the input first (HARD_SWISH twice
// would drift towards subnormals); "copy" is that rewrite alone.
func BenchmarkHardSwish(b *testing.B) {
	for _, n := range []int{14 * 672, 14 * 14 * 672} {
		x := make([]float32, n)
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range x {
			x[i] = (rng.Float32()*2 - 1) * 8
		}
		y := make([]float32, n)
		for _, path := range []string{"copy", "avx2", "avx512"} {
			b.Run(fmt.Sprintf("%d/%s", n, path), func(b *testing.B) {
				if path == "avx512" && !hasAVX512 {
					b.Skip("no AVX-512")
				}
				defer func(v bool) { hasAVX512 = v }(hasAVX512)
				hasAVX512 = path == "avx512"
				cpu0 := cpuSeconds()
				for b.Loop() {
					copy(y, x)
					if path != "copy" {
						HardSwish(y)
					}
				}
				b.ReportMetric((cpuSeconds()-cpu0)*1e9/float64(b.N)/float64(n), "cpu-ns/float")
			})
		}
	}
}
