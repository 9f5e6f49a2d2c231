package graph

import "math"

// Fixed-point arithmetic of TFLite's integer kernels, written from the
// definitions: a real multiplier m is held as a Q31 value q in [2^30, 2^31)
// and a power-of-two exponent, m = q * 2^(shift-31).

// QuantizeMultiplier splits a positive real multiplier into a Q31 value and
// a shift (left when positive, right when negative).
func QuantizeMultiplier(m float64) (q int32, shift int) {
	if m == 0 {
		return 0, 0
	}
	frac, exp := math.Frexp(m)
	qf := int64(math.Round(frac * (1 << 31)))
	if qf == 1<<31 {
		qf /= 2
		exp++
	}
	if exp < -31 {
		return 0, 0
	}
	if exp > 30 {
		exp, qf = 30, (1<<31)-1
	}
	return int32(qf), exp
}

// SaturatingRoundingDoublingHighMul returns the high 32 bits of 2*a*b,
// rounded to nearest (ties away from zero), saturating the one overflowing
// case a == b == MinInt32.
func SaturatingRoundingDoublingHighMul(a, b int32) int32 {
	if a == b && a == math.MinInt32 {
		return math.MaxInt32
	}
	ab := int64(a) * int64(b)
	nudge := int64(1 << 30)
	if ab < 0 {
		nudge = 1 - (1 << 30)
	}
	return int32((ab + nudge) / (1 << 31))
}

// RoundingDivideByPOT divides x by 2^exp rounding to nearest, ties away
// from zero.
func RoundingDivideByPOT(x int32, exp int) int32 {
	if exp <= 0 {
		return x
	}
	mask := int32(1)<<exp - 1
	rem := x & mask
	threshold := mask >> 1
	if x < 0 {
		threshold++
	}
	r := x >> exp
	if rem > threshold {
		r++
	}
	return r
}

// MultiplyByQuantizedMultiplier returns x times the real multiplier (q, shift).
func MultiplyByQuantizedMultiplier(x, q int32, shift int) int32 {
	left, right := 0, 0
	if shift > 0 {
		left = shift
	} else {
		right = -shift
	}
	return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(satShiftLeft(x, left), q), right)
}

// satShiftLeft is x * 2^n in 32 bits (wrapping as the reference's int32
// multiplication would; shifts are below 31 and inputs small in practice).
func satShiftLeft(x int32, n int) int32 { return int32(int64(x) << n) }

// roundHalfAway rounds to the nearest integer, ties away from zero, as
// TFLite's TfLiteRound does.
func roundHalfAway(v float64) float64 { return math.Round(v) }

func clamp32(v, lo, hi int32) int32 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// MultiplyByQuantizedMultiplierSingle is the same product rounded once
// (ties up): (x*q + 2^(30-shift)) >> (31-shift), as TFLite built with
// single rounding computes it.
func MultiplyByQuantizedMultiplierSingle(x, q int32, shift int) int32 {
	total := 31 - shift
	return int32((int64(x)*int64(q) + int64(1)<<(total-1)) >> total)
}
