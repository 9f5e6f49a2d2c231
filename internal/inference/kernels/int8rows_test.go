package kernels

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestInt8Rows3x3 checks Int8Rows3x3 (the 64-channel blocks outer over
// all rows) against one Int8Pixels3x3 call per row (checked against the
// portable kernel by TestDW3x3I8x64), on channel counts in and out of
// whole blocks of 64 and the pixel-pair count 32, strides 1 and 2, one to
// five rows, gaps between output pixels and rows, both roundings and with
// and without the saturating packs, on every int8 path.
func TestInt8Rows3x3(t *testing.T) { eachInt8Path(t, testInt8Rows3x3) }

func testInt8Rows3x3(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for _, c := range []int{32, 64, 80, 96, 128, 144, 192, 208, 960} {
		for _, double := range []bool{true, false} {
			for _, stride := range []int{1, 2} {
				w := make([]int32, 9*c)
				for i := range w {
					w[i] = int32(rng.IntN(256) - 128)
				}
				r := randRequant(rng, c, double)
				for i := range r.Bias {
					r.Bias[i] >>= 12
					r.Shift[i] = -6 - rng.IntN(8)
				}
				if rng.IntN(2) == 0 {
					r.Lo, r.Hi = -128, 127
				}
				r = NewRequant(r.Bias, r.Mult, r.Shift, double, r.ZP, r.Lo, r.Hi)
				d, err := NewDWI8(3, 3, c, w, r)
				if err != nil {
					t.Fatal(err)
				}
				d.FoldZP(int32(rng.IntN(256) - 128))
				for _, nrows := range []int{1, 2, 4, 5} {
					wd := 6 + rng.IntN(5)
					n := 1 + (wd-3)/stride
					h := (nrows-1)*stride + 3
					rowP := wd*c + 16*rng.IntN(2)
					in := make([]int8, h*rowP)
					for i := range in {
						in[i] = int8(rng.IntN(256) - 128)
					}
					ostride := c + rng.IntN(2)*16
					orow := (n-1)*ostride + c + rng.IntN(3)
					want := make([]int8, (nrows-1)*orow+(n-1)*ostride+c)
					for _, pack := range []bool{true, false} {
						saved := hasDWPack
						hasDWPack = pack
						for y := 0; y < nrows; y++ {
							o := y * stride * rowP
							if !d.Int8Pixels3x3(want[y*orow:], ostride, in, [3]int{o, o + rowP, o + 2*rowP}, stride*c, n) {
								hasDWPack = saved
								if d.Int8Rows3x3(make([]int8, len(want)), orow, ostride, in, [3]int{0, rowP, 2 * rowP}, stride*rowP, stride*c, n, nrows) {
									t.Fatalf("c %d: Int8Rows3x3 ran where Int8Pixels3x3 does not", c)
								}
								return
							}
						}
						got := slices.Clone(want)
						for y := 0; y < nrows; y++ {
							for x := 0; x < n; x++ {
								clear(got[y*orow+x*ostride:][:c])
							}
						}
						ran := d.Int8Rows3x3(got, orow, ostride, in, [3]int{0, rowP, 2 * rowP}, stride*rowP, stride*c, n, nrows)
						hasDWPack = saved
						if !ran {
							t.Fatalf("c %d: Int8Rows3x3 did not run", c)
						}
						if i := firstDiff(got, want); i >= 0 {
							t.Fatalf("c %d stride %d double %v rows %d pack %v: byte %d (row %d) is %d, want %d",
								c, stride, double, nrows, pack, i, i/orow, got[i], want[i])
						}
						// The unsigned form: each output x as the byte x+128.
						gotU := make([]uint8, len(want))
						hasDWPack = pack
						ranU := d.Int8Rows3x3U(gotU, orow, ostride, in, [3]int{0, rowP, 2 * rowP}, stride*rowP, stride*c, n, nrows)
						hasDWPack = saved
						if !ranU {
							t.Fatalf("c %d: Int8Rows3x3U did not run", c)
						}
						for y := 0; y < nrows; y++ {
							for x := 0; x < n; x++ {
								for ch := 0; ch < c; ch++ {
									i := y*orow + x*ostride + ch
									if gotU[i] != uint8(want[i])^0x80 {
										t.Fatalf("c %d stride %d double %v rows %d pack %v: unsigned byte %d is %d, want %d",
											c, stride, double, nrows, pack, i, gotU[i], uint8(want[i])^0x80)
									}
								}
							}
						}
					}
				}
			}
		}
	}
}

func firstDiff(a, b []int8) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}
