//go:build amd64

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestStemColumnsAVX2: the AVX2 stem kernels give GemmAct's bits over the
// same windows gathered in the column path's order (K = (kx*3+ky)*3+c),
// for 16 and 32 output channels, with and without HARD_SWISH, bounds
// that bind and none, window rows 3, 6 (stride 2) and 9 floats apart,
// and pixel counts below, at and between whole tiles (one by one, tiles
// only, a last tile moved back).
func TestStemColumnsAVX2(t *testing.T) {
	if !hasAVX2FMA || hasAVX512 {
		t.Skip("the AVX2 stem runs on the AVX2 path only (CSPIPE_KERNELS=avx2 on AVX-512)")
	}
	for _, n := range []int{16, 32} {
		for _, act := range []Act{{Lo: 0, Hi: 6}, {Lo: NoClampLo, Hi: NoClampHi, HardSwish: true}, {Lo: -1, Hi: 2, HardSwish: true}} {
			for _, lda := range []int{3, 6, 9} {
				for _, m := range []int{1, 2, 3, 4, 5, 6, 7, 11, 12, 13, 63, 64, 111} {
					t.Run(fmt.Sprintf("n%d/lo%g/hs%v/lda%d/m%d", n, act.Lo, act.HardSwish, lda, m), func(t *testing.T) {
						rng := rand.New(rand.NewPCG(uint64(m), uint64(n*lda)))
						w := make([]float32, n*27)
						for i := range w {
							w[i] = rng.Float32()*2 - 1
						}
						bias := make([]float32, n)
						for i := range bias {
							bias[i] = rng.Float32()*2 - 1
						}
						b := PackB(w, n, 27, bias)
						if !StemColumnsAVX2Fast(b) {
							t.Fatal("StemColumnsAVX2Fast false on the AVX2 path")
						}
						var segs [3][]float32
						for ky := range segs {
							segs[ky] = make([]float32, (m-1)*lda+9)
							for i := range segs[ky] {
								segs[ky][i] = (rng.Float32()*2 - 1) * 2
							}
						}
						a := make([]float32, m*27)
						for i := 0; i < m; i++ {
							for kx := 0; kx < 3; kx++ {
								for ky := 0; ky < 3; ky++ {
									copy(a[i*27+(kx*3+ky)*3:][:3], segs[ky][i*lda+kx*3:])
								}
							}
						}
						want := make([]float32, m*n)
						GemmAct(m, a, 27, b, act, want, n)
						got := make([]float32, m*n+1)
						got[m*n] = 42
						StemColumnsAVX2(m, &segs, lda, b, act, got)
						for i := range want {
							if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
								t.Fatalf("output %d (pixel %d, channel %d) = %g, GemmAct %g", i, i/n, i%n, got[i], want[i])
							}
						}
						if got[m*n] != 42 {
							t.Fatal("wrote past the last pixel")
						}
					})
				}
			}
		}
	}
}
