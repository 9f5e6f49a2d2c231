package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
)

// resnetMaxPool is ResNet-50@224's stem pool: 3x3 stride 2 over
// 112×112×64, padded SAME (one column and row on the right and bottom).
func resnetMaxPool() *poolKernel {
	return &poolKernel{max: true, h: 112, w: 112, c: 64, oh: 56, ow: 56, kh: 3, kw: 3, sh: 2, sw: 2,
		lo: float32(math.Inf(-1)), hi: float32(math.Inf(1))}
}

// poolByTaps is max pooling as it ran before MaxWindow: every output row
// folded tap by tap from -Inf, then bounded.
func poolByTaps(k *poolKernel, in, out []float32) {
	for oy := 0; oy < k.oh; oy++ {
		row := out[oy*k.ow*k.c : (oy+1)*k.ow*k.c]
		k.foldTaps(in, oy, row, 0, k.ow)
		clampSlice(row, k.lo, k.hi)
	}
}

// TestMaxPoolWindow: max pooling with the inside columns on MaxWindow is
// bit for bit the tap-by-tap fold, NaNs, signed zeros and ties included,
// with padding on every side, strides 1 to 3 and channels on and off the
// vector widths.
func TestMaxPoolWindow(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	specials := []float32{float32(math.NaN()), float32(math.Copysign(0, -1)), 0, float32(math.Inf(1)), float32(math.Inf(-1))}
	for _, s := range []struct{ h, w, c, kh, kw, sh, sw, padT, padL int }{
		{13, 13, 64, 3, 3, 2, 2, 0, 0},
		{12, 12, 64, 3, 3, 2, 2, 1, 1},
		{9, 10, 40, 3, 3, 1, 1, 1, 1},
		{8, 9, 5, 2, 2, 2, 2, 0, 0},
		{11, 12, 16, 4, 4, 3, 3, 1, 2},
		{3, 3, 8, 3, 3, 1, 1, 1, 1},
	} {
		t.Run(fmt.Sprintf("%dx%dx%d_k%dx%d_s%d%d_p%d%d", s.h, s.w, s.c, s.kh, s.kw, s.sh, s.sw, s.padT, s.padL), func(t *testing.T) {
			oh := (s.h+2*s.padT-s.kh)/s.sh + 1
			ow := (s.w+2*s.padL-s.kw)/s.sw + 1
			k := &poolKernel{max: true, h: s.h, w: s.w, c: s.c, oh: oh, ow: ow, kh: s.kh, kw: s.kw, sh: s.sh, sw: s.sw,
				padT: s.padT, padL: s.padL, lo: -2, hi: 3}
			in := make([]float32, s.h*s.w*s.c)
			for i := range in {
				in[i] = float32(rng.IntN(11) - 5)
				if rng.IntN(10) == 0 {
					in[i] = specials[rng.IntN(len(specials))]
				}
			}
			want := make([]float32, oh*ow*s.c)
			poolByTaps(k, in, want)
			got := make([]float32, len(want))
			for i := range got {
				got[i] = 42 // every output must be written
			}
			k.runOne([][]float32{in}, got)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("output %d = %v, want %v", i, got[i], want[i])
				}
			}
		})
	}
}

// BenchmarkResNetMaxPool runs ResNet-50@224's stem pool both ways in
// alternation, call by call, and reports the median over pairs of the
// tap-by-tap fold's time over MaxWindow's ("taps/window", above 1 when
// MaxWindow is faster).
func BenchmarkResNetMaxPool(b *testing.B) {
	k := resnetMaxPool()
	in := randFloats(rand.New(rand.NewPCG(1, 2)), k.h*k.w*k.c)
	out := make([]float32, k.oh*k.ow*k.c)
	t := abbench.Alternate(b, abbench.Wall,
		abbench.Side{Name: "taps", Run: func() { poolByTaps(k, in, out) }},
		abbench.Side{Name: "window", Run: func() { k.runOne([][]float32{in}, out) }})
	b.ReportMetric(abbench.Med(t.Ratios(0, 0, 1)), "taps/window")
}

// BenchmarkResNetStemPool runs ResNet-50@224's stem and then its max pool,
// the pool front to back ("fwd") or back to front ("back", the default)
// in alternation, and reports the pool's median and fastest time (thread
// CPU): back to front it finds the stem's last rows in L2.
func BenchmarkResNetStemPool(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	stem, pool := resnetStem(rng), resnetMaxPool()
	in := randFloats(rng, 224*224*3)
	mid := make([]float32, 112*112*64)
	out := make([]float32, 56*56*64)
	e := &env{threads: 1, batch: 1}
	defer func(v bool) { poolBackwards = v }(poolBackwards)
	// The stem's run ahead of every pool is untimed setup.
	side := func(name string, backwards bool) abbench.Side {
		return abbench.Side{Name: name, Setup: func() {
			poolBackwards = backwards
			stem.run(e, [][]float32{in}, mid)
		}, Run: func() { pool.run(e, [][]float32{mid}, out) }}
	}
	t := abbench.Alternate(b, abbench.ThreadCPU, side("fwd", false), side("back", true))
	t.Report(b, 0, abbench.Med, 1e6, "med-µs-%s")
	t.Report(b, 0, abbench.Best, 1e6, "best-µs-%s")
}

// TestPoolBackwards checks that pooling back to front (images and rows)
// writes every output of every image as front to back does, bit for bit,
// for max and average pools at batch 3.
func TestPoolBackwards(t *testing.T) {
	defer func(v bool) { poolBackwards = v }(poolBackwards)
	rng := rand.New(rand.NewPCG(7, 8))
	for _, isMax := range []bool{true, false} {
		k := &poolKernel{max: isMax, h: 9, w: 11, c: 8, oh: 5, ow: 6, kh: 3, kw: 3, sh: 2, sw: 2, padT: 1, padL: 1,
			lo: float32(math.Inf(-1)), hi: float32(math.Inf(1))}
		const batch = 3
		in := randFloats(rng, batch*k.h*k.w*k.c)
		e := &env{threads: 1, batch: batch}
		want := make([]float32, batch*k.oh*k.ow*k.c)
		poolBackwards = false
		k.run(e, [][]float32{in}, want)
		got := make([]float32, len(want))
		for i := range got {
			got[i] = 42
		}
		poolBackwards = true
		k.run(e, [][]float32{in}, got)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("max %v: output %d = %v, want %v", isMax, i, got[i], want[i])
			}
		}
	}
}
