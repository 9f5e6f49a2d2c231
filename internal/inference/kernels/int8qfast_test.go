package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
)

// fastRequant is randRequant with every shift in tabF's domain [-22, -1],
// the extremes included.
func fastRequant(rng *rand.Rand, c int, double bool) *Requant {
	r := randRequant(rng, c, double)
	for i := range r.Shift {
		switch rng.IntN(6) {
		case 0:
			r.Shift[i] = -1
		case 1:
			r.Shift[i] = -22
		case 2:
			r.Shift[i] = -1 - rng.IntN(22)
		default:
			r.Shift[i] = -3 - rng.IntN(12)
		}
	}
	return NewRequant(r.Bias, r.Mult, r.Shift, double, r.ZP, r.Lo, r.Hi)
}

// TestRequantFastForm proves tabF's one-sum form of both roundings against
// TFLite's definitions (Requant.One) channel by channel: on every
// accumulator in [-2^17, 2^17], the int32 extremes, and around each point
// where either rounding of TFLite's double form or the single form
// changes its result (the ties and one to three either side), for
// multipliers 0, 2^30, 2^31-1 and random ones, shifts -1 to -22, both
// roundings and random zero points and clamps. It also checks that tabF
// is absent when a shift is above -1 or below -22.
func TestRequantFastForm(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	check := func(r *Requant, ch int, acc int32) {
		if got, want := r.fastOne(acc, ch), r.One(acc, ch); got != want {
			t.Fatalf("double %v mult %d shift %d zp %d [%d, %d]: acc %d: fast form %d, TFLite %d",
				r.Double, r.Mult[ch], r.Shift[ch], r.ZP, r.Lo, r.Hi, acc, got, want)
		}
	}
	for rep := 0; rep < 24; rep++ {
		for _, double := range []bool{false, true} {
			r := fastRequant(rng, 16, double)
			if r.tabF == nil {
				t.Fatal("tabF missing for shifts <= -1")
			}
			// Full range output: the clamp must not hide a wrong value.
			if rep%2 == 0 {
				r = NewRequant(r.Bias, r.Mult, r.Shift, double, r.ZP, math.MinInt32, math.MaxInt32)
			}
			for ch := 0; ch < 16; ch++ {
				for x := int32(-1 << 17); x <= 1<<17; x++ {
					check(r, ch, x)
				}
				for d := int32(0); d < 4; d++ {
					check(r, ch, math.MinInt32+d)
					check(r, ch, math.MaxInt32-d)
				}
				q := int64(r.Mult[ch])
				if q == 0 {
					continue
				}
				right := uint(-r.Shift[ch])
				// Ties of the first rounding (x*q = (2k+1)*2^30) and of the
				// result (x*q = (2k+1)*2^(30+right)), k over a wide range.
				for _, unit := range []uint{30, 30 + right} {
					for rep2 := 0; rep2 < 400; rep2++ {
						k := rng.Int64N(1<<20) - 1<<19
						if rep2%2 == 0 {
							k = rng.Int64N(1<<(62-unit-1)) - 1<<(62-unit-2)
						}
						x0 := ((2*k + 1) << unit) / q
						for d := int64(-3); d <= 3; d++ {
							if x := x0 + d; x >= math.MinInt32 && x <= math.MaxInt32 {
								check(r, ch, int32(x))
							}
						}
					}
				}
			}
		}
	}
	for _, s := range []int{0, -23} {
		r := fastRequant(rng, 16, true)
		r.Shift[5] = s
		if r = NewRequant(r.Bias, r.Mult, r.Shift, true, r.ZP, r.Lo, r.Hi); r.tabF != nil {
			t.Fatalf("tabF built with a shift of %d", s)
		}
	}
}

// withRQFast runs fn with hasRQFast set to on.
func withRQFast(on bool, fn func()) func() {
	return func() {
		saved := hasRQFast
		hasRQFast = on
		fn()
		hasRQFast = saved
	}
}

// BenchmarkDW3x3I8x64Fast: the 64-channel depthwise kernel on one row of
// 32 stride-1 pixels of V2's channel counts, rescaled through tabF against
// tab16, both roundings.
func BenchmarkDW3x3I8x64Fast(b *testing.B) {
	if !use512() || !hasVNNI512 {
		b.Skip("needs AVX-512 VNNI")
	}
	for _, c := range []int{32, 96, 144, 192, 384, 576, 960} {
		for _, double := range []bool{true, false} {
			const n = 32
			rng := rand.New(rand.NewPCG(3, 4))
			w := make([]int32, 9*c)
			for i := range w {
				w[i] = int32(rng.IntN(255) - 127)
			}
			r := fastRequant(rng, c, double)
			d, err := NewDWI8(3, 3, c, w, r)
			if err != nil {
				b.Fatal(err)
			}
			d.FoldZP(5)
			in := make([]int8, 3*(n+2)*c)
			out := make([]int8, n*c)
			rows := [3]int{0, (n + 2) * c, 2 * (n + 2) * c}
			run := func() {
				for i := 0; i < 20; i++ {
					d.Int8Pixels3x3(out, c, in, rows, c, n)
				}
			}
			b.Run(fmt.Sprintf("c%d/%s", c, map[bool]string{true: "double", false: "single"}[double]), func(b *testing.B) {
				abbench.Speedup(b, withRQFast(false, run), withRQFast(true, run))
			})
		}
	}
}

// BenchmarkGemmRequantFast: the fused int8 GEMM and requantization on the
// shapes V2 1.0@128 gives it below AMX (64-row chunks; its expansions with
// K = 16, 24, 32, its projections to 24 and 32 channels and its stem),
// with tabF against tab16 (which runs a 24-channel layer as a 16-channel
// tile pass and a whole-panel GEMM through int32).
func BenchmarkGemmRequantFast(b *testing.B) {
	if !UseVNNI() || !use512() {
		b.Skip("needs AVX-512 VNNI")
	}
	savedAMX := hasAMX
	hasAMX = false
	defer func() { hasAMX = savedAMX }()
	for _, sh := range []struct{ m, n, k int }{
		{64, 96, 16}, {64, 144, 24}, {64, 192, 32}, {64, 24, 144}, {64, 32, 192}, {64, 32, 27},
	} {
		rng := rand.New(rand.NewPCG(5, 6))
		w := make([]int8, sh.n*sh.k)
		for i := range w {
			w[i] = int8(rng.IntN(256) - 128)
		}
		p := PackI8(w, sh.n, sh.k)
		a := make([]uint8, sh.m*p.Kp)
		for i := range a {
			a[i] = uint8(rng.IntN(256))
		}
		r := fastRequant(rng, sh.n, false)
		out := make([]int8, sh.m*sh.n)
		c := make([]int32, sh.m*p.Np)
		run := func() {
			for i := 0; i < 20; i++ {
				GemmU8I8Requant(sh.m, a, p.Kp, p, r, out, sh.n, c)
			}
		}
		b.Run(fmt.Sprintf("%dx%dx%d", sh.m, sh.n, sh.k), func(b *testing.B) {
			abbench.Speedup(b, withRQFast(false, run), withRQFast(true, run))
		})
	}
}

// TestGemmU8I8RequantSeg checks the segmented-row GEMM (a convolution's
// window rows read in place) against the portable GEMM on the same rows
// gathered, for row counts that do and do not fill whole 8-row tiles,
// channel counts ending inside a panel, and one to three segments; bytes
// between output rows and past the last are sentinels. Where no kernel
// runs it must report false and write nothing.
func TestGemmU8I8RequantSeg(t *testing.T) { eachInt8Path(t, testGemmU8I8RequantSeg) }

func testGemmU8I8RequantSeg(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	shapes := []struct{ m, n, segs, segK, lda, stride int }{
		{8, 32, 3, 12, 6, 390}, {64, 32, 3, 12, 6, 390}, {13, 24, 3, 12, 6, 100}, {21, 16, 2, 8, 3, 50},
		{16, 48, 1, 16, 5, 0}, {9, 40, 3, 16, 8, 77}, {7, 32, 3, 12, 6, 390},
	}
	for _, sh := range append(shapes, shapes...) {
		w := make([]int8, sh.n*sh.segs*sh.segK)
		for i := range w {
			w[i] = int8(rng.IntN(256) - 128)
		}
		b := PackI8(w, sh.n, sh.segs*sh.segK)
		a := make([]uint8, (sh.m-1)*sh.lda+(sh.segs-1)*sh.stride+sh.segK)
		for i := range a {
			a[i] = uint8(rng.IntN(256))
		}
		r := fastRequant(rng, sh.n, false)
		if rng.IntN(2) == 0 {
			// The whole int8 range: the tiles' saturating-pack epilogue.
			r = NewRequant(r.Bias, r.Mult, r.Shift, false, r.ZP, -128, 127)
		}
		rows := make([]uint8, sh.m*b.Kp)
		for i := 0; i < sh.m; i++ {
			for j := 0; j < sh.segs; j++ {
				copy(rows[i*b.Kp+j*sh.segK:][:sh.segK], a[i*sh.lda+j*sh.stride:])
			}
		}
		acc := make([]int32, sh.m*b.Np)
		GemmU8I8Generic(sh.m, rows, b.Kp, b, acc, b.Np)
		ldo := sh.n + rng.IntN(4)
		buf := make([]int8, (sh.m-1)*ldo+sh.n+64)
		for i := range buf {
			buf[i] = 0x5a
		}
		ran := GemmU8I8RequantSeg(sh.m, a, sh.lda, sh.segs, sh.stride, b, r, buf[:(sh.m-1)*ldo+sh.n], ldo)
		if want := UseVNNI() && use512() && sh.m >= 8; ran != want {
			t.Fatalf("%+v: ran %v, want %v", sh, ran, want)
		}
		want := make([]int8, sh.n)
		for i := 0; i < sh.m; i++ {
			r.RowGeneric(want, acc[i*b.Np:])
			for j := range want {
				if got := buf[i*ldo+j]; ran && got != want[j] || !ran && got != 0x5a {
					t.Fatalf("%+v ran %v: [%d][%d] got %d, want %d", sh, ran, i, j, got, want[j])
				}
			}
		}
		for i := range buf {
			if (i%ldo >= sh.n || i >= (sh.m-1)*ldo+sh.n) && buf[i] != 0x5a {
				t.Fatalf("%+v: byte %d past a row's channels written", sh, i)
			}
		}
	}
}

// TestRequantRowFast is TestRequantRow on rescales in tabF's domain, so
// the vector requantization runs its tabF form (checked present), on
// accumulators including the int32 extremes.
func TestRequantRowFast(t *testing.T) { eachInt8Path(t, testRequantRowFast) }

func testRequantRowFast(t *testing.T) {
	rng := rand.New(rand.NewPCG(45, 46))
	for _, double := range []bool{false, true} {
		for _, c := range []int{16, 23, 32, 61, 64, 200} {
			for rep := 0; rep < 20; rep++ {
				r := fastRequant(rng, c, double)
				if r.tabF == nil {
					t.Fatalf("c %d: no tabF", c)
				}
				m, ldo, lda := 1+rng.IntN(5), c+rng.IntN(3), c+rng.IntN(3)
				accs := randAcc(rng, (m-1)*lda+c)
				outs := make([]int8, (m-1)*ldo+c)
				r.Rows(outs, ldo, accs, lda, m)
				want := make([]int8, c)
				for i := 0; i < m; i++ {
					r.RowGeneric(want, accs[i*lda:])
					for ch := range want {
						if outs[i*ldo+ch] != want[ch] {
							a := accs[i*lda+ch]
							t.Fatalf("double %v c %d pixel %d ch %d: acc %d bias %d mult %d shift %d: got %d, want %d",
								double, c, i, ch, a, r.Bias[ch], r.Mult[ch], r.Shift[ch], outs[i*ldo+ch], want[ch])
						}
					}
				}
			}
		}
	}
}

// BenchmarkAddI8: the quantized residual ADD of V2's 32x32x24 block, the
// AVX-512 kernel against the AVX2 one (alternating, "speedup").
func BenchmarkAddI8(b *testing.B) {
	if !use512() {
		b.Skip("needs AVX-512")
	}
	p := &AddI8{AZP: 3, BZP: -7, AM: 1 << 19, BM: 3 << 18, Shift: 20, ZP: -2, Lo: -128, Hi: 127}
	const n = 32 * 32 * 24
	x, y, out := make([]int8, n), make([]int8, n), make([]int8, n)
	for i := range x {
		x[i], y[i] = int8(i), int8(i*7)
	}
	run := func() {
		for i := 0; i < 20; i++ {
			p.Run(out, x, y)
		}
	}
	avx2 := func() {
		saved := hasAVX512
		hasAVX512 = false
		run()
		hasAVX512 = saved
	}
	abbench.Speedup(b, avx2, run)
}

// BenchmarkDW3x3I8x64Pack: the 64-channel depthwise kernel with tabF on
// V2's channel counts and a whole-int8 clamp (V2's ReLU6 outputs), its
// phases merged by saturating packs against min, max and byte blends.
func BenchmarkDW3x3I8x64Pack(b *testing.B) {
	if !use512() || !hasVNNI512 {
		b.Skip("needs AVX-512 VNNI")
	}
	for _, c := range []int{32, 144, 384, 960} {
		const n = 32
		rng := rand.New(rand.NewPCG(3, 4))
		w := make([]int32, 9*c)
		for i := range w {
			w[i] = int32(rng.IntN(255) - 127)
		}
		r := fastRequant(rng, c, true)
		r = NewRequant(r.Bias, r.Mult, r.Shift, true, r.ZP, -128, 127)
		d, err := NewDWI8(3, 3, c, w, r)
		if err != nil {
			b.Fatal(err)
		}
		d.FoldZP(5)
		in := make([]int8, 3*(n+2)*c)
		out := make([]int8, n*c)
		rows := [3]int{0, (n + 2) * c, 2 * (n + 2) * c}
		run := func(pack bool) func() {
			return func() {
				saved := hasDWPack
				hasDWPack = pack
				for i := 0; i < 20; i++ {
					d.Int8Pixels3x3(out, c, in, rows, c, n)
				}
				hasDWPack = saved
			}
		}
		b.Run(fmt.Sprintf("c%d", c), func(b *testing.B) { abbench.Speedup(b, run(false), run(true)) })
	}
}

// BenchmarkGemmRequantPack: the fused tiles on V2's expansion and stem
// shapes (and its first projection, 16 channels: the half-panel tile)
// with the whole int8 range as clamp (the saturating-pack epilogue; for a
// half panel VPMOVSDB) against a clamp one short of it (min, max and
// VPERMT2B or VPMOVDB).
func BenchmarkGemmRequantPack(b *testing.B) {
	if !UseVNNI() || !use512() {
		b.Skip("needs AVX-512 VNNI")
	}
	savedAMX := hasAMX
	hasAMX = false
	defer func() { hasAMX = savedAMX }()
	for _, sh := range []struct{ m, n, k int }{{64, 96, 16}, {64, 144, 24}, {64, 192, 32}, {64, 32, 192}, {64, 16, 32}} {
		rng := rand.New(rand.NewPCG(5, 6))
		w := make([]int8, sh.n*sh.k)
		for i := range w {
			w[i] = int8(rng.IntN(256) - 128)
		}
		p := PackI8(w, sh.n, sh.k)
		a := make([]uint8, sh.m*p.Kp)
		for i := range a {
			a[i] = uint8(rng.IntN(256))
		}
		r := fastRequant(rng, sh.n, false)
		full := NewRequant(r.Bias, r.Mult, r.Shift, false, r.ZP, -128, 127)
		short := NewRequant(r.Bias, r.Mult, r.Shift, false, r.ZP, -128, 126)
		out := make([]int8, sh.m*sh.n)
		c := make([]int32, sh.m*p.Np)
		run := func(r *Requant) func() {
			return func() {
				for i := 0; i < 20; i++ {
					GemmU8I8Requant(sh.m, a, p.Kp, p, r, out, sh.n, c)
				}
			}
		}
		b.Run(fmt.Sprintf("%dx%dx%d", sh.m, sh.n, sh.k), func(b *testing.B) { abbench.Speedup(b, run(short), run(full)) })
	}
}

// BenchmarkQuantizeF32: V2 1.0@128's input QUANTIZE (128x128x3 floats),
// the AVX-512 kernel against the AVX2 one (alternating, "speedup").
func BenchmarkQuantizeF32(b *testing.B) {
	if !use512() {
		b.Skip("needs AVX-512")
	}
	in := make([]float32, 128*128*3)
	for i := range in {
		in[i] = float32(i%255)/127.5 - 1
	}
	out := make([]int8, len(in))
	run := func() {
		for i := 0; i < 20; i++ {
			QuantizeF32(out, in, 1.0/128, -1)
		}
	}
	avx2 := func() {
		saved := hasAVX512
		hasAVX512 = false
		run()
		hasAVX512 = saved
	}
	abbench.Speedup(b, avx2, run)
}

// TestQuantizeF32Recip checks the reciprocal form of the AVX-512 float
// quantization (quantizeF32512R) against QuantizeOne on the quotient, for
// random scales (including ones whose reciprocal is inexact) and inputs
// spread over the unsaturated range, many of them within a few ulps of a
// tie (k+0.5)*scale, where the product and the quotient can round apart.
func TestQuantizeF32Recip(t *testing.T) {
	if !use512() {
		t.Skip("needs AVX-512")
	}
	rng := rand.New(rand.NewPCG(61, 62))
	for trial := 0; trial < 200; trial++ {
		scale := float32(math.Exp(rng.Float64()*12 - 9)) // about 1e-4 to 20
		zp := int32(rng.IntN(256) - 128)
		in := make([]float32, 4096)
		for i := range in {
			k := float64(rng.IntN(1100) - 550)
			switch rng.IntN(3) {
			case 0: // near a tie
				x := float32((k + 0.5) * float64(scale))
				for j := rng.IntN(7) - 3; j != 0; {
					if j > 0 {
						x, j = math.Nextafter32(x, float32(math.Inf(1))), j-1
					} else {
						x, j = math.Nextafter32(x, float32(math.Inf(-1))), j+1
					}
				}
				in[i] = x
			case 1: // near an integer
				in[i] = math.Nextafter32(float32(k*float64(scale)), float32(rng.NormFloat64()))
			default:
				in[i] = float32((k + rng.Float64()) * float64(scale))
			}
		}
		got := make([]int8, len(in))
		QuantizeF32(got, in, scale, zp)
		for i := range in {
			if want := QuantizeOne(in[i]/scale, zp); got[i] != want {
				t.Fatalf("scale %g zp %d: %g (quotient %g): got %d, want %d", scale, zp, in[i], in[i]/scale, got[i], want)
			}
		}
	}
}

// BenchmarkGemmRequantHi: the fused int8 GEMM tiles on V2 1.0@128's early
// 1x1 shapes, its stem's window rows in place (3 segments) and its
// stride-2 blocks' expansions writing rows in T4 form (segs 0), every
// channel shifting by more than 32 (the rounding constant added as one
// dword after the high dwords are gathered) against the same rescale with
// one channel's shift 32 (the two 64-bit sums: RQFHI's other branch), run
// alternately ("speedup"). The clamp is the whole int8 range, as after
// V2's projections, or ReLU6's, as after its expansions.
func BenchmarkGemmRequantHi(b *testing.B) {
	if !UseVNNI() || !use512() {
		b.Skip("needs AVX-512 VNNI")
	}
	savedAMX := hasAMX
	hasAMX = false
	defer func() { hasAMX = savedAMX }()
	for _, sh := range []struct {
		m, n, k, segs int
		relu          bool
	}{
		{64, 96, 16, 1, true}, {64, 144, 24, 1, true}, {64, 192, 32, 1, true},
		{64, 16, 32, 1, false}, {64, 24, 144, 1, false}, {64, 32, 192, 1, false}, {64, 32, 36, 3, true},
		// The stride-2 blocks' expansions writing T4 rows (segs 0:
		// GemmU8I8RequantT4 on an unsigned-output rescale).
		{64, 96, 16, 0, true}, {32, 144, 24, 0, true}, {16, 192, 32, 0, true},
	} {
		rng := rand.New(rand.NewPCG(7, 8))
		w := make([]int8, sh.n*sh.k)
		for i := range w {
			w[i] = int8(rng.IntN(256) - 128)
		}
		p := PackI8(w, sh.n, sh.k)
		a := make([]uint8, sh.m*p.Kp+4*p.Kp)
		for i := range a {
			a[i] = uint8(rng.IntN(256))
		}
		r := fastRequant(rng, sh.n, false)
		for i := range r.Shift {
			r.Shift[i] = -6 - rng.IntN(8)
		}
		lo, hi := int32(-128), int32(127)
		if sh.relu {
			lo = r.ZP
		}
		hiForm := NewRequant(r.Bias, r.Mult, r.Shift, false, r.ZP, lo, hi)
		shift := slices.Clone(r.Shift)
		shift[sh.n-1] = -1
		oldForm := NewRequant(r.Bias, r.Mult, shift, false, r.ZP, lo, hi)
		var dst []uint8
		if sh.segs == 0 {
			hiForm, oldForm = UnsignedRequant(hiForm), UnsignedRequant(oldForm)
			if !HasGemmT4(p, hiForm) || !HasGemmT4(p, oldForm) {
				b.Skip("no T4 GEMM here")
			}
			dst = make([]uint8, 2*((sh.m+7)/8)*4*sh.n)
		}
		out := make([]int8, sh.m*sh.n)
		c := make([]int32, sh.m*p.Np)
		run := func(r *Requant) func() {
			return func() {
				for i := 0; i < 20; i++ {
					if sh.segs == 0 {
						GemmU8I8RequantT4(a, p.Kp, p, r, 0, sh.m, dst)
					} else if sh.segs == 1 {
						GemmU8I8Requant(sh.m, a, p.Kp, p, r, out, sh.n, c)
					} else if !GemmU8I8RequantSeg(sh.m, a, p.Kp/sh.segs, sh.segs, p.Kp, p, r, out, sh.n) {
						b.Fatal("no segmented kernel")
					}
				}
			}
		}
		b.Run(fmt.Sprintf("%dx%dx%d-segs%d", sh.m, sh.n, sh.k, sh.segs), func(b *testing.B) { abbench.Speedup(b, run(oldForm), run(hiForm)) })
	}
}
