package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
)

// randRequant makes c channels of random rescales: Q31 multipliers in
// [2^30, 2^31) (now and then zero or the extremes), shifts over the whole
// range TFLite's quantizer produces, biases of any size, and a random
// zero point and clamp.
func randRequant(rng *rand.Rand, c int, double bool) *Requant {
	bias, mult, shift := make([]int32, c), make([]int32, c), make([]int, c)
	for i := range bias {
		bias[i] = int32(rng.Uint32()) >> rng.IntN(32)
		mult[i] = 1<<30 + int32(rng.IntN(1<<30))
		switch rng.IntN(8) {
		case 0:
			mult[i] = 0
		case 1:
			mult[i] = math.MaxInt32
		case 2:
			mult[i] = 1 << 30
		}
		shift[i] = -31 + rng.IntN(62)
		if rng.IntN(2) == 0 {
			shift[i] = -12 + rng.IntN(14) // the usual range
		}
	}
	zp := int32(rng.IntN(256) - 128)
	lo := int32(-128 + rng.IntN(3)*40)
	hi := int32(127 - rng.IntN(3)*40)
	return NewRequant(bias, mult, shift, double, zp, lo, hi)
}

// eachInt8Path runs fn on the widest vector path the CPU (and
// CSPIPE_KERNELS) allows and then on the narrower ones below it, so one run
// checks the AVX-512 and the AVX2 kernels.
func eachInt8Path(t *testing.T, fn func(t *testing.T)) {
	saved2, saved512, savedVNNI, savedAMX := hasAVX2FMA, hasAVX512, hasVNNI512, hasAMX
	defer func() { hasAVX2FMA, hasAVX512, hasVNNI512, hasAMX = saved2, saved512, savedVNNI, savedAMX }()
	if use512() {
		if useAMX() {
			t.Run("amx", fn)
			hasAMX = false
		}
		t.Run("avx512", fn)
		if hasVNNI512 {
			// The AVX-512 kernels that VNNI replaces (VPDPWSSD, VPDPBUSD).
			hasVNNI512 = false
			t.Run("avx512-novnni", fn)
			hasVNNI512 = savedVNNI
		}
		hasAVX512 = false
	}
	if useInt8SIMD() {
		t.Run("avx2", fn)
	}
	hasAVX2FMA = false
	t.Run("generic", fn)
}

func randAcc(rng *rand.Rand, n int) []int32 {
	acc := make([]int32, n)
	for i := range acc {
		switch rng.IntN(10) {
		case 0:
			acc[i] = math.MinInt32 + int32(rng.IntN(3))
		case 1:
			acc[i] = math.MaxInt32 - int32(rng.IntN(3))
		case 2:
			acc[i] = int32(rng.IntN(64)) - 32
		default:
			acc[i] = int32(rng.Uint32()) >> rng.IntN(32)
		}
	}
	return acc
}

// TestRequantRow checks the vector requantization (both roundings) against
// the portable one on channel counts with and without a tail.
func TestRequantRow(t *testing.T) { eachInt8Path(t, testRequantRow) }

func testRequantRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, double := range []bool{false, true} {
		for _, c := range []int{1, 7, 8, 9, 16, 23, 32, 61, 64, 200} {
			for rep := 0; rep < 20; rep++ {
				r := randRequant(rng, c, double)
				acc := randAcc(rng, c)
				got, want := make([]int8, c), make([]int8, c)
				r.Row(got, acc)
				r.RowGeneric(want, acc)
				for ch := range got {
					if got[ch] != want[ch] {
						t.Fatalf("double %v c %d ch %d: acc %d bias %d mult %d shift %d: got %d, want %d",
							double, c, ch, acc[ch], r.Bias[ch], r.Mult[ch], r.Shift[ch], got[ch], want[ch])
					}
				}
				// Several pixels at once, with strides past the channels.
				m, ldo, lda := 1+rng.IntN(5), c+rng.IntN(3), c+rng.IntN(3)
				accs := randAcc(rng, (m-1)*lda+c)
				outs := make([]int8, (m-1)*ldo+c)
				r.Rows(outs, ldo, accs, lda, m)
				for i := 0; i < m; i++ {
					r.RowGeneric(want, accs[i*lda:])
					for ch := range want {
						if outs[i*ldo+ch] != want[ch] {
							t.Fatalf("Rows double %v c %d pixel %d ch %d: got %d, want %d", double, c, i, ch, outs[i*ldo+ch], want[ch])
						}
					}
				}
			}
		}
	}
	t.Logf("vector path: %v", useInt8SIMD())
}

// TestRequantTies puts accumulators exactly on rounding ties (and next to
// them), where the two roundings and the signs differ.
func TestRequantTies(t *testing.T) { eachInt8Path(t, testRequantTies) }

func testRequantTies(t *testing.T) {
	for _, double := range []bool{false, true} {
		const c = 16
		bias, mult, shift := make([]int32, c), make([]int32, c), make([]int, c)
		for i := range mult {
			mult[i], shift[i] = 1<<30, -(i % 8) // 2^(shift-1): x/2, x/4, ...
		}
		r := NewRequant(bias, mult, shift, double, 0, -128, 127)
		for x := int32(-300); x <= 300; x++ {
			acc := make([]int32, c)
			for i := range acc {
				acc[i] = x
			}
			got, want := make([]int8, c), make([]int8, c)
			r.Row(got, acc)
			r.RowGeneric(want, acc)
			for ch := range got {
				if got[ch] != want[ch] {
					t.Fatalf("double %v x %d ch %d: got %d, want %d", double, x, ch, got[ch], want[ch])
				}
			}
		}
	}
}

// TestDWI8 checks the vector depthwise against the portable one: kernel
// sizes 3x3 and 5x5, strides 1 and 2, channel counts with tails, full tap
// sets and the partial ones of border pixels, runs of several pixels.
func TestDWI8(t *testing.T) { eachInt8Path(t, testDWI8) }

func testDWI8(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, c := range []int{3, 8, 13, 16, 24, 32, 37, 64, 96} {
		for _, k := range []int{3, 5} {
			for _, double := range []bool{true, false} {
				w := make([]int32, k*k*c)
				for i := range w {
					w[i] = int32(rng.IntN(511) - 255)
				}
				r := randRequant(rng, c, double)
				for i := range r.Mult {
					r.Shift[i] = -8 - rng.IntN(6)
				}
				r = NewRequant(r.Bias, r.Mult, r.Shift, double, r.ZP, r.Lo, r.Hi)
				for i := range r.Bias {
					r.Bias[i] >>= 12
				}
				r = NewRequant(r.Bias, r.Mult, r.Shift, double, r.ZP, r.Lo, r.Hi)
				d, err := NewDWI8(k, k, c, w, r)
				if err != nil {
					t.Fatal(err)
				}
				const h, wd = 9, 11
				xs := make([]int32, h*wd*c)
				for i := range xs {
					xs[i] = int32(rng.IntN(511) - 255)
				}
				for _, stride := range []int{1, 2} {
					for rep := 0; rep < 6; rep++ {
						// Taps: a random subset of the window (rep 0: all of it).
						var taps []int
						for ky := 0; ky < k; ky++ {
							for kx := 0; kx < k; kx++ {
								if rep == 0 || rng.IntN(3) > 0 {
									taps = append(taps, (ky*wd+kx)*c, ky*k+kx)
								}
							}
						}
						n := 1 + (wd-k)/stride
						ostride := c + rng.IntN(3)
						got := make([]int8, (n-1)*ostride+c)
						want := make([]int8, len(got))
						d.Pixels(got, ostride, xs, 0, stride*c, taps, n)
						d.PixelsGeneric(want, ostride, xs, 0, stride*c, taps, n)
						for i := range got {
							if got[i] != want[i] {
								t.Fatalf("c %d k %d stride %d double %v taps %d: byte %d: got %d, want %d", c, k, stride, double, len(taps)/2, i, got[i], want[i])
							}
						}
						if k == 3 && rep == 0 {
							// The full window: the register-resident 3x3 kernel.
							got3 := make([]int8, len(got))
							d.Pixels3x3(got3, ostride, xs, [3]int{0, wd * c, 2 * wd * c}, stride*c, n)
							for i := range got3 {
								if got3[i] != want[i] {
									t.Fatalf("3x3 c %d stride %d double %v: byte %d: got %d, want %d", c, stride, double, i, got3[i], want[i])
								}
							}
							// And straight from int8 inputs whose widened
							// values (x - zp) are the xs above.
							zp := int32(rng.IntN(256) - 128)
							in8 := make([]int8, len(xs))
							xs8 := make([]int32, len(xs))
							for i := range in8 {
								in8[i] = int8(rng.IntN(256) - 128)
								xs8[i] = int32(in8[i]) - zp
							}
							d.FoldZP(zp)
							want8 := make([]int8, len(got))
							d.PixelsGeneric(want8, ostride, xs8, 0, stride*c, taps, n)
							got8 := make([]int8, len(got))
							if d.Int8Pixels3x3(got8, ostride, in8, [3]int{0, wd * c, 2 * wd * c}, stride*c, n) {
								for i := range got8 {
									if got8[i] != want8[i] {
										t.Fatalf("int8 3x3 c %d stride %d double %v zp %d: byte %d: got %d, want %d", c, stride, double, zp, i, got8[i], want8[i])
									}
								}
							} else if use512() && c%16 == 0 {
								t.Fatalf("c %d: the int8 3x3 kernel did not run", c)
							}
						}
						// And against a direct sum.
						for p := 0; p < n; p++ {
							for ch := 0; ch < c; ch++ {
								acc := r.Bias[ch]
								for i := 0; i < len(taps); i += 2 {
									acc += xs[p*stride*c+taps[i]+ch] * w[taps[i+1]*c+ch]
								}
								if v := r.One(acc, ch); got[p*ostride+ch] != v {
									t.Fatalf("c %d pixel %d ch %d: got %d, direct %d", c, p, ch, got[p*ostride+ch], v)
								}
							}
						}
					}
				}
			}
		}
	}
}

func TestWidenI8(t *testing.T) { eachInt8Path(t, testWidenI8) }

func testWidenI8(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{1, 7, 8, 9, 31, 32, 64, 100, 333} {
		src := make([]int8, n)
		for i := range src {
			src[i] = int8(rng.IntN(256) - 128)
		}
		zp := int32(rng.IntN(256) - 128)
		dst := make([]int32, n)
		WidenI8(dst, src, zp)
		for i := range dst {
			if dst[i] != int32(src[i])-zp {
				t.Fatalf("n %d [%d]: %d - %d gave %d", n, i, src[i], zp, dst[i])
			}
		}
		u := make([]uint8, n)
		XorI8(u, src)
		for i := range u {
			if int(u[i]) != int(src[i])+128 {
				t.Fatalf("XorI8 n %d [%d]: %d gave %d", n, i, src[i], u[i])
			}
		}
	}
}

// BenchmarkRequantRow: one 256-channel pixel per op, vector path against
// the portable one.
func BenchmarkRequantRow(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, double := range []bool{false, true} {
		r := randRequant(rng, 256, double)
		acc := randAcc(rng, 256)
		out := make([]int8, 256)
		name := map[bool]string{false: "single", true: "double"}[double]
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				r.Row(out, acc)
			}
		})
		b.Run(name+"-generic", func(b *testing.B) {
			for b.Loop() {
				r.RowGeneric(out, acc)
			}
		})
	}
}

// TestAddI8 checks the vector quantized ADD against its scalar definition
// on random parameters (multipliers of about 20 bits, as the planner makes
// them) and every operand value.
func TestAddI8(t *testing.T) { eachInt8Path(t, testAddI8) }

func testAddI8(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for rep := 0; rep < 50; rep++ {
		p := AddI8{AZP: int32(rng.IntN(256) - 128), BZP: int32(rng.IntN(256) - 128),
			Shift: 8 + rng.IntN(20), ZP: int32(rng.IntN(256) - 128), Lo: int32(-128 + rng.IntN(2)*100), Hi: 127}
		p.AM = int32(rng.IntN(1 << min(21, p.Shift+1)))
		p.BM = int32(rng.IntN(1 << min(21, p.Shift+1)))
		n := 1 + rng.IntN(300)
		if rep < 2 {
			n = 65536 // every (a, b) pair
		}
		a, b := make([]int8, n), make([]int8, n)
		for i := range a {
			a[i], b[i] = int8(rng.IntN(256)-128), int8(rng.IntN(256)-128)
			if n == 65536 {
				a[i], b[i] = int8(i), int8(i>>8)
			}
		}
		got, want := make([]int8, n), make([]int8, n)
		p.Run(got, a, b)
		p.RunGeneric(want, a, b)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%+v: %d + %d: got %d, want %d", p, a[i], b[i], got[i], want[i])
			}
		}
	}
}

// TestGemmU8I8Requant checks the GEMM with the requantization fused in
// (8-row tiles of whole panels rescaled in registers, the rest through
// int32) against the portable GEMM and Row, on channel counts with and
// without partial panels and row counts with and without partial tiles.
func TestGemmU8I8Requant(t *testing.T) { eachInt8Path(t, testGemmU8I8Requant) }

func testGemmU8I8Requant(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, n := range []int{8, 16, 24, 32, 33, 48, 56, 64, 100, 144} {
		for _, m := range []int{1, 7, 8, 9, 16, 23, 31, 32, 47, 64, 80} {
			k := 1 + rng.IntN(200)
			if rng.IntN(3) == 0 {
				k = 64 * (1 + rng.IntN(6)) // whole tile steps
			}
			testGemmRequantShape(t, rng, m, n, k)
		}
	}
	// Deep layers (V1's 512 and 1024 channels).
	testGemmRequantShape(t, rng, 64, 96, 1024)
	testGemmRequantShape(t, rng, 48, 64, 520)
}

// testGemmRequantShape checks one m x n x k product. The activation rows
// are lda >= Kp bytes apart with random bytes between Kp and lda (the AMX
// tiles read past Kp into them, against zero weights), and a ends right
// after the last row's Kp bytes (so the last block may not read past it).
func testGemmRequantShape(t *testing.T, rng *rand.Rand, m, n, k int) {
	t.Helper()
	w := make([]int8, n*k)
	for i := range w {
		w[i] = int8(rng.IntN(256) - 128)
	}
	b := PackI8(w, n, k)
	lda := b.Kp + rng.IntN(3)*4
	a := make([]uint8, (m-1)*lda+b.Kp)
	for i := range a {
		a[i] = uint8(rng.IntN(256))
	}
	for r := 0; r < m; r++ {
		clear(a[r*lda+k : r*lda+b.Kp]) // zeros past K, as GemmU8I8 asks
	}
	r := randRequant(rng, n, false)
	for i := range r.Shift {
		r.Shift[i] = -6 - rng.IntN(12)
	}
	if rng.IntN(3) == 0 {
		r.Lo, r.Hi = -128, 127 // the fused tiles' saturating-pack epilogue
	}
	r = NewRequant(r.Bias, r.Mult, r.Shift, false, r.ZP, r.Lo, r.Hi)
	ldo := n + rng.IntN(5)
	acc := make([]int32, m*b.Np)
	GemmU8I8Generic(m, a, lda, b, acc, b.Np)
	want := make([]int8, n)
	// With and without Requant.tabF; the bytes between rows (ldo > n) and
	// past the last row are sentinels no path may write.
	for _, fast := range []bool{true, false} {
		saved := hasRQFast
		hasRQFast = fast
		buf := make([]int8, (m-1)*ldo+n+64)
		for i := range buf {
			buf[i] = 0x5a
		}
		GemmU8I8Requant(m, a, lda, b, r, buf[:(m-1)*ldo+n], ldo, make([]int32, m*b.Np))
		hasRQFast = saved
		for i := 0; i < m; i++ {
			r.RowGeneric(want, acc[i*b.Np:])
			for j := range want {
				if got := buf[i*ldo+j]; got != want[j] {
					t.Fatalf("m %d n %d k %d lda %d tabF %v: [%d][%d] got %d, want %d", m, n, k, lda, fast, i, j, got, want[j])
				}
			}
		}
		for i := range buf {
			if i%ldo >= n || i >= (m-1)*ldo+n {
				if buf[i] != 0x5a {
					t.Fatalf("m %d n %d k %d ldo %d tabF %v: byte %d past a row's channels written", m, n, k, ldo, fast, i)
				}
			}
		}
	}
}

// TestQuantizeF32 checks the vector float quantization against QuantizeOne
// on ties, their neighbours, large values, infinities and NaN.
func TestQuantizeF32(t *testing.T) { eachInt8Path(t, testQuantizeF32) }

func testQuantizeF32(t *testing.T) {
	xs := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 1e30, -1e30, 0, float32(math.Copysign(0, -1))}
	for i := -600; i <= 600; i++ {
		h := float32(i) + 0.5
		xs = append(xs, float32(i), h, math.Nextafter32(h, 1e9), math.Nextafter32(h, -1e9))
	}
	for _, scale := range []float32{1, 0.5, 1.0 / 255, 0.0078125, 3.7} {
		in := make([]float32, len(xs))
		for i, x := range xs {
			in[i] = x * scale
		}
		for _, zp := range []int32{-128, -3, 0, 17, 127} {
			got := make([]int8, len(in))
			QuantizeF32(got, in, scale, zp)
			for i := range in {
				if want := QuantizeOne(in[i]/scale, zp); got[i] != want {
					t.Fatalf("scale %g zp %d: %g: got %d, want %d", scale, zp, in[i], got[i], want)
				}
			}
		}
	}
}

// BenchmarkDW3x3I8: the int8 3x3 depthwise kernel on one 32x144 row of
// V2 (stride 1), VPDPWSSD against VPMADDWD+VPADDD; "speedup" is the median
// over rounds of the VPMADDWD form's time over the VNNI form's, measured
// back to back.
func BenchmarkDW3x3I8(b *testing.B) {
	if !use512() || !hasVNNI512 {
		b.Skip("needs AVX-512 VNNI")
	}
	const c, n = 144, 32
	rng := rand.New(rand.NewPCG(3, 4))
	w := make([]int32, 9*c)
	for i := range w {
		w[i] = int32(rng.IntN(255) - 127)
	}
	d, err := NewDWI8(3, 3, c, w, randRequant(rng, c, true))
	if err != nil {
		b.Fatal(err)
	}
	d.FoldZP(5)
	in := make([]int8, 3*(n+2)*c)
	out := make([]int8, n*c)
	rows := [3]int{0, (n + 2) * c, 2 * (n + 2) * c}
	run := func(vnni bool) func() {
		return func() {
			hasVNNI512 = vnni
			defer func() { hasVNNI512 = true }()
			for i := 0; i < 20; i++ {
				d.Int8Pixels3x3(out, c, in, rows, c, n)
			}
		}
	}
	abbench.Speedup(b, run(false), run(true))
}

// TestDW3x3I8x64 checks the 64-channel VPDPBUSD depthwise kernel (int8
// weights, channel counts with and without a 16-channel remainder and 32
// channels in pixel pairs, both strides and roundings, odd and even pixel
// counts, any input zero point, contiguous and padded output rows)
// against the portable path, and that it runs where it should.
func TestDW3x3I8x64(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, c := range []int{32, 64, 80, 96, 128, 144, 192, 208} {
		for _, double := range []bool{true, false} {
			for _, st := range []int{1, 2, 3, 4} {
				// Strides 1 and 2, each on an odd and an even pixel count.
				stride, wd := 1+(st-1)%2, 12+(st-1)/2
				w := make([]int32, 9*c)
				for i := range w {
					w[i] = int32(rng.IntN(256) - 128)
				}
				r := randRequant(rng, c, double)
				for i := range r.Bias {
					r.Bias[i] >>= 12
					r.Shift[i] = -6 - rng.IntN(8)
				}
				if st%2 == 0 {
					r.Lo, r.Hi = -128, 127 // the clamp the saturating packs apply
				}
				r = NewRequant(r.Bias, r.Mult, r.Shift, double, r.ZP, r.Lo, r.Hi)
				d, err := NewDWI8(3, 3, c, w, r)
				if err != nil {
					t.Fatal(err)
				}
				zp := int32(rng.IntN(256) - 128)
				d.FoldZP(zp)
				if use512() && hasVNNI512 && d.q64 == nil {
					t.Fatalf("c %d: the 64-channel kernel was not prepared", c)
				}
				const h = 3
				in8 := make([]int8, h*wd*c)
				xs := make([]int32, len(in8))
				for i := range in8 {
					in8[i] = int8(rng.IntN(256) - 128)
					if rng.IntN(8) == 0 {
						in8[i] = int8(zp) // the padding value
					}
					xs[i] = int32(in8[i]) - zp
				}
				n := 1 + (wd-3)/stride
				ostride := c
				if rng.IntN(2) == 0 {
					ostride += 16*rng.IntN(2) + rng.IntN(3) // not contiguous
				}
				want := make([]int8, (n-1)*ostride+c)
				var taps []int
				for ky := 0; ky < 3; ky++ {
					for kx := 0; kx < 3; kx++ {
						taps = append(taps, (ky*wd+kx)*c, ky*3+kx)
					}
				}
				d.PixelsGeneric(want, ostride, xs, 0, stride*c, taps, n)
				if use512() && hasVNNI512 && d.q64.tabF == nil {
					t.Fatalf("c %d: the 64-channel kernel's tabF rescale was not prepared", c)
				}
				for _, mode := range []int{0, 1, 2, 3, 4} {
					// 0: the 64-channel kernel with tabF and (where the
					// clamp is a whole byte range) the saturating packs; 4:
					// without the packs.
					on, fast := mode < 2 || mode == 4, mode%3 == 0 || mode == 4
					saved, savedFast, savedPack := hasDW64, hasRQFast, hasDWPack
					hasDW64, hasRQFast, hasDWPack = on, fast, mode != 4
					got := make([]int8, len(want))
					ran := d.Int8Pixels3x3(got, ostride, in8, [3]int{0, wd * c, 2 * wd * c}, stride*c, n)
					// The unsigned form: each output x as the byte x+128.
					gotU := make([]uint8, len(want))
					ranU := d.Int8Pixels3x3U(gotU, ostride, in8, [3]int{0, wd * c, 2 * wd * c}, stride*c, n)
					hasDW64, hasRQFast, hasDWPack = saved, savedFast, savedPack
					if ranU != ran {
						t.Fatalf("c %d: Int8Pixels3x3 ran %v, Int8Pixels3x3U %v", c, ran, ranU)
					}
					for i := range gotU {
						if i%ostride < c && ran && gotU[i] != uint8(want[i])^0x80 {
							t.Fatalf("c %d stride %d double %v 64-channel kernel %v tabF %v: unsigned pixel %d channel %d: got %d, want %d",
								c, stride, double, on, fast, i/ostride, i%ostride, gotU[i], uint8(want[i])^0x80)
						}
					}
					if !ran {
						if use512() {
							t.Fatalf("c %d: the int8 3x3 kernel did not run", c)
						}
						continue
					}
					for i := range got {
						if i%ostride < c && got[i] != want[i] {
							t.Fatalf("c %d stride %d double %v zp %d 64-channel kernel %v tabF %v: pixel %d channel %d: got %d, want %d",
								c, stride, double, zp, on, fast, i/ostride, i%ostride, got[i], want[i])
						}
					}
				}
			}
		}
	}
}

// BenchmarkDW3x3I8x64: one row of 32 stride-1 pixels of V2's depthwise
// channel counts (32: the pixel-pair mode), both roundings: the 64-channel
// VPDPBUSD kernel against the 16-channel VPDPWSSD one, run alternately;
// "speedup" is the median of the 16-channel time over the 64-channel time.
func BenchmarkDW3x3I8x64(b *testing.B) {
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
			d, err := NewDWI8(3, 3, c, w, randRequant(rng, c, double))
			if err != nil {
				b.Fatal(err)
			}
			d.FoldZP(5)
			in := make([]int8, 3*(n+2)*c)
			out := make([]int8, n*c)
			rows := [3]int{0, (n + 2) * c, 2 * (n + 2) * c}
			b.Run(fmt.Sprintf("c%d/%s", c, map[bool]string{true: "double", false: "single"}[double]), func(b *testing.B) {
				saved := hasDW64
				defer func() { hasDW64 = saved }()
				run := func(on bool) func() {
					return func() {
						hasDW64 = on
						for i := 0; i < 20; i++ {
							d.Int8Pixels3x3(out, c, in, rows, c, n)
						}
					}
				}
				abbench.Speedup(b, run(false), run(true))
			})
		}
	}
}

// TestAccumI8 checks the vector int8-to-int32 accumulation (whole blocks
// of 16 and a scalar tail) against the sum, from arbitrary starting sums,
// and that it leaves the rest of acc alone.
func TestAccumI8(t *testing.T) { eachInt8Path(t, testAccumI8) }

func testAccumI8(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for _, n := range []int{1, 15, 16, 17, 31, 32, 100, 1024} {
		src := make([]int8, n)
		acc := make([]int32, n+4)
		want := make([]int32, n+4)
		for i := range acc {
			acc[i] = int32(rng.Uint32())
			want[i] = acc[i]
		}
		for i := range src {
			src[i] = int8(rng.IntN(256) - 128)
			want[i] += int32(src[i])
		}
		AccumI8(acc, src)
		for i := range acc {
			if acc[i] != want[i] {
				t.Fatalf("n %d [%d]: got %d, want %d", n, i, acc[i], want[i])
			}
		}
	}
}
