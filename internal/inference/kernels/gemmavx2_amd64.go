//go:build amd64

package kernels

// The AVX2 GEMM driver over 16-column panels. Its micro-kernels
// (gemmavx2_amd64.s, written by gen_gemmavx2.go) take 1 to 6 rows, so the
// rows left after the 6-row tiles run in place, without a copy of A; a
// last panel of at most 8 real columns runs the 8-column kernels (half the
// multiply-adds of its zero padding), and a partial panel is read and
// written under a mask, without a staging tile. The bias, a residual, the
// bounds and HARD_SWISH are applied in registers as a tile is stored.
//
// The loops, outermost first:
//
//	for each block of kc rows of K (the whole of K unless a panel of
//	        weights is larger than L2)
//	  for each band of mc rows of A (all rows up to avx2OneBandRows or
//	          while A fits in L2; else the band's A block and outputs
//	          in half of L2 while every panel passes over them)
//	    for each panel of 16 columns (the band's first row tiles read
//	            the next panel's slice into L1 as they run, spread
//	            over up to sixteen of them: avx2PrefetchPlan)
//	      the band's 6-row tiles in one call of the micro-kernel, then
//	      the rows left (avx2Tails); a band of 16 rows as four 4-row
//	      tiles in one call (avx2Quad)
//
// Unlike the AVX-512 banded driver, this one reads no later layer's
// weights ahead (SetReadAhead's link is ignored): on a Zen 3 core, the last
// 8x8 layer of MobileNet V1 reading 1.5 MB of the first 4x4 layer's weights
// into L2, one line a pass of its tiles that read nothing else, made that
// layer 34-48 µs faster and itself 26-33 µs slower (three runs); read by
// its last panels only (aheadShare quarters of L2), 0-8 µs faster. Reading
// further ahead, for L3 (a victim cache of L2 on Zen 3), did not pay either
// (session 13, branch avx2l3, not merged): on this shared host a 4 MB buffer
// read once came back in 185-300 µs at once but 430-510 µs after 1-2 ms
// (530 cold), so lines read during the 8x8 layers were gone by the classifier;
// and a GEMM with a second stream of far misses in flight ran 58-120 µs slower
// per 2 MB read, about what the later layer gained (V1 batch 1 0.92-1.00x over
// the plans tried: every 8x8 layer, only the last, chains of the weight-bound
// layers, PREFETCHT0/T1/T2/NTA).
//
// Each output's sum runs over K in order from 0, the bias added after the
// last step, as the 6×16 kernel did: a later block of K starts from the
// earlier blocks' sums stored in C, so the results are the same bits
// whatever the blocking and the tile shapes.

// avx2Blocked selects this driver; off, the panel-major loop over the
// 6×16 kernel (gemmPanelsAVX2, with gemmResidual's passes) runs, for
// tests and benchmarks to compare.
var avx2Blocked = true

// avx2KC and avx2MC, when positive, replace the K block and the row band
// gemmBlocksAVX2 picks (tests cover several blocks and bands with them,
// benchmarks compare).
var avx2KC, avx2MC = 0, 0

// avx2MultiTile runs a band's 6-row tiles of a panel in one call of the
// micro-kernel; off, a call per tile (benchmarks compare).
var avx2MultiTile = true

// avx2OneBandRows is the most rows gemmBlocksAVX2 keeps in one band
// whatever the size of A.
const avx2OneBandRows = 104

// avx2Prefetch makes the first row tiles of a panel read the next panel's
// slice ahead; benchmarks switch it off to compare.
var avx2Prefetch = true

// The micro-kernels' flags: start from C's sums, finish (bias, residual,
// bounds), HARD_SWISH.
const (
	avx2FromC  = 1
	avx2Finish = 2
	avx2HSwish = 4
	avx2PfOut  = 8
)

// avx2PrefetchSpread spreads the read of the next panel's slice over the
// first row tiles of a band (avx2PrefetchPlan) instead of the first one;
// benchmarks switch it off to compare.
var avx2PrefetchSpread = true

// avx2PrefetchPlan says how a band's call of tiles row tiles reads the next
// panel's slice of kb lines (k steps) ahead: the lines of pfn bytes (16 to
// 256) a pass of four k steps, by the first pft tiles, one going on where
// the last stopped, and never past the slice. Fewer bytes a pass leave the
// memory system busy for longer at a lower rate: one tile of a 64-row band
// takes a tenth of the panel's time, and reading the whole next panel in it
// asks for more than L3 delivers.
func avx2PrefetchPlan(tiles, kb int) (pfn, pft int) {
	passes := kb / 4
	if !avx2PrefetchSpread || passes == 0 || tiles <= 1 {
		return 256, 1
	}
	for n := avx2PrefetchMinPass; n < 256; n *= 2 {
		if t := kb * 64 / (passes * n); t <= tiles {
			return n, t
		}
	}
	return 256, 1
}

// avx2PrefetchMinPass is the fewest bytes of the next panel a pass of four
// k steps reads ahead (avx2PrefetchPlan); benchmarks vary it.
var avx2PrefetchMinPass = 16

// avx2PrefetchAhead is how many panels ahead of the one a band runs its
// first row tiles read (the panels before it are read on demand). One is
// best on a Zen 3 core: V1 1.0@128 batch 1's 16x1024x1024 layer, in the
// model against one (BenchmarkAVX2PanelModel/ahead2..4, two runs each),
// ran 6-10 % slower two panels ahead, 5-6 % three, 12-20 % four.
// Benchmarks vary it.
var avx2PrefetchAhead = 1

// avx2PrefetchOut makes the tiles that finish ask for their residual's
// and output's lines before their k loop; benchmarks switch it off to
// compare.
var avx2PrefetchOut = true

// gemmBlocksAVX2 picks the K block kc and the row band mc for an m×k by
// k×n product on 16-column panels.
func gemmBlocksAVX2(m, k, n int) (kc, mc int) {
	// Whole panels while one fits in L2: a band's row tiles reread it
	// from L1 or L2, the weights stream once, and the outputs are stored
	// once. Measured against slices of half of L1 and of half of L2
	// (BenchmarkGemmAVX2Blocking, "whole" against "auto"): 49x4608x512
	// 1.2x, 49x512x2048 with a residual 1.03-1.26x, 64x1024x1024
	// 1.01-1.07x, 48x2304x256 1.03x, the rest within 2 %. Blocks of K
	// for the weight-bound 16-row layers of V1 1.0@128, whose 64 KB
	// panels exceed L1, did not pay either (BenchmarkAVX2PanelModel/kcN,
	// two runs each): 256 made them 2-7 % slower, 512 -1 to +2 %.
	kcMax := max(256, cacheL2/(NR*4))
	if avx2KC > 0 {
		kcMax = avx2KC
	}
	blocks := max(1, (k+kcMax-1)/kcMax)
	kc = min(k, (k+blocks-1)/blocks)
	// One band for a few row tiles (one image's 7x7 and 8x8 layers), or
	// while A's block fits in L2: bands reread all the weights, which
	// cost more than A from L3 there (49x4608x512 in bands of 18 rows
	// 1.25x slower). Else bands whose A block and outputs fill half of
	// L2 (A from L3 for every panel ran 1024x256x256 2-4 % and
	// 784x256x1024 13-20 % slower).
	mcMax := m
	if m > avx2OneBandRows && m*kc*4 > cacheL2 {
		mcMax = max(4*MR, cacheL2/2/((kc+n)*4)/MR*MR)
	}
	if avx2MC > 0 {
		mcMax = avx2MC
	}
	bands := (m + mcMax - 1) / mcMax
	mc = min(m, ((m+bands-1)/bands+MR-1)/MR*MR)
	return kc, mc
}

// gemmAVX2 is GemmPanelsAct on 16-column panels with AVX2; res, when not
// nil, holds m rows (ldr floats apart) added to the sums before the
// bounds.
func gemmAVX2(m int, a []float32, lda int, b *PackedB, p0, p1 int, lo, hi float32, hs bool, res []float32, ldr int, c []float32, ldc int) {
	const nr = NR
	k := b.K
	kc, mc := gemmBlocksAVX2(m, k, (p1-p0)*nr)
	if res != nil && mc < m {
		// Several bands: each tile's residual rows came from memory
		// slower than a separate pass streams them (784x256x1024 0.92-0.94x
		// the sums followed by gemmResidual's pass).
		gemmResidual(m, a, lda, b, p0, p1, Act{Lo: lo, Hi: hi, HardSwish: hs, Res: res, LdRes: ldr}, c, ldc)
		return
	}
	if k == 0 {
		kc = 1 // one pass: the bias alone
	}
	for k0 := 0; k0 < max(k, 1); k0 += kc {
		kb := min(kc, k-k0)
		flags := 0
		if k0 > 0 {
			flags |= avx2FromC
		}
		if k0+kb >= k {
			flags |= avx2Finish
			if avx2PrefetchOut {
				flags |= avx2PfOut
			}
			if hs {
				flags |= avx2HSwish
			}
		}
		for i0 := 0; i0 < m; i0 += mc {
			mb := min(mc, m-i0)
			for p := p0; p < p1; p++ {
				var pb *float32
				if kb > 0 {
					pb = &b.panels[p*k*nr+k0*nr]
				}
				var pf *float32
				if q := p + avx2PrefetchAhead; avx2Prefetch && q < p1 && kb > 0 {
					pf = &b.panels[q*k*nr+k0*nr]
				}
				n0 := p * nr
				cols := min(nr, b.N-n0)
				bias := &b.bias[n0]
				// The band's 6-row tiles in one call, then the rows left.
				full, rest := avx2Tails(mb)
				fr := MR // the rows of the full tiles
				if avx2Quad && mb == 16 {
					fr, full, rest = 4, 4, 0
				}
				pfn, pft := 256, 1
				if avx2MultiTile {
					pfn, pft = avx2PrefetchPlan(full, kb)
				}
				for r := i0; r < i0+mb; {
					rows, tiles := fr, full
					switch {
					case !avx2MultiTile && full > 0:
						tiles, full = 1, full-1
					case full > 0:
						full = 0
					case rest > 5:
						rows, tiles, rest = rest-4, 1, 4
					default:
						rows, tiles = rest, 1
					}
					var rp *float32
					if res != nil && flags&avx2Finish != 0 {
						rp = &res[r*ldr+n0]
					}
					tileAVX2(rows, tiles, cols, kb, &a[r*lda+k0], lda, pb, &c[r*ldc+n0], ldc, bias, lo, hi, flags, rp, ldr, pf, pfn, pft)
					pf = nil
					r += rows * tiles
				}
			}
		}
	}
}

// avx2SplitTail makes avx2Tails end a band of 6k+1, 6k+2 or 6k+3 rows
// (k > 0) in two tiles of 3 to 5 rows rather than a 6-row tile and one of
// 1 to 3 rows, which has too few sums to keep both FMA units busy (a
// 1-row tile runs at about a quarter of the 6-row one's rate); benchmarks
// switch it off to compare.
var avx2SplitTail = true

// avx2Quad runs a band of exactly 16 rows (MobileNet V1's 4x4 layers at
// 128 pixels, batch 1) as four 4-row tiles in one call of the
// micro-kernel instead of 6+6 rows and a 4-row call: the read of the next
// panel is spread over the whole panel's time at a line a pass
// (avx2PrefetchPlan(4, kb)) instead of two lines a pass over its first
// three quarters; those layers' weights (2 and 4 MB) come from memory
// every image, and the lower, steadier rate keeps more of them in flight.
// Each output's sum order over K is unchanged (the same bits). V1 1.0@128
// batch 1 in the model (BenchmarkAVX2PanelModel/quad, six runs on a
// shared host): 16x512x1024 1-9 % (median of the runs 6 %) and
// 16x1024x1024 2-8 % (7 %) faster, the model 1.001-1.020x (median 1.012);
// batch 8 on two threads (no band of 16 rows) 0.995x, V3-Large and
// ResNet-50 1.003x and 1.020x (noise). Other band heights are not
// measured. Benchmarks switch it off to compare.
var avx2Quad = true

// avx2Tails splits mb rows into full 6-row tiles and the rows left: at
// most 5, or with avx2SplitTail 7 to 9 that run as two tiles of 3 to 5
// rows (rest-4, then 4).
func avx2Tails(mb int) (full, rest int) {
	full, rest = mb/MR, mb%MR
	if avx2SplitTail && rest > 0 && rest < 4 && full > 0 {
		full, rest = full-1, rest+MR
	}
	return full, rest
}

// tileAVX2 calls the micro-kernel for tiles tiles of rows rows (1 to 6)
// one under the other, and cols columns (the 8-column one for at most 8).
func tileAVX2(rows, tiles, cols, k int, a *float32, lda int, b, c *float32, ldc int, bias *float32, lo, hi float32, flags int, res *float32, ldr int, pf *float32, pfn, pft int) {
	if cols <= 8 {
		switch rows {
		case 6:
			gemmA6x8(k, a, lda, b, c, ldc, bias, lo, hi, flags, res, ldr, cols, pf, tiles, pfn, pft)
		case 5:
			gemmA5x8(k, a, lda, b, c, ldc, bias, lo, hi, flags, res, ldr, cols, pf, tiles, pfn, pft)
		case 4:
			gemmA4x8(k, a, lda, b, c, ldc, bias, lo, hi, flags, res, ldr, cols, pf, tiles, pfn, pft)
		case 3:
			gemmA3x8(k, a, lda, b, c, ldc, bias, lo, hi, flags, res, ldr, cols, pf, tiles, pfn, pft)
		case 2:
			gemmA2x8(k, a, lda, b, c, ldc, bias, lo, hi, flags, res, ldr, cols, pf, tiles, pfn, pft)
		default:
			gemmA1x8(k, a, lda, b, c, ldc, bias, lo, hi, flags, res, ldr, cols, pf, tiles, pfn, pft)
		}
		return
	}
	switch rows {
	case 6:
		gemmA6x16(k, a, lda, b, c, ldc, bias, lo, hi, flags, res, ldr, cols, pf, tiles, pfn, pft)
	case 5:
		gemmA5x16(k, a, lda, b, c, ldc, bias, lo, hi, flags, res, ldr, cols, pf, tiles, pfn, pft)
	case 4:
		gemmA4x16(k, a, lda, b, c, ldc, bias, lo, hi, flags, res, ldr, cols, pf, tiles, pfn, pft)
	case 3:
		gemmA3x16(k, a, lda, b, c, ldc, bias, lo, hi, flags, res, ldr, cols, pf, tiles, pfn, pft)
	case 2:
		gemmA2x16(k, a, lda, b, c, ldc, bias, lo, hi, flags, res, ldr, cols, pf, tiles, pfn, pft)
	default:
		gemmA1x16(k, a, lda, b, c, ldc, bias, lo, hi, flags, res, ldr, cols, pf, tiles, pfn, pft)
	}
}

// The micro-kernels of gemmavx2_amd64.s: R rows (1 to 6) by 16 or 8
// columns; see the generator for the contract.

//go:noescape
func gemmA6x16(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32, flags int, res *float32, ldr int, cols int, pf *float32, tiles int, pfn int, pft int)

//go:noescape
func gemmA5x16(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32, flags int, res *float32, ldr int, cols int, pf *float32, tiles int, pfn int, pft int)

//go:noescape
func gemmA4x16(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32, flags int, res *float32, ldr int, cols int, pf *float32, tiles int, pfn int, pft int)

//go:noescape
func gemmA3x16(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32, flags int, res *float32, ldr int, cols int, pf *float32, tiles int, pfn int, pft int)

//go:noescape
func gemmA2x16(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32, flags int, res *float32, ldr int, cols int, pf *float32, tiles int, pfn int, pft int)

//go:noescape
func gemmA1x16(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32, flags int, res *float32, ldr int, cols int, pf *float32, tiles int, pfn int, pft int)

//go:noescape
func gemmA6x8(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32, flags int, res *float32, ldr int, cols int, pf *float32, tiles int, pfn int, pft int)

//go:noescape
func gemmA5x8(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32, flags int, res *float32, ldr int, cols int, pf *float32, tiles int, pfn int, pft int)

//go:noescape
func gemmA4x8(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32, flags int, res *float32, ldr int, cols int, pf *float32, tiles int, pfn int, pft int)

//go:noescape
func gemmA3x8(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32, flags int, res *float32, ldr int, cols int, pf *float32, tiles int, pfn int, pft int)

//go:noescape
func gemmA2x8(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32, flags int, res *float32, ldr int, cols int, pf *float32, tiles int, pfn int, pft int)

//go:noescape
func gemmA1x8(k int, a *float32, lda int, b *float32, c *float32, ldc int, bias *float32, lo, hi float32, flags int, res *float32, ldr int, cols int, pf *float32, tiles int, pfn int, pft int)

// SetAVX2Blocked switches the AVX2 GEMM driver on (the default) or off
// (the panel-major 6×16 loop), for benchmarks in other packages.
func SetAVX2Blocked(on bool) { avx2Blocked = on }
