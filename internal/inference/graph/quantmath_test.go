package graph

import (
	"math"
	"testing"
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
