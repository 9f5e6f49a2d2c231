package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// winoPaths are the transform implementations this CPU runs (each SIMD
// one over the whole multiple of its width, the rest portable), by name.
func winoPaths() []string {
	ps := []string{"generic"}
	if hasAVX2FMA {
		ps = append(ps, "avx2")
	}
	if hasAVX512 {
		ps = append(ps, "avx512")
	}
	return ps
}

func winoInputPath(path string, dst []float32, ld int, src []float32, rs, cs, c int) {
	done := 0
	switch path {
	case "avx512":
		if done = c &^ 15; done > 0 {
			winoInputAVX512(&dst[0], ld*4, &src[0], rs*4, cs*4, done)
		}
	case "avx2":
		if done = c &^ 7; done > 0 {
			winoInputAVX2(&dst[0], ld*4, &src[0], rs*4, cs*4, done)
		}
	}
	if done < c {
		winoInputGeneric(dst[done:], ld, src[done:], rs, cs, c-done)
	}
}

func winoOutputPath(path string, out []float32, rs int, m []float32, ld int, bias []float32, c int, lo, hi float32) {
	done := 0
	switch path {
	case "avx512":
		if done = c &^ 15; done > 0 {
			winoOutputAVX512(&out[0], rs*4, c*4, &m[0], ld*4, &bias[0], done, lo, hi)
		}
	case "avx2":
		if done = c &^ 7; done > 0 {
			winoOutputAVX2(&out[0], rs*4, c*4, &m[0], ld*4, &bias[0], done, lo, hi)
		}
	}
	if done < c {
		winoOutputGeneric(out[done:], rs, c, m[done:], ld, bias[done:], c-done, lo, hi)
	}
}

func winoRand(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// TestWinoTransformPaths: the AVX-512, AVX2 and portable input and output
// transforms give the same bits on channel counts around the vector widths,
// with row, pixel and position strides wider than the channels, and write
// nothing outside their vectors.
func TestWinoTransformPaths(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))

	for _, c := range []int{1, 5, 8, 15, 16, 17, 24, 33, 64, 100} {
		cs := c + 3
		rs := 5*cs + 2
		ld := c + 7
		src := winoRand(r, 4*rs)
		m := winoRand(r, WinoPos*ld)
		bias := winoRand(r, c)
		ors := 3*c + 1
		var wantIn, wantOut []float32
		for _, path := range winoPaths() {
			t.Run(fmt.Sprintf("%s/c%d", path, c), func(t *testing.T) {
				dst := make([]float32, WinoPos*ld)
				for i := range dst {
					dst[i] = sentinel
				}
				winoInputPath(path, dst, ld, src, rs, cs, c)
				out := make([]float32, 2*ors)
				for i := range out {
					out[i] = sentinel
				}
				winoOutputPath(path, out, ors, m, ld, bias, c, -1.5, 2.5)
				checkTransforms(t, dst, out, ld, ors, c, 2, &wantIn, &wantOut)
			})
		}
	}
}

// TestWinoTile: one tile through the whole Winograd path (WinoFilter,
// WinoInput, a GEMM per position, WinoOutput) matches the direct 3×3
// convolution of its 4×4 input pixels, computed in float64, for channel
// counts that are and are not multiples of the vector widths and the GEMM
// panels, with the bounds applied.
func TestWinoTile(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, sh := range [][2]int{{1, 1}, {3, 5}, {16, 16}, {17, 33}, {64, 64}, {70, 40}} {
		cin, cout := sh[0], sh[1]
		t.Run(fmt.Sprintf("%dx%d", cin, cout), func(t *testing.T) {
			in := winoRand(r, 16*cin)
			filter := winoRand(r, cout*9*cin)
			bias := winoRand(r, cout)
			pb := WinoFilter(filter, cout, cin)
			v := make([]float32, WinoPos*cin)
			WinoInput(v, cin, in, 4*cin, cin, cin)
			m := make([]float32, WinoPos*cout)
			for p := 0; p < WinoPos; p++ {
				Gemm(1, v[p*cin:], cin, pb[p], NoClampLo, NoClampHi, m[p*cout:], cout)
			}
			const lo, hi = -3, 4
			out := make([]float32, 4*cout)
			WinoOutput(out, 2*cout, m, cout, bias, cout, lo, hi)
			for oy := 0; oy < 2; oy++ {
				for ox := 0; ox < 2; ox++ {
					for o := 0; o < cout; o++ {
						s, mag := float64(bias[o]), math.Abs(float64(bias[o]))
						for ky := 0; ky < 3; ky++ {
							for kx := 0; kx < 3; kx++ {
								for ci := 0; ci < cin; ci++ {
									x := float64(in[((oy+ky)*4+ox+kx)*cin+ci]) * float64(filter[((o*3+ky)*3+kx)*cin+ci])
									s += x
									mag += math.Abs(x)
								}
							}
						}
						want := min(max(s, lo), hi)
						got := float64(out[(oy*2+ox)*cout+o])
						if math.Abs(got-want) > 1e-5*mag+1e-6 {
							t.Fatalf("pixel (%d,%d) channel %d: %v, direct %v (magnitude %v)", oy, ox, o, got, want, mag)
						}
					}
				}
			}
		})
	}
}

// checkTransforms checks one path's input transform (dst: positions ld apart, c channels each)
// and output transform (out: rows ors apart, pixels·c values each) wrote exactly their elements
// (the rest still hold sentinel), and that they equal the first path's bit for bit; the first
// path checked (the portable one) becomes the reference.
func checkTransforms(t *testing.T, dst, out []float32, ld, ors, c, pixels int, wantIn, wantOut *[]float32) {
	t.Helper()
	for i, v := range dst {
		if inside := i%ld < c; inside == (v == sentinel) {
			t.Fatalf("input transform: element %d (position %d, channel %d) is %v", i, i/ld, i%ld, v)
		}
	}
	for i, v := range out {
		if inside := i%ors < pixels*c; inside == (v == sentinel) {
			t.Fatalf("output transform: element %d is %v", i, v)
		}
	}
	if *wantIn == nil {
		*wantIn, *wantOut = dst, out
		return
	}
	for i := range dst {
		if math.Float32bits(dst[i]) != math.Float32bits((*wantIn)[i]) {
			t.Fatalf("input transform element %d: %v, generic %v", i, dst[i], (*wantIn)[i])
		}
	}
	for i := range out {
		if math.Float32bits(out[i]) != math.Float32bits((*wantOut)[i]) {
			t.Fatalf("output transform element %d: %v, generic %v", i, out[i], (*wantOut)[i])
		}
	}
}

// sentinel marks the elements a transform must not write.
const sentinel = float32(-12345)
