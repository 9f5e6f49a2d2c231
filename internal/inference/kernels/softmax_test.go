package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
)

// TestExp32 compares exp32 with float64 exp over the whole range softmax
// feeds it, the switch to math.Exp at both ends included.
func TestExp32(t *testing.T) {
	check := func(x float32) {
		t.Helper()
		got, want := float64(exp32(x)), math.Exp(float64(x))
		if math.Abs(got-want) > 3e-7*want+1e-45 { // 1e-45: float32 subnormal spacing
			t.Fatalf("exp32(%g) = %g, want %g (relative error %.2g)", x, got, want, math.Abs(got-want)/want)
		}
	}
	for x := float32(-104); x <= 88; x += 1.0 / 64 {
		check(x)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for range 100000 {
		check(float32(-90 * rng.Float64()))
	}
	for _, x := range []float32{0, -0.34657359, 0.34657359, -87, -87.0001, 88, -103.9, -1e-30} {
		check(x)
	}
	if v := exp32(float32(math.Inf(-1))); v != 0 {
		t.Fatalf("exp32(-Inf) = %g", v)
	}
	if v := exp32(float32(math.NaN())); v == v {
		t.Fatalf("exp32(NaN) = %g", v)
	}
}

// TestSoftmax checks rows of several lengths and spreads (most outputs
// near zero, or all alike) against a float64 softmax, in place and not,
// on every path; a NaN anywhere in a row makes the whole row NaN.
func TestSoftmax(t *testing.T) {
	paths(t, testSoftmax)
}

func testSoftmax(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, n := range []int{1, 2, 7, 16, 17, 1000, 1001} {
		for _, spread := range []float64{0, 1, 10, 60} {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(spread * rng.NormFloat64())
			}
			m := float32(math.Inf(-1))
			for _, v := range x {
				m = max(m, v)
			}
			want := make([]float64, n)
			var sum float64
			for i, v := range x {
				want[i] = math.Exp(float64(v - m)) // the difference rounded as Softmax rounds it
				sum += want[i]
			}
			y := make([]float32, n)
			Softmax(y, x)
			Softmax(x, x)
			for i := range want {
				w := want[i] / sum
				if d := math.Abs(float64(y[i]) - w); d > 1e-6*w+1e-37 || x[i] != y[i] { // 1e-37: float32 underflow
					t.Fatalf("n %d spread %g: output %d = %g (in place %g), want %g", n, spread, i, y[i], x[i], w)
				}
			}
		}
	}
}

func TestSoftmaxNaN(t *testing.T) {
	paths(t, func(t *testing.T) {
		for _, at := range []int{0, 5, 20, 39} {
			x := make([]float32, 40)
			for i := range x {
				x[i] = float32(i)
			}
			x[at] = float32(math.NaN())
			y := make([]float32, len(x))
			Softmax(y, x)
			for i, v := range y {
				if v == v {
					t.Fatalf("NaN at %d: output %d = %g, want NaN", at, i, v)
				}
			}
		}
	})
}

func BenchmarkSoftmax(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	x, y := randSlice(rng, 1001), make([]float32, 1001)
	for i := range x {
		x[i] *= 8
	}
	b.Run("exp32", func(b *testing.B) {
		for b.Loop() {
			Softmax(y, x)
		}
	})
	// The AVX2 kernels against the scalar loop (what the AVX2 path ran
	// before them), in turns on the thread's CPU clock.
	b.Run("avx2-vs-scalar", func(b *testing.B) {
		if !hasAVX2FMA || hasAVX512 {
			b.Skip("not the AVX2 path")
		}
		defer func() { hasAVX2FMA = true }()
		side := func(name string, avx2 bool) abbench.Side {
			return abbench.Side{Name: name, Setup: func() { hasAVX2FMA = avx2 }, Run: func() {
				for range 100 {
					Softmax(y, x)
				}
			}}
		}
		t := abbench.Alternate(b, abbench.ThreadCPU, side("avx2", true), side("scalar", false))
		t.Report(b, 0, abbench.Med, 1e6/100, "%s-us")
		abbench.ReportQuartiles(b, t.Ratios(0, 1, 0), "speedup")
	})
	b.Run("math.Exp", func(b *testing.B) {
		for b.Loop() {
			softmaxExp(y, x)
		}
	})
}

// softmaxExp is Softmax with math.Exp, the loop it replaced, for
// BenchmarkSoftmax.
func softmaxExp(y, x []float32) {
	m := float32(math.Inf(-1))
	for _, v := range x {
		m = max(m, v)
	}
	var sum float64
	for i, v := range x {
		e := float32(math.Exp(float64(v - m)))
		y[i] = e
		sum += float64(e)
	}
	inv := float32(1 / sum)
	for i := range y {
		y[i] *= inv
	}
}
