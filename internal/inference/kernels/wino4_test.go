package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// wino4Path runs Wino4Input and Wino4Output with the SIMD kernel of one
// path (or none) and the portable loop for the remaining channels.
func wino4Path(path string, f func()) {
	a2, a5 := hasAVX2FMA, hasAVX512
	defer func() { hasAVX2FMA, hasAVX512 = a2, a5 }()
	switch path {
	case "generic":
		hasAVX2FMA, hasAVX512 = false, false
	case "avx2":
		hasAVX512 = false
	}
	f()
}

// TestWino4TransformPaths: F(4×4, 3×3)'s AVX-512, AVX2 and portable
// transforms give the same bits, with strides wider than the channels,
// and write nothing outside their vectors.
func TestWino4TransformPaths(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))

	for _, c := range []int{1, 5, 8, 15, 16, 17, 24, 33, 64, 100} {
		cs := c + 3
		rs := 7*cs + 2
		ld := c + 7
		src := winoRand(r, 6*rs)
		m := winoRand(r, Wino4Pos*ld)
		bias := winoRand(r, c)
		ors := 5*c + 1
		var wantIn, wantOut []float32
		for _, path := range winoPaths() {
			t.Run(fmt.Sprintf("%s/c%d", path, c), func(t *testing.T) {
				dst := make([]float32, Wino4Pos*ld)
				for i := range dst {
					dst[i] = sentinel
				}
				out := make([]float32, 4*ors)
				for i := range out {
					out[i] = sentinel
				}
				tmp := make([]float32, Wino4Scratch)
				wino4Path(path, func() {
					Wino4Input(dst, ld, src, rs, cs, c, tmp)
					Wino4Output(out, ors, m, ld, bias, c, -1.5, 2.5, tmp)
				})
				checkTransforms(t, dst, out, ld, ors, c, 4, &wantIn, &wantOut)
			})
		}
	}
}

// TestWino4Tile: one 6×6 tile through F(4×4, 3×3) matches the direct
// convolution in float64 within 1e-4 of its terms' magnitude (its
// transforms' coefficients make its error larger than F(2×2, 3×3)'s).
func TestWino4Tile(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, sh := range [][2]int{{1, 1}, {3, 5}, {16, 16}, {17, 33}, {64, 64}} {
		cin, cout := sh[0], sh[1]
		t.Run(fmt.Sprintf("%dx%d", cin, cout), func(t *testing.T) {
			in := winoRand(r, 36*cin)
			filter := winoRand(r, cout*9*cin)
			bias := winoRand(r, cout)
			pb := Wino4Filter(filter, cout, cin)
			tmp := make([]float32, Wino4Scratch)
			v := make([]float32, Wino4Pos*cin)
			Wino4Input(v, cin, in, 6*cin, cin, cin, tmp)
			m := make([]float32, Wino4Pos*cout)
			for p := 0; p < Wino4Pos; p++ {
				Gemm(1, v[p*cin:], cin, pb[p], NoClampLo, NoClampHi, m[p*cout:], cout)
			}
			const lo, hi = -3, 4
			out := make([]float32, 16*cout)
			Wino4Output(out, 4*cout, m, cout, bias, cout, lo, hi, tmp)
			for oy := 0; oy < 4; oy++ {
				for ox := 0; ox < 4; ox++ {
					for o := 0; o < cout; o++ {
						s, mag := float64(bias[o]), math.Abs(float64(bias[o]))
						for ky := 0; ky < 3; ky++ {
							for kx := 0; kx < 3; kx++ {
								for ci := 0; ci < cin; ci++ {
									x := float64(in[((oy+ky)*6+ox+kx)*cin+ci]) * float64(filter[((o*3+ky)*3+kx)*cin+ci])
									s += x
									mag += math.Abs(x)
								}
							}
						}
						want := min(max(s, lo), hi)
						got := float64(out[(oy*4+ox)*cout+o])
						if math.Abs(got-want) > 1e-4*mag+1e-6 {
							t.Fatalf("pixel (%d,%d) channel %d: %v, direct %v (magnitude %v)", oy, ox, o, got, want, mag)
						}
					}
				}
			}
		})
	}
}
