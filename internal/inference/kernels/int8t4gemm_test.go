package kernels

import (
	"math/rand/v2"
	"testing"
)

// TestGemmU8I8RequantT4 checks the expansion GEMM writing T4 form against
// GemmU8I8Requant's bytes (x+128) in T4Row's layout, byte by byte: the
// pixels [first, first+n) hold the product, every other byte of dst is
// left as it was. Channels of one to several panels, a last panel of 16,
// depths of one to several steps, rows a few pixels to several tiles.
func TestGemmU8I8RequantT4(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	for _, sh := range []struct{ c, k, first, n int }{
		{96, 16, 1, 64}, {144, 24, 1, 32}, {192, 32, 1, 16}, {384, 64, 1, 8}, {576, 96, 1, 8},
		{96, 16, 0, 63}, {48, 20, 1, 5}, {16, 8, 3, 9}, {32, 4, 0, 8}, {144, 24, 2, 31},
	} {
		for _, full := range []bool{false, true} {
			testGemmT4Shape(t, rng, sh.c, sh.k, sh.first, sh.n, full)
		}
	}
}

// testGemmT4Shape checks one shape, with a clamp inside 0..255 or (full)
// all of it (the kernel's saturating-pack epilogue).
func testGemmT4Shape(t *testing.T, rng *rand.Rand, c, k, first, n int, full bool) {
	t.Helper()
	sh := struct{ c, k, first, n int }{c, k, first, n}
	w := make([]int8, sh.c*sh.k)
	for i := range w {
		w[i] = int8(rng.IntN(256) - 128)
	}
	b := PackI8(w, sh.c, sh.k)
	r := fastRequant(rng, sh.c, false)
	if full {
		r = NewRequant(r.Bias, r.Mult, r.Shift, false, r.ZP, -128, 127)
	} else if r.Lo == -128 && r.Hi == 127 {
		r = NewRequant(r.Bias, r.Mult, r.Shift, false, r.ZP, -100, 90)
	}
	ru := UnsignedRequant(r)
	if !HasGemmT4(b, ru) {
		if t4Ok() && ru.tabF != nil {
			t.Fatalf("c %d k %d: no T4 GEMM where the CPU has it", sh.c, sh.k)
		}
		return
	}
	tiles := (sh.first + sh.n + 7) / 8
	lda := b.Kp
	a := make([]uint8, 8*tiles*lda)
	for i := range a {
		a[i] = uint8(rng.IntN(256))
	}
	for p := 0; p < 8*tiles; p++ {
		clear(a[p*lda+sh.k : (p+1)*lda])
	}
	gb := 4 * sh.c
	dst := make([]uint8, 2*tiles*gb)
	for i := range dst {
		dst[i] = uint8(rng.IntN(256))
	}
	was := append([]uint8(nil), dst...)
	if !GemmU8I8RequantT4(a, lda, b, ru, sh.first, sh.n, dst) {
		t.Fatalf("c %d k %d: GemmU8I8RequantT4 refused", sh.c, sh.k)
	}
	ref := make([]int8, sh.n*sh.c)
	GemmU8I8Requant(sh.n, a[sh.first*lda:], lda, b, r, ref, sh.c, make([]int32, sh.n*b.Np))
	for px := 0; px < 8*tiles; px++ {
		for ch := 0; ch < sh.c; ch++ {
			at := (px/4)*gb + (ch/16)*64 + (ch%16)*4 + px%4
			want := was[at]
			if px >= sh.first && px < sh.first+sh.n {
				want = uint8(ref[(px-sh.first)*sh.c+ch]) ^ 0x80
			}
			if dst[at] != want {
				t.Fatalf("c %d k %d first %d n %d full %v: pixel %d channel %d is %#x, want %#x", sh.c, sh.k, sh.first, sh.n, full, px, ch, dst[at], want)
			}
		}
	}
}
