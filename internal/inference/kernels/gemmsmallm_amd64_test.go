//go:build amd64

package kernels

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
)

// benchGemmModes runs the GEMM m×k×n (with a residual when res) under each
// of modes alternately in one loop, weights cold (the next of enough
// copies to overflow L2, as in a whole model at batch 1), and reports the
// fastest and the median call of each mode in GMAC/s, timed by the
// thread's CPU clock (preemption by other processes does not count).
func benchGemmModes(b *testing.B, m, k, n int, res bool, modes []string, set func(mode string)) {
	benchGemmModesLda(b, m, k, n, k, res, modes, set)
}

// benchGemmModesLda is benchGemmModes with A's rows lda floats apart.
func benchGemmModesLda(b *testing.B, m, k, n, lda int, res bool, modes []string, set func(mode string)) {
	rng := rand.New(rand.NewPCG(1, 1))
	a := randSlice(rng, (m-1)*lda+k)
	w, bias := randSlice(rng, n*k), randSlice(rng, n)
	ps := make([]*PackedB, max(2, (32<<20)/(4*k*n)))
	for i := range ps {
		ps[i] = PackB(w, n, k, bias)
	}
	c := make([]float32, m*n)
	act := Act{Lo: 0, Hi: NoClampHi}
	if res {
		act.Res, act.LdRes = randSlice(rng, m*n), n
	}
	defer set("")
	// Every round takes the next copy of the weights, the same for all
	// its modes; a run's Setup counts the runs to know its round.
	var p *PackedB
	runs := 0
	sides := make([]abbench.Side, len(modes))
	for j, md := range modes {
		sides[j] = abbench.Side{Name: md, Setup: func() {
			p = ps[runs/len(modes)%len(ps)]
			runs++
			set(md)
		}, Run: func() { GemmAct(m, a, lda, p, act, c, n) }}
	}
	t := abbench.Alternate(b, abbench.ThreadCPU, sides...)
	t.ReportRate(b, 0, abbench.Best, float64(m*k*n)/1e9, "best-GMAC/s-%s")
	t.ReportRate(b, 0, abbench.Med, float64(m*k*n)/1e9, "med-GMAC/s-%s")
}

// BenchmarkGemmSpreadPrefetch compares, on one image's 7x7 layers of
// ResNet-50 (49 rows, weights from L3), the next slice read ahead by every
// row tile of the band ("spread") with the first two tiles reading half
// each ("two").
func BenchmarkGemmSpreadPrefetch(b *testing.B) {
	if !hasAVX512 {
		b.Skip("no AVX-512: the banded driver is not used")
	}
	for _, s := range []struct {
		m, k, n int
		res     bool
	}{{49, 2048, 512, false}, {49, 512, 2048, true}, {49, 4608, 512, false}, {49, 1024, 2048, false}, {64, 512, 512, false}} {
		b.Run(fmt.Sprintf("%dx%dx%d/res=%v", s.m, s.k, s.n, s.res), func(b *testing.B) {
			old := spreadPrefetch
			benchGemmModes(b, s.m, s.k, s.n, s.res, []string{"two", "spread"}, func(mode string) {
				spreadPrefetch = mode == "spread" || (mode == "" && old)
			})
		})
	}
}

// TestPrefetchPlan checks that the row tiles of a band read every line of
// the next slice ahead between them (a lone tile every other line), for
// bands of every height up to oneBandRows and next slices as long as the
// current one or shorter, and that with more than two tiles each tile
// reads only its own share (give or take the stride's rounding to a byte).
func TestPrefetchPlan(t *testing.T) {
	for mb := 1; mb <= oneBandRows; mb++ {
		var tiles []int
		for r := 0; r < mb; r += tileRows(mb - r) {
			tiles = append(tiles, tileRows(mb-r))
		}
		for _, kb := range []int{4, 7, 64, 256, 344, 384} {
			for _, nextK := range []int{kb, kb - 3, kb / 2, 1} {
				if nextK < 1 {
					continue
				}
				lines := 2 * nextK
				for _, spread := range []bool{false, true} {
					nt := 0
					if spread {
						nt = len(tiles)
					}
					seen := make([]int, lines)
					for ti, rows := range tiles {
						off, pfs := prefetchPlan(ti, nt, rows, mb, kb, nextK)
						if pfs == 0 {
							continue
						}
						if off < 0 || off >= nextK*NR512 {
							t.Fatalf("mb %d kb %d nextK %d tile %d: starts at %d, outside the slice", mb, kb, nextK, ti, off)
						}
						last := -1
						for s := 0; s < kb; s++ {
							l := (off*4 + s*pfs) / 64
							if l < lines && l != last {
								seen[l]++
							}
							last = l
						}
					}
					total := 0
					for l, n := range seen {
						total += n
						if n == 0 && !(len(tiles) == 1 && l%2 == 1) {
							t.Fatalf("mb %d kb %d nextK %d spread %v: line %d of %d never read ahead", mb, kb, nextK, spread, l, lines)
						}
					}
					if spread && len(tiles) > 2 && total > lines+len(tiles)*(kb/64+1) {
						t.Fatalf("mb %d kb %d nextK %d: %d tiles read %d lines ahead for a slice of %d", mb, kb, nextK, len(tiles), total, lines)
					}
				}
			}
		}
	}
}

// BenchmarkGemmTilesOuter compares, on GEMMs of several row bands with
// short K blocks (ResNet-50's 56x56 1x1 layers at batch 1 and per worker at
// batch 8, a 28x28 expansion with its residual, V1's 1024x256x256 and
// 4096x32x64), the later bands run tile-major ("tiles") with every band
// run panel-major ("panels"), and two shapes that keep the panel loop
// (a long K block; a one-band call).
func BenchmarkGemmTilesOuter(b *testing.B) {
	if !hasAVX512 {
		b.Skip("no AVX-512: the banded driver is not used")
	}
	for _, s := range []struct {
		m, k, n int
		res     bool
	}{{3136, 256, 64, false}, {3136, 64, 64, false}, {3136, 64, 256, true}, {12544, 256, 64, false}, {784, 256, 1024, true},
		{3136, 512, 128, false}, {1024, 256, 256, false}, {4096, 32, 64, false}, {196, 2048, 512, false}, {196, 512, 2048, true}, {48, 256, 1024, true}} {
		b.Run(fmt.Sprintf("%dx%dx%d/res=%v", s.m, s.k, s.n, s.res), func(b *testing.B) {
			old := tilesOuterK
			benchGemmModes(b, s.m, s.k, s.n, s.res, []string{"panels", "tiles"}, func(mode string) {
				tilesOuterK = old
				if mode == "panels" {
					tilesOuterK = 0
				}
			})
		})
	}
}

// TestGemmTilesOuter checks that bands run tile-major give the panel-major
// loop's outputs bit for bit (each output's sum is taken in the same
// order), over several bands, partial column panels, several K blocks, a
// residual and HARD_SWISH, and a column sub-range; and that the shapes
// meant to take the tile-major order do.
func TestGemmTilesOuter(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512: the banded driver is not used")
	}
	if _, mc := gemmBlocks(3136, 64, 256); mc >= 3136 || !tilesOuter(mc, 64, 256) || tilesOuter(0, 64, 256) {
		t.Fatalf("3136x64x256: bands of %d rows; the second should run tile-major, the first not", mc)
	}
	if tilesOuter(96, 344, 64) || tilesOuter(48, 256, 2048) {
		t.Fatal("a K block of 344 steps, or weights of 2 MB, run tile-major")
	}
	defer func(kc, tk int) { kcOverride, tilesOuterK = kc, tk }(kcOverride, tilesOuterK)
	rng := rand.New(rand.NewPCG(5, 6))
	for _, kc := range []int{0, 24} {
		kcOverride = kc
		for _, s := range []struct{ m, k, n, lda int }{{301, 64, 256, 64}, {600, 70, 100, 75}, {700, 33, 40, 33}, {1000, 16, 64, 16}} {
			a := randSlice(rng, (s.m-1)*s.lda+s.k)
			p := PackB(randSlice(rng, s.n*s.k), s.n, s.k, randSlice(rng, s.n))
			res := randSlice(rng, s.m*s.n)
			for _, act := range []Act{{Lo: NoClampLo, Hi: NoClampHi}, {Lo: 0, Hi: 0.5, Res: res, LdRes: s.n}, {Lo: -1, Hi: 1, HardSwish: true}} {
				if _, mc := gemmBlocks(s.m, s.k, s.n); mc >= s.m {
					t.Fatalf("%v: one band of %d rows; the test wants several", s, mc)
				}
				got, want := make([]float32, s.m*s.n), make([]float32, s.m*s.n)
				tilesOuterK = 256
				GemmAct(s.m, a, s.lda, p, act, got, s.n)
				tilesOuterK = 0
				GemmAct(s.m, a, s.lda, p, act, want, s.n)
				if !slices.Equal(got, want) {
					t.Fatalf("%v kc %d act %+v: tile-major differs from panel-major", s, kc, act.HardSwish)
				}
				// The last panel alone (a partial one where N is not a
				// multiple of 32), as a thread splitting columns calls it.
				q := p.Panels() - 1
				tilesOuterK = 256
				GemmPanelsAct(s.m, a, s.lda, p, q, q+1, act, got, s.n)
				tilesOuterK = 0
				GemmPanelsAct(s.m, a, s.lda, p, q, q+1, act, want, s.n)
				if !slices.Equal(got, want) {
					t.Fatalf("%v kc %d: last panel alone differs", s, kc)
				}
			}
		}
	}
}

// BenchmarkGemmShapesDriver runs every shape of gemmShapes (ResNet-50's and
// MobileNet V1's GEMMs, as the graph issues them) with this session's
// driver changes off ("before": no spread read-ahead, no tile-major bands)
// and on ("after") alternately, weights cold, so that no model's shapes
// get slower unnoticed.
func BenchmarkGemmShapesDriver(b *testing.B) {
	if !hasAVX512 {
		b.Skip("no AVX-512: the banded driver is not used")
	}
	for _, s := range gemmShapes {
		b.Run(fmt.Sprintf("%s/%dx%dx%d", s.model, s.m, s.k, s.n), func(b *testing.B) {
			spread, tk := spreadPrefetch, tilesOuterK
			benchGemmModesLda(b, s.m, s.k, s.n, s.lda, false, []string{"before", "after"}, func(mode string) {
				spreadPrefetch, tilesOuterK = spread, tk
				if mode == "before" {
					spreadPrefetch, tilesOuterK = false, 0
				}
			})
		})
	}
}
