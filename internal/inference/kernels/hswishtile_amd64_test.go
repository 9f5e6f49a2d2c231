package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestHardSwishTile: the one-call tile pass gives HardSwish's results row
// by row bit for bit (any NaN matching any NaN), over widths with and
// without a tail of 8, one to six rows, row strides above the width
// (floats between rows untouched), values across the bends at -3 and 3
// and the special values; and it declines where HardSwish does not run
// the AVX2 kernel (narrow rows, the AVX-512 path).
func TestHardSwishTile(t *testing.T) {
	if !hasAVX2FMA || hasAVX512 {
		if hardSwishTile(make([]float32, 64), 16, 2, 16) {
			t.Fatal("ran off the AVX2 path")
		}
		t.Skip("not the AVX2 path: the tile pass is not used")
	}
	rng := rand.New(rand.NewPCG(9, 10))
	specials := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), -3, 3, 1e-40, -1e-40, math.MaxFloat32}
	for _, cols := range []int{8, 9, 15, 16, 23, 32, 33} {
		for rows := 1; rows <= 6; rows++ {
			for _, ld := range []int{cols, cols + 5} {
				name := fmt.Sprintf("%dx%d/ld%d", rows, cols, ld)
				c := randSlice(rng, (rows-1)*ld+cols+4)
				for i := range c {
					c[i] *= 8
				}
				for i, v := range specials {
					c[(i*7)%len(c)] = v
				}
				want := append([]float32(nil), c...)
				for i := 0; i < rows; i++ {
					HardSwish(want[i*ld : i*ld+cols])
				}
				if !hardSwishTile(c, ld, rows, cols) {
					t.Fatalf("%s: declined", name)
				}
				for i := range c {
					if !sameFloat(c[i], want[i]) {
						t.Fatalf("%s: element %d = %g, want %g", name, i, c[i], want[i])
					}
				}
			}
		}
	}
	if hardSwishTile(make([]float32, 64), 16, 2, 7) {
		t.Fatal("ran on rows narrower than a vector")
	}
}
