//go:build amd64

package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestStemRow32: the whole-row stem kernel gives bit for bit what
// GemmSegs gives on the same three segments (its gemmS*x32 tiles), for
// every row count from 1 to 70 and the widths of 128, 224 and 225 pixel
// images, at stride 2 (lda 6) and 1 (lda 3), with the bounds and without,
// from segments that start anywhere in the image row, and writes nothing
// past its m rows.
func TestStemRow32(t *testing.T) {
	if !StemRow32Fast(27, 32) {
		t.Skip("no AVX-512 on this CPU")
	}
	rng := rand.New(rand.NewPCG(21, 22))
	w := randSlice(rng, 32*27)
	bias := randSlice(rng, 32)
	b := PackB(w, 32, 27, bias)
	inf := float32(math.Inf(1))
	ms := []int{63, 111, 112, 127}
	for m := 1; m <= 70; m++ {
		ms = append(ms, m)
	}
	for _, m := range ms {
		for _, lda := range []int{6, 3} {
			for _, bounds := range [][2]float32{{0, 6}, {-inf, inf}, {-0.5, 0.25}} {
				var a [3][]float32
				for s := range a {
					row := randSlice(rng, (m-1)*lda+9+s)
					for i := range row {
						row[i] *= 4
					}
					a[s] = row[s:] // a start off any alignment
				}
				want := make([]float32, m*32)
				GemmSegs(m, a[:], lda, b, Act{Lo: bounds[0], Hi: bounds[1]}, want, 32)
				got := make([]float32, m*32+16)
				for i := range got[m*32:] {
					got[m*32+i] = 42
				}
				StemRow32(m, false, false, &a, lda, b, bounds[0], bounds[1], got)
				if !slices.Equal(got[:m*32], want) {
					for i := range want {
						if got[i] != want[i] {
							t.Fatalf("m %d lda %d bounds %v: row %d column %d: %v, GemmSegs %v", m, lda, bounds, i/32, i%32, got[i], want[i])
						}
					}
				}
				for _, v := range got[m*32:] {
					if v != 42 {
						t.Fatalf("m %d lda %d: wrote past its rows", m, lda)
					}
				}
			}
		}
	}
}

// TestStemRow32Refuses: StemRow32 panics on weights it has no kernel for
// and on operands shorter than their shape, instead of reading past them.
func TestStemRow32Refuses(t *testing.T) {
	if !StemRow32Fast(27, 32) {
		t.Skip("no AVX-512 on this CPU")
	}
	rng := rand.New(rand.NewPCG(23, 24))
	good := PackB(randSlice(rng, 32*27), 32, 27, nil)
	var a [3][]float32
	for s := range a {
		a[s] = randSlice(rng, 9*6+9)
	}
	for name, f := range map[string]func(){
		"64 columns": func() {
			StemRow32(10, false, false, &a, 6, PackB(randSlice(rng, 64*27), 64, 27, nil), 0, 6, make([]float32, 640))
		},
		"K 36": func() {
			StemRow32(10, false, false, &a, 6, PackB(randSlice(rng, 32*36), 32, 36, nil), 0, 6, make([]float32, 320))
		},
		"short A": func() { StemRow32(11, false, false, &a, 6, good, 0, 6, make([]float32, 352)) },
		"short A, edge": func() {
			var e [3][]float32
			for s := range e {
				e[s] = a[s][:9*6+5]
			}
			StemRow32(10, false, true, &e, 6, good, 0, 6, make([]float32, 320))
		},
		"short A, left": func() {
			var e [3][]float32
			for s := range e {
				e[s] = a[s][3 : 9*6+8]
			}
			StemRow32(10, true, false, &e, 6, good, 0, 6, make([]float32, 320))
		},
		"one row, both edges": func() { StemRow32(1, true, true, &a, 6, good, 0, 6, make([]float32, 32)) },
		"short C":             func() { StemRow32(10, false, false, &a, 6, good, 0, 6, make([]float32, 319)) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

// TestStemRow32Edge: with right, the last row's window is read for its
// first two columns only, and with left, the first row's for its last
// two (NaNs in the other columns, which any read would spread); every row
// comes out bit for bit as GemmSegs gives them with those columns zeros,
// for 1 to 70 rows and the widths of 128 and 224 pixel images, at stride 2
// (lda 6) and 1 (lda 3), either edge and both, with the bounds and
// without.
func TestStemRow32Edge(t *testing.T) {
	if !StemRow32Fast(27, 32) {
		t.Skip("no AVX-512 on this CPU")
	}
	rng := rand.New(rand.NewPCG(25, 26))
	b := PackB(randSlice(rng, 32*27), 32, 27, randSlice(rng, 32))
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	ms := []int{64, 112}
	for m := 1; m <= 70; m++ {
		ms = append(ms, m)
	}
	for _, m := range ms {
		for _, lda := range []int{6, 3} {
			for _, edges := range [][2]bool{{false, true}, {true, false}, {true, true}} {
				left, right := edges[0], edges[1]
				if left && right && m == 1 {
					continue
				}
				for _, bounds := range [][2]float32{{0, 6}, {-inf, inf}} {
					n := (m-1)*lda + 9 // the windows, whole
					var a, padded [3][]float32
					for s := range a {
						full := randSlice(rng, n)
						for i := range full {
							full[i] *= 4
						}
						padded[s] = slices.Clone(full)
						from, to := 0, n
						if left {
							from = 3
						}
						if right {
							to = n - 3
						}
						for i := range full {
							if i < from || i >= to {
								full[i], padded[s][i] = nan, 0
							}
						}
						a[s] = full[from:to]
					}
					want := make([]float32, m*32)
					GemmSegs(m, padded[:], lda, b, Act{Lo: bounds[0], Hi: bounds[1]}, want, 32)
					got := make([]float32, m*32+16)
					for i := range got[m*32:] {
						got[m*32+i] = 42
					}
					StemRow32(m, left, right, &a, lda, b, bounds[0], bounds[1], got)
					if !slices.Equal(got[:m*32], want) {
						t.Fatalf("m %d lda %d left %v right %v bounds %v: differs from GemmSegs on the zero-padded windows", m, lda, left, right, bounds)
					}
					for _, v := range got[m*32:] {
						if v != 42 {
							t.Fatalf("m %d: wrote past its rows", m)
						}
					}
				}
			}
		}
	}
}
