package kernels

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestPoolRows checks SumRows, MulRows and AddRows bit for bit against what
// they replace (Add(out, out, row) row by row; Mul and Add of every row with
// the channel row), on the portable and the AVX2 path, over channel counts
// with and without a tail of 8 and blocks of 32 and row counts from one to
// a 14x14 image's; the floats past the rows stay untouched.
func TestPoolRows(t *testing.T) {
	paths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		for _, c := range []int{1, 7, 8, 9, 24, 31, 32, 33, 40, 72, 100, 120, 480, 672, 960} {
			for _, rows := range []int{1, 2, 7, 49, 196} {
				name := fmt.Sprintf("c%d/rows%d", c, rows)
				in := randSlice(rng, rows*c+5)
				s := randSlice(rng, c)
				start := randSlice(rng, c+3)

				want := slices.Clone(start)
				for r := 0; r < rows; r++ {
					Add(want[:c], want[:c], in[r*c:(r+1)*c])
				}
				got := slices.Clone(start)
				SumRows(got, in, rows, c)
				if !slices.Equal(got, want) {
					t.Fatalf("%s: SumRows differs from Add row by row", name)
				}

				for _, mul := range []bool{true, false} {
					want := randSlice(rng, rows*c+5)
					got := slices.Clone(want)
					for r := 0; r < rows; r++ {
						if mul {
							Mul(want[r*c:(r+1)*c], in[r*c:(r+1)*c], s)
						} else {
							Add(want[r*c:(r+1)*c], in[r*c:(r+1)*c], s)
						}
					}
					if mul {
						MulRows(got, in, s, rows, c)
					} else {
						AddRows(got, in, s, rows, c)
					}
					if !slices.Equal(got, want) {
						t.Fatalf("%s/mul=%v: differs from row by row", name, mul)
					}
				}
			}
		}
	})
}
