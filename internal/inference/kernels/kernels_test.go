package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

func randSlice(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = rng.Float32()*2 - 1
	}
	return v
}

// refGemm is the textbook triple loop in float64.
func refGemm(m, n, k int, a []float32, lda int, w, bias []float32, lo, hi float32) []float32 {
	c := make([]float32, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			s := float64(bias[j])
			for kk := 0; kk < k; kk++ {
				s += float64(a[i*lda+kk]) * float64(w[j*k+kk])
			}
			c[i*n+j] = clamp(float32(s), lo, hi)
		}
	}
	return c
}

func closeTo(t *testing.T, got, want []float32, tol float64) {
	t.Helper()
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); d > tol*(1+math.Abs(float64(want[i]))) {
			t.Fatalf("element %d: got %g, want %g", i, got[i], want[i])
		}
	}
}

// paths runs f with the portable kernels and, when the CPU has them, the
// assembly kernels.
func paths(t *testing.T, f func(t *testing.T)) {
	saved2, saved512 := hasAVX2FMA, hasAVX512
	defer func() { hasAVX2FMA, hasAVX512 = saved2, saved512 }()
	for _, mode := range []struct {
		name         string
		avx2, avx512 bool
	}{{"generic", false, false}, {"avx2", true, false}, {"avx512", true, true}} {
		if (mode.avx2 && !saved2) || (mode.avx512 && !saved512) {
			t.Logf("%s: not supported by this CPU", mode.name)
			continue
		}
		hasAVX2FMA, hasAVX512 = mode.avx2, mode.avx512
		t.Run(mode.name, f)
	}
}

func TestGemm(t *testing.T) {
	paths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		for _, s := range []struct{ m, n, k, lda int }{
			{1, 1, 1, 1}, {6, 16, 8, 8}, {7, 17, 27, 30}, {13, 40, 64, 64}, {64, 1001, 33, 33}, {5, 8, 3, 3}, {37, 96, 100, 128}, {25, 64, 50, 50}, {12, 32, 7, 9},
			{29, 16, 27, 27}, {16, 10, 40, 44}, // at most 16 columns: 16-wide panels (AVX-512: one ZMM per row)
		} {
			for _, act := range [][2]float32{{NoClampLo, NoClampHi}, {0, 6}} {
				a := randSlice(rng, s.m*s.lda)
				w := randSlice(rng, s.n*s.k)
				bias := randSlice(rng, s.n)
				p := PackB(w, s.n, s.k, bias)
				c := make([]float32, s.m*s.n)
				Gemm(s.m, a, s.lda, p, act[0], act[1], c, s.n)
				closeTo(t, c, refGemm(s.m, s.n, s.k, a, s.lda, w, bias, act[0], act[1]), 1e-5)
			}
		}
	})
}

// refDepthwise is a direct depthwise convolution with multiplier 1.
func refDepthwise(p *DWParams, in, w, bias []float32) []float32 {
	out := make([]float32, p.OH*p.OW*p.C)
	for oy := 0; oy < p.OH; oy++ {
		for ox := 0; ox < p.OW; ox++ {
			for c := 0; c < p.C; c++ {
				s := float64(bias[c])
				for ky := 0; ky < p.KH; ky++ {
					for kx := 0; kx < p.KW; kx++ {
						iy, ix := oy*p.SH+ky-p.PadT, ox*p.SW+kx-p.PadL
						if iy >= 0 && iy < p.H && ix >= 0 && ix < p.W {
							s += float64(in[(iy*p.W+ix)*p.C+c]) * float64(w[(ky*p.KW+kx)*p.C+c])
						}
					}
				}
				out[(oy*p.OW+ox)*p.C+c] = clamp(float32(s), p.Lo, p.Hi)
			}
		}
	}
	return out
}

func TestDepthwise(t *testing.T) {
	paths(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		for _, p := range []DWParams{
			{H: 8, W: 8, C: 16, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 8, OW: 8},
			{H: 8, W: 8, C: 8, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 0, PadL: 0, OH: 4, OW: 4},
			{H: 9, W: 7, C: 24, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 1, PadL: 1, OH: 5, OW: 4},
			{H: 5, W: 6, C: 5, KH: 5, KW: 3, SH: 1, SW: 2, PadT: 2, PadL: 1, OH: 5, OW: 3},
			{H: 16, W: 16, C: 32, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1, OH: 16, OW: 16},
			{H: 16, W: 16, C: 48, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 0, PadL: 0, OH: 8, OW: 8},
			{H: 17, W: 15, C: 16, KH: 3, KW: 3, SH: 2, SW: 2, PadT: 1, PadL: 1, OH: 9, OW: 8},
			{H: 10, W: 12, C: 8, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 0, PadL: 0, OH: 8, OW: 10},
			// Other window sizes take the KxK vector kernel inside the image.
			{H: 14, W: 14, C: 32, KH: 5, KW: 5, SH: 1, SW: 1, PadT: 2, PadL: 2, OH: 14, OW: 14},
			{H: 15, W: 13, C: 24, KH: 5, KW: 5, SH: 2, SW: 2, PadT: 2, PadL: 2, OH: 8, OW: 7},
			{H: 12, W: 11, C: 16, KH: 5, KW: 3, SH: 1, SW: 2, PadT: 2, PadL: 1, OH: 12, OW: 6},
			{H: 9, W: 9, C: 8, KH: 7, KW: 7, SH: 1, SW: 1, PadT: 0, PadL: 0, OH: 3, OW: 3},
			{H: 6, W: 7, C: 48, KH: 1, KW: 1, SH: 1, SW: 1, PadT: 0, PadL: 0, OH: 6, OW: 7},
		} {
			p.Lo, p.Hi = 0, 6
			in := randSlice(rng, p.H*p.W*p.C)
			w := randSlice(rng, p.KH*p.KW*p.C)
			bias := randSlice(rng, p.C)
			out := make([]float32, p.OH*p.OW*p.C)
			Depthwise(&p, in, w, bias, out, 0, p.OH)
			closeTo(t, out, refDepthwise(&p, in, w, bias), 1e-5)
		}
	})
}
