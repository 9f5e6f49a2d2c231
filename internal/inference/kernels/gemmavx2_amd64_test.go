package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
)

// TestGemmAVX2Driver compares the AVX2 driver (gemmAVX2: 1- to 6-row and
// 8-column kernels, masked partial panels, K blocks and row bands, the
// epilogue in registers) with the panel-major 6×16 loop it replaces, the
// residual, bounds and HARD_SWISH applied after it by gemmResidual and
// HardSwish: the same bits, the output's padding (columns past N, rows'
// gaps) untouched. Random shapes (m 1..50, k 1..600, n 1..70, strides
// past k and n), panel sub-ranges run concurrently from two goroutines,
// blocks of K and bands of rows forced small; and the float64 triple loop
// within the tolerance of the other GEMM tests.
func TestGemmAVX2Driver(t *testing.T) {
	if !hasAVX2FMA {
		t.Skip("no AVX2")
	}
	defer func(v512, blocked bool, kc, mc int) {
		hasAVX512, avx2Blocked, avx2KC, avx2MC = v512, blocked, kc, mc
	}(hasAVX512, avx2Blocked, avx2KC, avx2MC)
	hasAVX512 = false
	rng := rand.New(rand.NewPCG(21, 22))
	type shape struct{ m, k, n, lda, ldc, ldr int }
	shapes := []shape{{1, 1, 1, 1, 1, 1}, {6, 16, 16, 16, 16, 16}, {5, 3, 8, 3, 9, 8}, {50, 600, 70, 601, 73, 70}, {13, 27, 32, 30, 32, 40},
		// Bands of 16 and more full tiles: the next panel read ahead 16
		// bytes a pass.
		{100, 64, 40, 64, 40, 40}, {203, 130, 33, 131, 35, 33},
		// Bands of 16 rows (avx2Quad): the whole of m, or the last band
		// of 34 rows in bands of 18.
		{16, 600, 70, 603, 72, 70}, {16, 31, 13, 31, 13, 15}, {16, 4, 40, 5, 41, 40}, {34, 50, 40, 50, 40, 40}}
	// Every row tail with every kind of last panel (8 or fewer columns,
	// 9 to 15, whole).
	for m := 1; m <= 13; m++ {
		for _, n := range []int{5, 8, 13, 16, 25, 40} {
			shapes = append(shapes, shape{m, 3 + m, n, 3 + m, n + m%2, n})
		}
	}
	for range 60 {
		m, k, n := 1+rng.IntN(50), 1+rng.IntN(600), 1+rng.IntN(70)
		shapes = append(shapes, shape{m, k, n, k + rng.IntN(3), n + rng.IntN(3), n + rng.IntN(5)})
	}
	acts := []Act{
		{Lo: NoClampLo, Hi: NoClampHi}, {Lo: 0, Hi: 6}, {Lo: -0.5, Hi: 0.7},
		{Lo: NoClampLo, Hi: NoClampHi, HardSwish: true}, {Lo: -1, Hi: 2, HardSwish: true},
	}
	blocks := []struct{ kc, mc int }{{0, 0}, {7, 6}, {64, 12}, {1, 0}, {0, 18}}

	const pad = -7.5 // what no kernel writes
	defer func(split, spread, quad bool, minPass, ahead int) {
		avx2SplitTail, avx2PrefetchSpread, avx2Quad, avx2PrefetchMinPass, avx2PrefetchAhead = split, spread, quad, minPass, ahead
	}(avx2SplitTail, avx2PrefetchSpread, avx2Quad, avx2PrefetchMinPass, avx2PrefetchAhead)
	for si, s := range shapes {
		// Half of the shapes with the rows left in one tile of 1 to 5; the
		// next panel read ahead by the first tile or spread over several,
		// down to 16 bytes or a line a pass (the sums must not change).
		avx2SplitTail = si%2 == 0
		avx2PrefetchSpread = si%3 != 0
		avx2PrefetchMinPass = 16 << (2 * (si % 4 / 3))
		avx2PrefetchAhead = 1 + si%5/3 // 1 or 2 panels ahead
		a := randSlice(rng, (s.m-1)*s.lda+s.k)
		w := randSlice(rng, s.n*s.k)
		bias := randSlice(rng, s.n)
		p := PackB(w, s.n, s.k, bias)
		res := randSlice(rng, (s.m-1)*s.ldr+s.n)
		for i := range res {
			res[i] *= 3
		}
		ref := refGemm(s.m, s.n, s.k, a, s.lda, w, bias, NoClampLo, NoClampHi)
		for ai, act := range acts {
			for _, withRes := range []bool{false, true} {
				if withRes && si%2 == ai%2 {
					continue // half of the combinations, all of the shapes
				}
				act := act
				if withRes {
					act.Res, act.LdRes = res, s.ldr
				}
				// The output and 24 floats past its end, which must stay
				// untouched.
				size := (s.m-1)*s.ldc + s.n
				newC := func() []float32 {
					c := make([]float32, size+24)
					for i := range c {
						c[i] = pad
					}
					return c
				}
				avx2Blocked = false
				want := newC()
				GemmAct(s.m, a, s.lda, p, act, want[:size], s.ldc)
				wantRef := make([]float32, s.m*s.n)
				for i := 0; i < s.m; i++ {
					for j := 0; j < s.n; j++ {
						x := ref[i*s.n+j]
						if withRes {
							x += res[i*s.ldr+j]
						}
						x = clamp(x, act.Lo, act.Hi)
						if act.HardSwish {
							x = refHardSwish(x)
						}
						wantRef[i*s.n+j] = x
					}
				}
				got := make([]float32, s.m*s.n)
				for i := 0; i < s.m; i++ {
					copy(got[i*s.n:(i+1)*s.n], want[i*s.ldc:])
				}
				closeTo(t, got, wantRef, 1e-4)
				avx2Blocked = true
				for bi, bl := range blocks {
					avx2KC, avx2MC = bl.kc, bl.mc
					// Bands of 16 rows in four 4-row tiles or in 6+6+4
					// rows, by turns.
					avx2Quad = (si+ai+bi)%2 == 0
					name := fmt.Sprintf("%+v %+v res %v blocks %+v quad %v", s, act, withRes, bl, avx2Quad)
					got := newC()
					GemmAct(s.m, a, s.lda, p, act, got[:size], s.ldc)
					sameBits(t, name, got, want)
					// Two calls, each a share of the panels, as threads
					// splitting columns make them (one after the other:
					// this package runs without the race detector and
					// starts no goroutines).
					got = newC()
					half := p.Panels() / 2
					for _, r := range [][2]int{{half, p.Panels()}, {0, half}} {
						GemmPanelsAct(s.m, a, s.lda, p, r[0], r[1], act, got[:size], s.ldc)
					}
					sameBits(t, name+" two panel ranges", got, want)
				}
			}
		}
	}
}

// TestAVX2PrefetchPlan: the tiles that read the next panel ahead are no
// more than the call has, read no line past the panel's slice of kb lines
// and, spread, leave at most a tile's share of it unread.
func TestAVX2PrefetchPlan(t *testing.T) {
	defer func(v bool) { avx2PrefetchSpread = v }(avx2PrefetchSpread)
	for _, spread := range []bool{false, true} {
		avx2PrefetchSpread = spread
		for tiles := 0; tiles <= 20; tiles++ {
			for kb := 0; kb <= 1100; kb++ {
				pfn, pft := avx2PrefetchPlan(tiles, kb)
				perTile := (kb / 4) * pfn / 64
				lines := pft * (kb / 4) * pfn / 64
				switch {
				case pfn != 16 && pfn != 32 && pfn != 64 && pfn != 128 && pfn != 256:
					t.Fatalf("tiles %d kb %d: %d bytes a pass", tiles, kb, pfn)
				case pft < 1 || pft > max(1, tiles):
					t.Fatalf("tiles %d kb %d: %d tiles read ahead", tiles, kb, pft)
				case pft*(kb/4)*pfn > kb*64:
					t.Fatalf("tiles %d kb %d: %d lines read of %d", tiles, kb, lines, kb)
				case kb-lines >= max(4, perTile):
					t.Fatalf("tiles %d kb %d: %d lines read of %d", tiles, kb, lines, kb)
				case spread && tiles >= 16 && kb >= 4 && kb%4 == 0 && pfn != 16:
					t.Fatalf("tiles %d kb %d: %d bytes a pass, not spread", tiles, kb, pfn)
				}
			}
		}
	}
}

// TestGemmAVX2Inf: open bounds pass infinities through, and the
// bounds apply before HARD_SWISH, as on the other paths.
func TestGemmAVX2Inf(t *testing.T) {
	if !hasAVX2FMA {
		t.Skip("no AVX2")
	}
	defer func(v512 bool) { hasAVX512 = v512 }(hasAVX512)
	hasAVX512 = false
	inf := float32(math.Inf(1))
	p := PackB([]float32{1, 1, 1}, 3, 1, []float32{0, 0, 0})
	c := make([]float32, 3)
	GemmAct(1, []float32{inf}, 1, p, Act{Lo: NoClampLo, Hi: NoClampHi}, c, 3)
	for _, v := range c {
		if v != inf {
			t.Fatalf("open bounds: got %v, want +Inf", c)
		}
	}
	GemmAct(1, []float32{inf}, 1, p, Act{Lo: 0, Hi: 6, HardSwish: true}, c, 3)
	for _, v := range c {
		if v != 6 {
			t.Fatalf("bounds then HARD_SWISH: got %v, want 6", c)
		}
	}
}

// avx2Shapes are GEMMs of the models on the AVX2 path (M rows of one call,
// K, N, the row stride of A, HARD_SWISH, a residual): MobileNet V1 1.0@128
// at batch 1 and at batch 8 on two threads (4 images a worker), the stem
// reading its window rows in place; V3-Large@224's HARD_SWISH expansions
// and projections; ResNet-50's 3x3 gathers, its 7x7 layers at batch 1 and
// an expansion with its residual.
var avx2Shapes = []struct {
	name         string
	m, k, n, lda int
	hs, res      bool
}{
	{"v1-stem", 64, 27, 32, 18, false, false},
	{"v1-b1", 256, 256, 256, 256, false, false},
	{"v1-b1", 64, 256, 512, 256, false, false},
	{"v1-b1", 64, 512, 512, 512, false, false},
	{"v1-b1", 16, 512, 1024, 512, false, false},
	{"v1-b1", 16, 1024, 1024, 1024, false, false},
	{"v1-b8", 1024, 256, 256, 256, false, false},
	{"v1-b8", 256, 512, 512, 512, false, false},
	{"v1-b8", 64, 1024, 1024, 1024, false, false},
	{"v3", 784, 40, 120, 40, false, false},
	{"v3", 196, 80, 240, 80, true, false},
	{"v3", 196, 112, 672, 112, true, false},
	{"v3", 196, 480, 112, 480, false, true},
	{"v3", 49, 160, 960, 160, true, false},
	{"v3", 49, 960, 160, 960, false, true},
	{"resnet", 48, 2304, 256, 2304, false, false},
	{"resnet", 49, 4608, 512, 4608, false, false},
	{"resnet", 49, 512, 2048, 512, false, true},
	{"resnet", 784, 256, 1024, 256, false, true},
	{"resnet", 784, 256, 1024, 256, false, false},
	{"resnet", 784, 1024, 256, 1024, false, false},
}

// BenchmarkGemmAVX2 compares, on avx2Shapes, the AVX2 driver ("new") with
// the panel-major 6×16 loop and its separate residual and HARD_SWISH
// passes ("old"), alternating in one process on the thread's CPU clock:
// "speedup" is the median of the rounds' old/new ratios, "p10"/"p90" their
// spread, and the new side's median rate.
func BenchmarkGemmAVX2(b *testing.B) {
	if !hasAVX2FMA || hasAVX512 {
		b.Skip("not the AVX2 path")
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for _, s := range avx2Shapes {
		b.Run(fmt.Sprintf("%s/%dx%dx%d/hs=%v/res=%v", s.name, s.m, s.k, s.n, s.hs, s.res), func(b *testing.B) {
			defer func(v bool) { avx2Blocked = v }(avx2Blocked)
			a := randSlice(rng, (s.m-1)*s.lda+s.k)
			p := PackB(randSlice(rng, s.n*s.k), s.n, s.k, randSlice(rng, s.n))
			c := make([]float32, s.m*s.n)
			act := Act{Lo: 0, Hi: 6, HardSwish: s.hs}
			if s.hs {
				act.Lo, act.Hi = NoClampLo, NoClampHi
			}
			if s.res {
				act.Res, act.LdRes = randSlice(rng, s.m*s.n), s.n
			}
			side := func(name string, on bool) abbench.Side {
				return abbench.Side{Name: name, Setup: func() { avx2Blocked = on }, Run: func() { GemmAct(s.m, a, s.lda, p, act, c, s.n) }}
			}
			t := abbench.Alternate(b, abbench.ThreadCPU, side("old", false), side("new", true))
			r := t.Ratios(0, 0, 1)
			b.ReportMetric(abbench.Med(r), "speedup")
			b.ReportMetric(r[len(r)/10], "p10")
			b.ReportMetric(r[len(r)*9/10], "p90")
			t.ReportRate(b, 0, abbench.Med, float64(s.m*s.k*s.n)/1e9, "med-GMAC/s-%s")
		})
	}
}

// BenchmarkGemmAVX2Blocking compares, on avx2Shapes, the driver's
// defaults ("auto") with one K block and one band ("whole"), without
// reading the next panel ahead ("nopf"), without asking for the epilogue's lines ahead ("nopfout") and
// with a call of the micro-kernel per row tile ("onetile") or a last tile
// of 1 to 3 rows ("plaintail"), alternating on
// the thread's CPU clock; "x-over-auto" is the median of the rounds'
// ratios of side x's time over auto's.
func BenchmarkGemmAVX2Blocking(b *testing.B) {
	if !hasAVX2FMA || hasAVX512 {
		b.Skip("not the AVX2 path")
	}
	type setting struct {
		kc, mc                        int
		pf, pfOut, oneCall, splitTail bool
	}
	save := setting{avx2KC, avx2MC, avx2Prefetch, avx2PrefetchOut, avx2MultiTile, avx2SplitTail}
	set := func(v setting) {
		avx2KC, avx2MC, avx2Prefetch, avx2PrefetchOut, avx2MultiTile, avx2SplitTail = v.kc, v.mc, v.pf, v.pfOut, v.oneCall, v.splitTail
	}
	defer set(save)
	auto := save
	with := func(f func(*setting)) setting {
		v := auto
		f(&v)
		return v
	}
	sides := []struct {
		name string
		v    setting
	}{
		{"auto", auto},
		{"whole", with(func(v *setting) { v.kc, v.mc = 1<<30, 1<<30 })},
		{"nopf", with(func(v *setting) { v.pf = false })},
		{"nopfout", with(func(v *setting) { v.pfOut = false })},
		{"onetile", with(func(v *setting) { v.oneCall = false })},
		{"plaintail", with(func(v *setting) { v.splitTail = false })},
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for _, s := range avx2Shapes {
		b.Run(fmt.Sprintf("%s/%dx%dx%d/hs=%v/res=%v", s.name, s.m, s.k, s.n, s.hs, s.res), func(b *testing.B) {
			a := randSlice(rng, (s.m-1)*s.lda+s.k)
			p := PackB(randSlice(rng, s.n*s.k), s.n, s.k, randSlice(rng, s.n))
			c := make([]float32, s.m*s.n)
			act := Act{Lo: 0, Hi: 6, HardSwish: s.hs}
			if s.res {
				act.Res, act.LdRes = randSlice(rng, s.m*s.n), s.n
			}
			var ab []abbench.Side
			for _, sd := range sides {
				ab = append(ab, abbench.Side{Name: sd.name, Setup: func() { set(sd.v) }, Run: func() { GemmAct(s.m, a, s.lda, p, act, c, s.n) }})
			}
			t := abbench.Alternate(b, abbench.ThreadCPU, ab...)
			for j, name := range t.Names[1:] {
				b.ReportMetric(abbench.Med(t.Ratios(0, j+1, 0)), name+"-over-auto")
			}
			t.ReportRate(b, 0, abbench.Med, float64(s.m*s.k*s.n)/1e9, "med-GMAC/s-%s")
		})
	}
}
