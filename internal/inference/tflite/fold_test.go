package tflite

import (
	"math"
	"testing"
)

// TestHalfToFloat checks every binary16 value against its definition.
func TestHalfToFloat(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		exp, mant := (h>>10)&0x1f, float64(h&0x3ff)
		var want float64
		switch exp {
		case 0x1f:
			want = math.Inf(1)
			if mant != 0 {
				want = math.NaN()
			}
		case 0:
			want = mant * math.Pow(2, -24)
		default:
			want = (1 + mant/1024) * math.Pow(2, float64(exp-15))
		}
		if h&0x8000 != 0 {
			want = -want
		}
		got := halfToFloat(uint16(h))
		if math.IsNaN(want) {
			if !math.IsNaN(float64(got)) {
				t.Fatalf("half %#04x: %g, want NaN", h, got)
			}
			continue
		}
		if float64(got) != want || math.Signbit(float64(got)) != (h&0x8000 != 0) {
			t.Fatalf("half %#04x: %g, want %g", h, got, want)
		}
	}
}
