package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"testing/fstest"

	"github.com/cspipe/cspipe/internal/inference/abbench"
)

// TestGemmBanded checks the banded AVX-512 driver against the float64
// reference and the panel-major loop: every row-tile height (13, 12, 8, 4, 1),
// partial column panels, panel sub-ranges, and K split into several blocks
// (sums carried in C, the clamp only after the last block: bounds that bind
// would be applied too early otherwise).
func TestGemmBanded(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU: the banded driver is not used")
	}
	defer func(kc int) { kcOverride = kc }(kcOverride)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, kc := range []int{0, 8, 12} {
		kcOverride = kc
		for _, s := range []struct{ m, n, k, lda int }{
			{1, 33, 5, 5}, {3, 64, 17, 20}, {16, 1001, 40, 40}, {64, 96, 37, 41}, {29, 70, 64, 64}, {100, 128, 9, 9}, {13, 32, 100, 128},
			{49, 70, 37, 41}, {25, 64, 19, 19},
			{120, 700, 40, 40}, // more rows than one band takes: bands of 48, 48 and 24
		} {
			for _, act := range [][2]float32{{NoClampLo, NoClampHi}, {-0.3, 0.3}} {
				a := randSlice(rng, s.m*s.lda)
				w := randSlice(rng, s.n*s.k)
				bias := randSlice(rng, s.n)
				p := PackB(w, s.n, s.k, bias)
				if p.nr != NR512 {
					t.Fatalf("%v: packed %d wide, want %d", s, p.nr, NR512)
				}
				want := refGemm(s.m, s.n, s.k, a, s.lda, w, bias, act[0], act[1])
				c := make([]float32, s.m*s.n)
				Gemm(s.m, a, s.lda, p, act[0], act[1], c, s.n)
				closeTo(t, c, want, 1e-5)
				// Panel by panel from the last, as two threads splitting
				// columns would call it.
				clear(c)
				for q := p.Panels() - 1; q >= 0; q-- {
					GemmPanels(s.m, a, s.lda, p, q, q+1, act[0], act[1], c, s.n)
				}
				closeTo(t, c, want, 1e-5)
				bandedGemm = false
				old := make([]float32, s.m*s.n)
				Gemm(s.m, a, s.lda, p, act[0], act[1], old, s.n)
				bandedGemm = true
				closeTo(t, c, old, 1e-5)
			}
		}
	}
}

func TestGemmBlocks(t *testing.T) {
	defer func(l1, l2 int) { cacheL1, cacheL2 = l1, l2 }(cacheL1, cacheL2)
	for _, c := range []struct{ l1, l2 int }{{32 << 10, 1 << 20}, {48 << 10, 2 << 20}, {16 << 10, 128 << 10}} {
		cacheL1, cacheL2 = c.l1, c.l2
		for _, s := range [][3]int{{4096, 32, 64}, {64, 512, 512}, {16, 1024, 1024}, {12544, 32, 64}, {1, 1024, 1001}, {5, 3, 7},
			{3136, 64, 256}, {196, 512, 2048}, {784, 1024, 256}, {49, 512, 2048}, {49, 4608, 512}, {104, 2048, 512}, {105, 2048, 512}} {
			m, k, n := s[0], s[1], s[2]
			kc, mc := gemmBlocks(m, k, n)
			if kc < 1 || kc > k || mc < 1 || mc > m {
				t.Fatalf("caches %v, shape %v: kc %d, mc %d outside the shape", c, s, kc, mc)
			}
			if m <= 12 && kc != k {
				t.Errorf("caches %v, shape %v: one row tile, yet K split into blocks of %d", c, s, kc)
			}
			if oneBandFullK && m <= oneBandRows && k*NR512*4 <= c.l2/8 && kc != k {
				t.Errorf("caches %v, shape %v: one band with panels of %d bytes, yet K split into blocks of %d", c, s, k*NR512*4, kc)
			}
			if kc < k && kc*NR512*4 > c.l1+4*NR512*4 {
				t.Errorf("caches %v, shape %v: a panel slice of kc %d does not fit L1", c, s, kc)
			}
			if m <= oneBandRows && mc != m {
				t.Errorf("caches %v, shape %v: %d rows in bands of %d, want one band", c, s, m, mc)
			}
			if mc < m && mc%12 != 0 {
				t.Errorf("caches %v, shape %v: band of %d rows is not whole 12-row tiles", c, s, mc)
			}
			// Bands of at least four tiles, else a sixteenth of L2 for A's
			// block and the outputs, or a quarter when the K block's weights
			// exceed half of L2.
			budget := c.l2 / 16
			if kc*n*4 > c.l2/2 {
				budget = c.l2 / 4
			}
			if mc < min(m, 48) {
				t.Errorf("caches %v, shape %v: band of %d rows, under four tiles", c, s, mc)
			}
			if mc > max(48, oneBandRows) && mc*(kc+n)*4 > budget {
				t.Errorf("caches %v, shape %v: band %d×(%d+%d) floats exceeds %d bytes", c, s, mc, kc, n, budget)
			}
		}
	}
}

func TestCacheSizes(t *testing.T) {
	sysfs := fstest.MapFS{
		"index0/level": {Data: []byte("1\n")}, "index0/type": {Data: []byte("Data\n")}, "index0/size": {Data: []byte("48K\n")},
		"index1/level": {Data: []byte("1\n")}, "index1/type": {Data: []byte("Instruction\n")}, "index1/size": {Data: []byte("32K\n")},
		"index2/level": {Data: []byte("2\n")}, "index2/type": {Data: []byte("Unified\n")}, "index2/size": {Data: []byte("2048K\n")},
		"index3/level": {Data: []byte("3\n")}, "index3/type": {Data: []byte("Unified\n")}, "index3/size": {Data: []byte("307200K\n")},
	}
	if l1, l2 := cacheSizes(sysfs); l1 != 48<<10 || l2 != 2<<20 {
		t.Errorf("cacheSizes = %d, %d; want %d, %d", l1, l2, 48<<10, 2<<20)
	}
	if l1, l2 := cacheSizes(fstest.MapFS{}); l1 != defaultL1 || l2 != defaultL2 {
		t.Errorf("no sysfs: cacheSizes = %d, %d; want the defaults", l1, l2)
	}
	bad := fstest.MapFS{
		"index0/level": {Data: []byte("1")}, "index0/type": {Data: []byte("Data")}, "index0/size": {Data: []byte("lots")},
		"index2/level": {Data: []byte("2")}, "index2/type": {Data: []byte("Unified")}, "index2/size": {Data: []byte("1K")},
	}
	if l1, l2 := cacheSizes(bad); l1 != defaultL1 || l2 != 128<<10 {
		t.Errorf("unparsable L1, tiny L2: cacheSizes = %d, %d; want %d, %d", l1, l2, defaultL1, 128<<10)
	}
	for s, want := range map[string]int{"48K": 48 << 10, "2M": 2 << 20, "512": 512} {
		if got, ok := parseCacheSize(s); !ok || got != want {
			t.Errorf("parseCacheSize(%q) = %d, %v", s, got, ok)
		}
	}
	for _, s := range []string{"", "K", "-4K", "99999999999M"} {
		if _, ok := parseCacheSize(s); ok {
			t.Errorf("parseCacheSize(%q) accepted", s)
		}
	}
}

// TestTileRows: the row tiles cover any band exactly with the kernels'
// heights, and a band of 12k+1 rows (49: ResNet's 7×7 layers, one image)
// ends in a 13-row tile rather than a one-row tile.
func TestTileRows(t *testing.T) {
	for m := 1; m <= 200; m++ {
		var tiles []int
		for r := 0; r < m; r += tiles[len(tiles)-1] {
			h := tileRows(m - r)
			switch h {
			case 13, 12, 8, 4, 1:
			default:
				t.Fatalf("%d rows: tile of %d rows has no kernel", m, h)
			}
			if h > m-r {
				t.Fatalf("%d rows: tile of %d rows with %d left", m, h, m-r)
			}
			tiles = append(tiles, h)
		}
		if m >= 13 && m%12 == 1 && tiles[len(tiles)-1] == 1 {
			t.Errorf("%d rows: tiles %v end in a one-row tile", m, tiles)
		}
	}
}

// BenchmarkGemmOneBand compares, on the few-row GEMMs of one image's late
// layers (ResNet-50's 7x7 stage, MobileNet V1's 8x8 and 4x4 layers and its
// fused bands), those rows in one band ("one") with the cache-budget bands
// ("budget": 49 rows as 48 + 1, 64 as 48 + 16). Both run alternately in the
// same loop, weights warm or cold (the next of enough copies to overflow
// L2); the metrics are multiply-adds per second of the fastest and the
// median call of each.
func BenchmarkGemmOneBand(b *testing.B) {
	if !hasAVX512 {
		b.Skip("no AVX-512: the banded driver is not used")
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for _, s := range [][3]int{{49, 512, 2048}, {49, 2048, 512}, {49, 4608, 512}, {64, 256, 512}, {64, 512, 512}, {96, 128, 256}, {16, 1024, 1024}} {
		m, k, n := s[0], s[1], s[2]
		a := randSlice(rng, m*k)
		w, bias := randSlice(rng, n*k), randSlice(rng, n)
		ps := make([]*PackedB, max(2, (32<<20)/(4*k*n)))
		for i := range ps {
			ps[i] = PackB(w, n, k, bias)
		}
		c := make([]float32, m*n)
		for _, cold := range []bool{false, true} {
			b.Run(fmt.Sprintf("%dx%dx%d/cold=%v", m, k, n, cold), func(b *testing.B) {
				defer func(v int) { oneBandRows = v }(oneBandRows)
				// Cold, every round takes the next copy of the weights,
				// the same for both modes (Setup counts the runs).
				p, runs := ps[0], 0
				mode := func(name string, rows int) abbench.Side {
					return abbench.Side{Name: name, Setup: func() {
						if cold {
							p = ps[runs/2%len(ps)]
						}
						runs++
						oneBandRows = rows
					}, Run: func() { Gemm(m, a, k, p, 0, 6, c, n) }}
				}
				t := abbench.Alternate(b, abbench.Wall, mode("budget", 0), mode("one", oneBandRows))
				t.ReportRate(b, 0, abbench.Best, float64(m*k*n)/1e9, "best-GMAC/s-%s")
				t.ReportRate(b, 0, abbench.Med, float64(m*k*n)/1e9, "med-GMAC/s-%s")
			})
		}
	}
}

// TestGemmOneBandFullK checks that a one-band product run in one K block
// (oneBandFullK) gives the same bits as in L1-sized K blocks (the sums go
// through C between blocks as the same float32 values), with the bounds,
// HARD_SWISH and a residual, and that the two really take different
// blockings.
func TestGemmOneBandFullK(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU: the banded driver is not used")
	}
	defer func(v bool) { oneBandFullK = v }(oneBandFullK)
	rng := rand.New(rand.NewPCG(9, 10))
	for _, s := range []struct {
		m, k, n int
		res, hs bool
	}{{64, 512, 512, false, false}, {16, 1024, 1024, false, true}, {49, 512, 2048, true, false}, {16, 512, 1001, false, false}, {30, 700, 96, true, true}} {
		oneBandFullK = false
		kcOld, _ := gemmBlocks(s.m, s.k, s.n)
		oneBandFullK = true
		kcNew, _ := gemmBlocks(s.m, s.k, s.n)
		if kcNew != s.k || kcOld >= s.k {
			t.Fatalf("%v: K blocks %d with oneBandFullK, %d without; want %d and fewer", s, kcNew, kcOld, s.k)
		}
		a := randSlice(rng, s.m*s.k)
		p := PackB(randSlice(rng, s.n*s.k), s.n, s.k, randSlice(rng, s.n))
		act := Act{Lo: -0.5, Hi: 0.5, HardSwish: s.hs}
		if s.res {
			act.Res, act.LdRes = randSlice(rng, s.m*s.n), s.n
		}
		var outs [2][]float32
		for i, on := range []bool{false, true} {
			oneBandFullK = on
			outs[i] = make([]float32, s.m*s.n)
			GemmAct(s.m, a, s.k, p, act, outs[i], s.n)
		}
		for i := range outs[0] {
			if math.Float32bits(outs[0][i]) != math.Float32bits(outs[1][i]) {
				t.Fatalf("%v: output %d is %v in one K block, %v in blocks", s, i, outs[1][i], outs[0][i])
			}
		}
	}
}
