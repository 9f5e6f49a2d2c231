package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/kernels"
)

// TestConvPaths checks both general convolution paths (per-pixel gather and
// column strips) against a direct loop on shapes with padding on every side,
// strides 1 and 2, thin and wide inputs, several images and threads.
func TestConvPaths(t *testing.T) {
	shapes := []struct{ h, w, cin, cout, kh, kw, sh, sw, padT, padL int }{
		{16, 16, 3, 32, 3, 3, 2, 2, 0, 0},
		{11, 13, 3, 8, 3, 3, 2, 2, 1, 1},
		{9, 7, 3, 20, 3, 3, 1, 1, 1, 1},
		{13, 11, 4, 12, 5, 5, 2, 2, 2, 2},
		{8, 10, 1, 5, 3, 2, 1, 2, 0, 1},
		{7, 9, 16, 33, 3, 3, 1, 1, 1, 0},
		{6, 6, 3, 4, 3, 3, 3, 3, 1, 1},
		{7, 7, 24, 40, 3, 3, 1, 1, 1, 1}, // 49 pixels: the last gathered block takes the one left over
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, s := range shapes {
		oh := (s.h+2*s.padT-s.kh)/s.sh + 1
		ow := (s.w+2*s.padL-s.kw)/s.sw + 1
		filter := randFloats(rng, s.cout*s.kh*s.kw*s.cin)
		bias := randFloats(rng, s.cout)
		for _, columns := range []bool{false, true} {
			for _, bt := range []struct{ batch, threads int }{{1, 1}, {1, 2}, {3, 2}} {
				name := fmt.Sprintf("%dx%dx%d_k%dx%d_s%d_p%d%d_columns=%v_b%d_t%d", s.h, s.w, s.cin, s.kh, s.kw, s.sh, s.padT, s.padL, columns, bt.batch, bt.threads)
				t.Run(name, func(t *testing.T) {
					k := &convKernel{h: s.h, w: s.w, cin: s.cin, oh: oh, ow: ow, cout: s.cout, kh: s.kh, kw: s.kw,
						sh: s.sh, sw: s.sw, padT: s.padT, padL: s.padL, lo: 0, hi: 6}
					f := filter
					if columns {
						k.columns, k.wpad = true, (ow-1)*s.sw+s.kw
						f = columnOrder(filter, s.cout, s.kh, s.kw, s.cin)
					}
					k.pb = kernels.PackB(f, s.cout, s.kh*s.kw*s.cin, bias)
					in := randFloats(rng, bt.batch*s.h*s.w*s.cin)
					got := make([]float32, bt.batch*oh*ow*s.cout)
					for i := range got {
						got[i] = float32(math.NaN()) // every output must be written
					}
					k.run(&env{threads: bt.threads, batch: bt.batch}, [][]float32{in}, got)
					want := directConv(k, in, filter, bias, bt.batch)
					for i := range want {
						if d := math.Abs(float64(got[i] - want[i])); !(d <= 1e-5*math.Max(1, math.Abs(float64(want[i])))) {
							t.Fatalf("output %d = %v, want %v", i, got[i], want[i])
						}
					}
				})
			}
		}
	}
}

// directConv is the textbook convolution with a [Cout][KH][KW][Cin] filter.
func directConv(k *convKernel, in, filter, bias []float32, batch int) []float32 {
	out := make([]float32, batch*k.oh*k.ow*k.cout)
	for b := 0; b < batch; b++ {
		for oy := 0; oy < k.oh; oy++ {
			for ox := 0; ox < k.ow; ox++ {
				for o := 0; o < k.cout; o++ {
					sum := float64(bias[o])
					for ky := 0; ky < k.kh; ky++ {
						iy := oy*k.sh + ky - k.padT
						for kx := 0; kx < k.kw; kx++ {
							ix := ox*k.sw + kx - k.padL
							if iy < 0 || iy >= k.h || ix < 0 || ix >= k.w {
								continue
							}
							for c := 0; c < k.cin; c++ {
								sum += float64(in[((b*k.h+iy)*k.w+ix)*k.cin+c]) * float64(filter[((o*k.kh+ky)*k.kw+kx)*k.cin+c])
							}
						}
					}
					out[((b*k.oh+oy)*k.ow+ox)*k.cout+o] = float32(min(max(sum, 0), 6))
				}
			}
		}
	}
	return out
}

func randFloats(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = rng.Float32()*2 - 1
	}
	return v
}
