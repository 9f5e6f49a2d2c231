package modelgen

import (
	"math"
	"testing"
)

// TestHalfRoundTrip: every binary16 value widens and rounds back to itself,
// and rounding picks the nearest half (ties to even) between neighbours.
func TestHalfRoundTrip(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := halfToFloat32(uint16(h))
		if math.IsNaN(float64(f)) {
			continue
		}
		if back := floatToHalf(f); back != uint16(h) {
			t.Fatalf("half %#04x -> %g -> %#04x", h, f, back)
		}
	}
	for _, c := range []struct {
		f    float32
		want uint16
	}{
		{1 + 1.0/2048, 0x3c00},               // tie below: to even (1.0)
		{1 + 3.0/2048, 0x3c02},               // tie above: to even
		{1 + 1.0/2048 + 1.0/65536, 0x3c01},   // just past the tie
		{65520, 0x7c00},                      // rounds past the largest half
		{float32(math.Pow(2, -25)), 0x0000},  // tie at the smallest subnormal: to even (zero)
		{float32(math.Pow(2, -25)) * 1.5, 1}, // past it
		{-2, 0xc000},
	} {
		if got := floatToHalf(c.f); got != c.want {
			t.Errorf("floatToHalf(%g) = %#04x, want %#04x", c.f, got, c.want)
		}
	}
}
