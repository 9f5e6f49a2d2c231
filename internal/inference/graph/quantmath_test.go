package graph

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// Hand-worked values of the fixed-point helpers.
func TestQuantMath(t *testing.T) {
	for _, c := range []struct {
		m     float64
		q     int32
		shift int
	}{
		{0.5, 1 << 30, 0},
		{0.75, 3 << 29, 0},
		{1.0, 1 << 30, 1},
		{0.1, 1717986918, -3}, // 0.8 * 2^31 rounded, 0.8 * 2^-3
		{0, 0, 0},
	} {
		q, s := QuantizeMultiplier(c.m)
		if q != c.q || s != c.shift {
			t.Errorf("QuantizeMultiplier(%g) = %d, %d; want %d, %d", c.m, q, s, c.q, c.shift)
		}
	}
	if got := SaturatingRoundingDoublingHighMul(math.MinInt32, math.MinInt32); got != math.MaxInt32 {
		t.Errorf("saturating case: %d", got)
	}
	if got := SaturatingRoundingDoublingHighMul(1<<30, 3); got != 2 { // 1.5 rounds away from zero
		t.Errorf("SRDHM(2^30, 3) = %d, want 2", got)
	}
	// A negative tie: the nudge of 1-2^30 and truncating division give -1
	// for -1.5, as TFLite's reference does.
	if got := SaturatingRoundingDoublingHighMul(1<<30, -3); got != -1 {
		t.Errorf("SRDHM(2^30, -3) = %d, want -1", got)
	}
	for _, c := range []struct {
		x    int32
		exp  int
		want int32
	}{{5, 1, 3}, {-5, 1, -3}, {4, 1, 2}, {7, 2, 2}, {-7, 2, -2}, {6, 2, 2}, {-6, 2, -2}, {9, 0, 9}} {
		if got := RoundingDivideByPOT(c.x, c.exp); got != c.want {
			t.Errorf("RoundingDivideByPOT(%d, %d) = %d, want %d", c.x, c.exp, got, c.want)
		}
	}
	// Single rounding: ties go up.
	if got := MultiplyByQuantizedMultiplierSingle(5, 1<<30, 0); got != 3 { // 2.5
		t.Errorf("single 5*0.5 = %d, want 3", got)
	}
	if got := MultiplyByQuantizedMultiplierSingle(-5, 1<<30, 0); got != -2 { // -2.5
		t.Errorf("single -5*0.5 = %d, want -2", got)
	}
	// 5 * 0.25 = 1.25: rounded twice (2.5 -> 3, then 1.5 -> 2) it is 2,
	// rounded once 1.
	if got := MultiplyByQuantizedMultiplier(5, 1<<30, -1); got != 2 {
		t.Errorf("double 5*0.25 = %d, want 2", got)
	}
	if got := MultiplyByQuantizedMultiplierSingle(5, 1<<30, -1); got != 1 {
		t.Errorf("single 5*0.25 = %d, want 1", got)
	}
	// x * 0.1 through the fixed-point path rounds like the real product.
	q, s := QuantizeMultiplier(0.1)
	for x := int32(-1000); x <= 1000; x += 7 {
		want := int32(math.Round(float64(x) * 0.1))
		if got := MultiplyByQuantizedMultiplier(x, q, s); got != want && math.Abs(float64(x)*0.1-math.Trunc(float64(x)*0.1)) != 0.5 {
			t.Fatalf("%d * 0.1 = %d, want %d", x, got, want)
		}
	}
}

// TestQuantizeOne checks the kernels' float quantization (what QUANTIZE
// of a float input runs) against the float64 definition (math.Round, ties
// away from zero) on ties, neighbours of ties, large values, infinities
// and NaN.
func TestQuantizeOne(t *testing.T) {
	xs := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 1e30, -1e30, 0, float32(math.Copysign(0, -1))}
	for i := -600; i <= 600; i++ {
		h := float32(i) + 0.5
		xs = append(xs, float32(i), h, math.Nextafter32(h, 1e9), math.Nextafter32(h, -1e9))
	}
	for _, zp := range []int32{-128, -3, 0, 17, 127} {
		for _, x := range xs {
			want := zp
			if x == x {
				want = int32(max(min(math.Round(float64(x)), 1e6), -1e6)) + zp
			}
			want = clamp32(want, -128, 127)
			if got := kernels.QuantizeOne(x, zp); int32(got) != want {
				t.Fatalf("QuantizeOne(%v, %d) = %d, want %d", x, zp, got, want)
			}
		}
	}
}

// TestKernelRequantMatchesReference: the kernels' scalar rescale (which
// the vector kernels are checked against) computes what this package's
// reference helpers do, in both roundings, on random accumulators and
// multipliers.
func TestKernelRequantMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	compared := 0
	for i := 0; i < 200000; i++ {
		m := math.Ldexp(0.5+rng.Float64()/2, -rng.IntN(20))
		if i%7 == 0 {
			m *= float64(1 + rng.IntN(8)) // multipliers above one: left shifts
		}
		q, shift := QuantizeMultiplier(m)
		acc := int32(rng.Uint32()) >> rng.IntN(32)
		if i%2 == 0 {
			// Near the int8 range, where ties and clamps happen.
			acc = int32(max(min((rng.Float64()*2-1)*140/m, math.MaxInt32), math.MinInt32))
		}
		for _, double := range []bool{false, true} {
			r := kernels.NewRequant([]int32{0}, []int32{q}, []int{shift}, double, 0, math.MinInt32, math.MaxInt32)
			want := MultiplyByQuantizedMultiplierSingle(acc, q, shift)
			if double {
				want = MultiplyByQuantizedMultiplier(acc, q, shift)
			}
			// One clamps to [Lo, Hi] and returns int8: compare through a
			// window where the result fits.
			if want < -128 || want > 127 {
				continue
			}
			if got := r.One(acc, 0); int32(got) != want {
				t.Fatalf("double %v: acc %d q %d shift %d: got %d, want %d", double, acc, q, shift, got, want)
			}
			compared++
		}
	}
	if compared < 100000 {
		t.Fatalf("only %d results in the int8 range were compared", compared)
	}
}

// TestFillI8 checks fillI8 on lengths around its 64-byte start and its
// doublings, and that it writes nothing past d.
func TestFillI8(t *testing.T) {
	for _, n := range []int{0, 1, 7, 63, 64, 65, 127, 128, 129, 1000, 4096} {
		buf := make([]int8, n+8)
		for i := range buf {
			buf[i] = 9
		}
		fillI8(buf[:n], -5)
		for i, v := range buf {
			want := int8(9)
			if i < n {
				want = -5
			}
			if v != want {
				t.Fatalf("n %d: byte %d is %d, want %d", n, i, v, want)
			}
		}
	}
}

// TestPoolShiftRounding checks the average pool's shift forms against its
// divisions for power-of-two window counts.
func TestPoolShiftRounding(t *testing.T) {
	for _, cnt := range []int32{1, 2, 4, 16, 64, 256} {
		sh := poolShift(cnt)
		if sh < 0 || int32(1)<<sh != cnt {
			t.Fatalf("poolShift(%d) = %d", cnt, sh)
		}
		for v := -300 * cnt; v <= 300*cnt; v++ {
			want := int32(0)
			if v > 0 {
				want = (v + cnt/2) / cnt
			} else {
				want = (v - cnt/2) / cnt
			}
			if got := poolRoundAway(v, cnt, sh); got != want {
				t.Fatalf("poolRoundAway(%d, %d) = %d, want %d", v, cnt, got, want)
			}
			if got, want := poolRoundEven(v, cnt, sh), divRoundEven(v, cnt); got != want {
				t.Fatalf("poolRoundEven(%d, %d) = %d, want %d", v, cnt, got, want)
			}
		}
	}
	for _, cnt := range []int32{0, 3, 9, 12} {
		if sh := poolShift(cnt); sh != -1 {
			t.Fatalf("poolShift(%d) = %d, want -1", cnt, sh)
		}
	}
}
