package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestPoolMatchesDirect checks max and average pooling (padding on every
// side, strides 1 to 3, channel counts on and off the vector width, average
// over the inside taps or the whole window) against the textbook loop. The
// kernel sums taps in the same order, so results must be identical.
func TestPoolMatchesDirect(t *testing.T) {
	shapes := []struct{ h, w, c, kh, kw, sh, sw, padT, padL int }{
		{9, 9, 16, 3, 3, 2, 2, 1, 1},  // ResNet's stem pool
		{8, 8, 64, 3, 3, 2, 2, 0, 0},  // no padding
		{7, 11, 5, 3, 2, 1, 2, 1, 1},  // odd channels: portable path
		{5, 5, 24, 5, 5, 1, 1, 0, 0},  // whole-image window
		{10, 6, 8, 2, 3, 3, 1, 0, 2},  // left padding wider than a stride
		{4, 4, 40, 3, 3, 1, 1, 1, 1},  // every window clipped
		{12, 12, 7, 4, 4, 3, 3, 2, 2}, // stride below the window
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, s := range shapes {
		oh := (s.h+2*s.padT-s.kh)/s.sh + 1
		ow := (s.w+2*s.padL-s.kw)/s.sw + 1
		for _, mode := range []string{"max", "avg", "avg-full"} {
			t.Run(fmt.Sprintf("%dx%dx%d_k%dx%d_s%d%d_p%d%d_%s", s.h, s.w, s.c, s.kh, s.kw, s.sh, s.sw, s.padT, s.padL, mode), func(t *testing.T) {
				k := &poolKernel{max: mode == "max", full: mode == "avg-full", h: s.h, w: s.w, c: s.c, oh: oh, ow: ow,
					kh: s.kh, kw: s.kw, sh: s.sh, sw: s.sw, padT: s.padT, padL: s.padL, lo: -0.5, hi: 0.75}
				const batch = 2
				in := randFloats(rng, batch*s.h*s.w*s.c)
				got := make([]float32, batch*oh*ow*s.c)
				for i := range got {
					got[i] = float32(math.NaN()) // every output must be written
				}
				k.run(&env{threads: 1, batch: batch}, [][]float32{in}, got)
				want := directPool(k, in, batch)
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("output %d = %v, want %v", i, got[i], want[i])
					}
				}
			})
		}
	}
}

func directPool(k *poolKernel, in []float32, batch int) []float32 {
	out := make([]float32, batch*k.oh*k.ow*k.c)
	for b := 0; b < batch; b++ {
		for oy := 0; oy < k.oh; oy++ {
			for ox := 0; ox < k.ow; ox++ {
				for c := 0; c < k.c; c++ {
					acc, n := float32(0), 0
					if k.max {
						acc = float32(math.Inf(-1))
					}
					for ky := 0; ky < k.kh; ky++ {
						for kx := 0; kx < k.kw; kx++ {
							iy, ix := oy*k.sh+ky-k.padT, ox*k.sw+kx-k.padL
							if iy < 0 || iy >= k.h || ix < 0 || ix >= k.w {
								continue
							}
							v := in[((b*k.h+iy)*k.w+ix)*k.c+c]
							n++
							if k.max {
								acc = max(acc, v)
							} else {
								acc += v
							}
						}
					}
					switch {
					case k.max:
					case k.full:
						acc /= float32(k.kh * k.kw)
					default:
						acc /= float32(n)
					}
					out[((b*k.oh+oy)*k.ow+ox)*k.c+c] = min(max(acc, k.lo), k.hi)
				}
			}
		}
	}
	return out
}
