package jpegdec

import (
	"math/bits"
	"math/rand/v2"
	"testing"
)

// TestSelectBit checks the branch-free select against clearing the lowest set bits one by one.
func TestSelectBit(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 100000 {
		x := rng.Uint64()
		switch trial % 4 {
		case 1:
			x &= rng.Uint64()
		case 2:
			x &= rng.Uint64() & rng.Uint64()
		case 3:
			x = 1 << rng.IntN(64)
		}
		if x == 0 {
			continue
		}
		for k := range uint(bits.OnesCount64(x)) {
			y := x
			for range k {
				y &= y - 1
			}
			if want, got := uint(bits.TrailingZeros64(y)), selectBit(x, k); got != want {
				t.Fatalf("selectBit(%#x, %d) = %d, want %d", x, k, got, want)
			}
		}
	}
}

// TestDropShort checks dropShort against clearing the lowest set bits one by one, for every
// run length it serves (0–3), including runs past the last set bit.
func TestDropShort(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := range 50000 {
		x := rng.Uint64()
		switch trial % 4 {
		case 1:
			x &= rng.Uint64()
		case 2:
			x &= rng.Uint64() & rng.Uint64() & rng.Uint64()
		case 3:
			i, j := rng.IntN(64), rng.IntN(64)
			x &= 1<<i | 1<<j
		}
		for k := range uint(4) {
			want := x
			for range k {
				want &= want - 1
			}
			if got := dropShort(x, k); got != want {
				t.Fatalf("dropShort(%#x, %d) = %#x, want %#x", x, k, got, want)
			}
		}
	}
}
