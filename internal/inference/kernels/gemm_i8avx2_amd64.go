//go:build amd64

package kernels

import "unsafe"

// gemmI16x4x16RQAVX2 is gemmI16x4x16AVX2 with the requantization fused
// in: the 4x16 int32 tile is rescaled with the tab8 blocks at tab (bias,
// single or double rounding, zero point, clamp) and stored as 4 rows of
// 16 bytes, ldo bytes apart. Implemented in gemm_i8avx2_amd64.s.
//
//go:noescape
func gemmI16x4x16RQAVX2(kp int, a *uint16, lda int, b *int16, out *int8, ldo int, tab *int32, double bool, zp, lo, hi int32)

// gemmI16x3x32RQAVX2 is gemmI16x4x16RQAVX2 on 3 rows by a whole panel of
// 32 channels (b the panel's W16, tab its first tab8 block): fewer
// broadcasts per multiply. A non-nil pf is the next panel's W16, which
// the tile prefetches into L2 as it goes (a step's two lines per step).
// Implemented in gemm_i8avx2_amd64.s.
//
//go:noescape
func gemmI16x3x32RQAVX2(kp int, a *uint16, lda int, b *int16, out *int8, ldo int, tab *int32, double bool, zp, lo, hi int32, pf *int16)

// gemmU8x3x32UBRQAVX2 is gemmI16x3x32RQAVX2 on the unsigned activation
// rows as they are and the int8 panel (PackedI8.Data, b its first byte),
// k4 steps of 4 k, with VPMADDUBSW: exact only on rows where no pair sum
// a0*w0 + a1*w1 of k (2j, 2j+1) leaves the int16 range (pairsFitRowsU8W
// against the layer's weights, pairsFitRowsU8 against any). A non-nil pf
// is the next panel's first byte, which the tile prefetches into L2 as it
// goes. Implemented in gemm_i8avx2_amd64.s.
//
//go:noescape
func gemmU8x3x32UBRQAVX2(k4 int, a *uint8, lda int, b *int8, out *int8, ldo int, tab *int32, double bool, zp, lo, hi int32, pf *int8)

// pairsFitRowsU8 sets fit[i] to whether every pair of bytes (2j, 2j+1)
// of row i (kp bytes, kp a positive multiple of 4; rows lda bytes apart
// from a) sums to at most 255, so that VPMADDUBSW is exact on the row
// against any int8 weights (no pair sum a0*w0 + a1*w1 leaves [-255*128,
// 255*128]). One call for a pass's rows: V2's 1x1 layers of K 16 to 32
// ran 5% slower with a call per row. Implemented in gemm_i8avx2_amd64.s.
//
//go:noescape
func pairsFitRowsU8(rows, kp int, a *uint8, lda int, fit *bool)

// pairsFitRowsU8W is pairsFitRowsU8 against the layer's weights: fit[i]
// is whether a0*m0 + a1*m1 <= 32767 for every pair of k (2j, 2j+1) of
// row i, m the largest |w| at each k over the layer's channels (negm
// holds -m: PackedI8.ubNegM), so that no pair sum a0*w0 + a1*w1 of the
// row against the layer's weights leaves the int16 range. It stops after
// the miss-th row that does not fit (miss >= 1: the pass cannot take the
// tile then), leaving the flags after that row as they were. Implemented
// in gemm_i8avx2_amd64.s.
//
//go:noescape
func pairsFitRowsU8W(rows, kp int, a *uint8, lda int, negm *int8, fit *bool, miss int)

// ubPanelPart computes a pass's rows (3 or more, all fitting the
// VPMADDUBSW tile) of the last panel at col, which holds fewer than 32
// channels (b.N-col), on the tile: every 3 rows, the last 3 overlapping
// the tile before, into a 3-row scratch whose channels that exist are
// copied out (the packed panel and tab8 are padded to 32 channels).
func ubPanelPart(rows, kp int, a []uint8, lda int, b *PackedI8, r *Requant, out []int8, ldo, col int) {
	var part [3 * I8Tile]int8
	n := b.N - col
	wb := &b.Data[col*kp]
	tab := &r.tab8[col/8*64]
	for i := 0; i < rows; i += 3 {
		i = min(i, rows-3)
		gemmU8x3x32UBRQAVX2(kp/4, &a[i*lda], lda, wb, &part[0], I8Tile, tab, r.Double, r.ZP, r.Lo, r.Hi, nil)
		for h := range 3 {
			copy(out[(i+h)*ldo:][:n], part[h*I8Tile:])
		}
	}
}

// ubPanelInt8 computes a pass's rows of the whole panel at col for the
// int8-weight passes (rqInt8Weights): every 3 rows that fit (fit) on the
// VPMADDUBSW tile from a (the unsigned rows, lda apart), the others 2 at
// a time on the int8 2x16 tile from w (the widened rows), a last pair
// that would run past the rows moved back by one (it writes a row done
// before again, with the same bytes). The first tile prefetches the next
// panel.
func ubPanelInt8(rows, kp int, a []uint8, lda int, w []uint16, b *PackedI8, r *Requant, out []int8, ldo, col int, fit []bool) {
	var pf *int8
	if rqPrefetch && col+I8Tile < b.Np {
		pf = &b.Data[(col+I8Tile)*kp]
	}
	wb := &b.Data[col*kp]
	tab := &r.tab8[col/8*64]
	for i := 0; i < rows; {
		if i+3 <= rows && fit[i] && fit[i+1] && fit[i+2] {
			gemmU8x3x32UBRQAVX2(kp/4, &a[i*lda], lda, wb, &out[i*ldo], ldo, tab, r.Double, r.ZP, r.Lo, r.Hi, pf)
			pf = nil
			i += 3
			continue
		}
		j := min(i, rows-2)
		for h := 0; h < 2; h++ {
			gemmI8x2x16RQAVX2(kp/4, &w[j*kp], 2*kp, &b.Data[col*kp+h*16*4], &out[j*ldo+h*16], ldo, &r.tab8[(col+h*16)/8*64], r.Double, r.ZP, r.Lo, r.Hi, nil)
		}
		i = j + 2
	}
}

// gemmI16x4x8RQAVX2 is gemmI16x4x16RQAVX2 on the first 8 of its 16
// channels (b and tab as there), storing 8 bytes per row: the block of 8
// channels that ends an output of N%16 >= 8 channels. Implemented in
// gemm_i8avx2_amd64.s.
//
//go:noescape
func gemmI16x4x8RQAVX2(kp int, a *uint16, lda int, b *int16, out *int8, ldo int, tab *int32, double bool, zp, lo, hi int32)

// gemmI16x2x32RQAVX2 is gemmI16x3x32RQAVX2 on 2 rows, the weights of a
// step held in registers. Implemented in gemm_i8avx2_amd64.s.
//
//go:noescape
func gemmI16x2x32RQAVX2(kp int, a *uint16, lda int, b *int16, out *int8, ldo int, tab *int32, double bool, zp, lo, hi int32)

// gemmI8x2x16RQAVX2 is the fused tile on 2 rows by 16 channels of the
// int8 weights (PackedI8.Data, b at the half panel's first byte of a
// step), k4 steps of 4 k. A non-nil pf is the next half panel's first
// byte, which the tile prefetches into L2 as it goes (a step's line per
// step). Implemented in gemm_i8avx2_amd64.s.
//
//go:noescape
func gemmI8x2x16RQAVX2(k4 int, a *uint16, lda int, b *int8, out *int8, ldo int, tab *int32, double bool, zp, lo, hi int32, pf *int8)

// rqInt8Weights chooses gemmI8x2x16RQAVX2 for a pass of at most
// rqInt8Rows rows against at least rqInt8Bytes bytes of W16: there the
// weights come from L3 or memory once per pass and reading half the
// bytes (int8) pays for the sign extensions. -1 forces it off, 1 on (for
// tests and benchmarks), 0 chooses so.
var rqInt8Weights = 0

const (
	rqInt8Rows  = 16
	rqInt8Bytes = 512 << 10
)

// rqPanelRows forces the rows of the whole-panel tile, 3
// (gemmI16x3x32RQAVX2, rqMixRows) or 2 (gemmI16x2x32RQAVX2), for tests and
// benchmarks; 0 chooses by the pass's rows: 2 up to rq2x32Rows rows, else
// 3.
var rqPanelRows = 0

// rq2x32Rows: passes of at most this many rows run whole panels on the
// 2x32 tile alone (when rqPanelRows is 0); 0, none does. With the 3x32
// tile overlapping at the end of a pass, 32 ran V1's 16-row 4x4 layers
// 5-8% faster; with it ending on 2x32 tiles (rqMixRows) the 3x32 tile ran
// passes of 8 to 32 rows 0-9% faster than the 2x32 one alone
// (BenchmarkGemmRequantAVX2), and the int8 V1 and V2 models 0.4-3.4%
// faster with both changes (BenchmarkInt8AVX2Model/rows3).
var rq2x32Rows = 0

// rqMixRows covers the rows of a pass on the 3x32 tile without overlap:
// rows%3 of 1 (a multiple of 4 rows: 4, 16, 64, ...) ends in two 2x32
// tiles, of 2 in one, rather than in a 3x32 tile over rows the one before
// computed (V1's 16-row passes computed 18, its 64-row ones 66). Off (for
// tests and benchmarks) the last tile overlaps.
var rqMixRows = true

// rqTwoRowTiles is the number of 2x32 tiles that end a pass of rows (2 or
// more) on the 3x32 tile with rqMixRows.
func rqTwoRowTiles(rows int) int {
	switch rows % 3 {
	case 1:
		return 2
	case 2:
		return 1
	}
	return 0
}

// hasRQ3x32 selects the 3x32 tile for whole panels (tests and benchmarks
// turn it off to run the 4x16 tile on them).
var hasRQ3x32 = true

// hasRQ4x8 selects gemmI16x4x8RQAVX2 for a block of 8 channels past the
// last 16 (tests and benchmarks turn it off to run the int32 tile and
// Requant.rowsFrom on them).
var hasRQ4x8 = true

// rqWidenRows widens a pass's rows in one call (widenRowsU8); off (for
// benchmarks), one widenU8 call per row.
var rqWidenRows = true

// rqPrefetch has the first tile of every panel (the 3x32 tile) or half
// panel (the int8 one) prefetch the next one's weights into L2, so that
// weights coming from L3 or memory (every layer's, once an image) arrive
// before their tiles run; off (for tests and benchmarks), they do not.
var rqPrefetch = true

// rqUB has every 3 rows of a whole-panel pass on which VPMADDUBSW cannot
// saturate (pairsFitRowsU8W, or pairsFitRowsU8 with rqUBWeights off) take
// the VPMADDUBSW tile gemmU8x3x32UBRQAVX2, exact on them, instead of the
// 3x32 W16 one; off (for tests and benchmarks), none does.
var rqUB = true

// rqUBMinK is the least K (padded) whose passes check their rows for the
// VPMADDUBSW tile: below it the tile's gain does not pay for the check.
// With the weight-aware check stopping at the first miss past the share,
// 32 against 64 ran 64 and 128 channels by 32 (all rows fitting, V1's
// first 1x1 layer) 1.09-1.19x and 64 by 48 1.12-1.23x, and V2's
// expansions of 192 by 32 (no row fitting) 0.99x; at 16 and 24 (V2's
// first expansions, no row fitting) the check cost 1.5-2%
// (BenchmarkGemmRequantUB/mink4).
var rqUBMinK = 32

// rqUBWeights tests a pass's rows for the VPMADDUBSW tile against the
// layer's weights (pairsFitRowsU8W: every pair's a0*m0 + a1*m1 at most
// 32767, m the largest |w| at each k), where the weight-blind test
// (pairsFitRowsU8: every pair summing to at most 255, exact against any
// int8 weights) accepts fewer; off (for tests and benchmarks), the
// weight-blind test.
var rqUBWeights = true

// rqUBPart runs the VPMADDUBSW tile on the last panel of fewer than 32
// channels (N%32, a multiple of 8 and at least rqUBPartMin) in passes
// whose rows all fit (ubPanelPart); off (for tests and benchmarks), those
// channels take the 4x16, 4x8 or int8 2x16 tiles on widened rows.
var rqUBPart = true

// rqUBPartMin is the least N%32 and rqUBPartMinK the least K (padded)
// that take rqUBPart's tile: a tile of 32 channels on 24 ran V2's
// projections of 24 channels by 144 (64 and 512 rows) 2-8% faster and 56
// by 384 20% faster, but 24 by 96 0-9% slower and 24 by 32 24% slower; on
// 16 it ran 16 by 144 33% and 48 by 384 3% slower
// (BenchmarkGemmRequantUB/part and mink4). Tests lower them.
var rqUBPartMin, rqUBPartMinK = 24, 128

// rqUBShare is the eighths of a pass's rows that must fit for the pass
// to take the VPMADDUBSW tile (a variable for benchmarks).
var rqUBShare = 6

// rqUBNoWiden skips the widening of a pass whose rows all fit rqUB's
// tile where nothing else reads them (off: for benchmarks).
var rqUBNoWiden = true

// rqUBInt8 extends rqUB to the int8-weight passes (rqInt8Weights): off
// (for benchmarks), they run the int8 2x16 tile alone.
var rqUBInt8 = true

// hasRQAVX2 selects gemmRequantAVX2 on the AVX2 path (tests and
// benchmarks turn it off to compare with the GEMM-then-Rows form).
var hasRQAVX2 = true

// gemmRequantAVX2 is GemmU8I8Requant's AVX2 path for the first m/4*4 rows
// (it returns how many it computed, 0 where it does not run: another
// path, no W16 weights, fewer than 4 rows or 16 channels). Rows are
// widened to uint16 rqAVX2Rows at a time; then, panel by panel, every 3
// rows go through the fused 3x32 tile, the last 2 or 4 of rows%3 = 2 or 1
// through the 2x32 one (a last half panel of 16 channels through the 4x16
// one), so the weights are read once per pass rather
// than once per few rows. A block of 8 channels past the last 16 takes
// the 4x8 tile; the last N%8 channels the int32 tile and
// Requant.rowsFrom. c is scratch of m rows of b.Np.
//
// In a pass of K >= rqUBMinK whose rows mostly fit VPMADDUBSW (no pair
// sum of k leaving int16 against the layer's weights, pairsFitRowsU8W),
// whole panels take gemmU8x3x32UBRQAVX2 on every 3 fitting rows instead
// (the last 3 rows overlapping), read from a as they are, and the other
// rows the tiles above; where all fit, so does a last panel of N%32 >= 24
// channels (ubPanelPart), and the pass is not widened (rqUB).
func gemmRequantAVX2(m int, a []uint8, lda int, b *PackedI8, r *Requant, out []int8, ldo int, c []int32) int {
	full, full16 := m/4*4, b.N/16*16
	if !useInt8SIMD() || use512() || !hasRQAVX2 || b.W16 == nil || full == 0 || full16 == 0 || r.C != b.N {
		return 0
	}
	kp := b.Kp
	// The widened rows go to c past its first m rows (RequantScratch);
	// a shorter c costs an allocation.
	var wide []uint16
	if n := min(rqAVX2Rows, full) * kp; 2*(len(c)-m*b.Np) >= n {
		wide = unsafe.Slice((*uint16)(unsafe.Pointer(&c[m*b.Np])), n)
	} else {
		wide = make([]uint16, n)
	}
	for i0 := 0; i0 < full; i0 += rqAVX2Rows {
		rows := min(rqAVX2Rows, full-i0)
		w := wide[:rows*kp]
		// fit[i]: row i0+i may take the VPMADDUBSW tile (rqUB).
		var fit [rqAVX2Rows]bool
		ub, all := false, false
		if rqUB && hasRQ3x32 && rqMixRows && rqPanelRows != 2 && (b.N >= I8Tile || rqUBPart && b.N%8 == 0 && b.N%I8Tile >= rqUBPartMin && kp >= rqUBPartMinK) && kp >= rqUBMinK {
			if len(a) < (i0+rows-1)*lda+kp {
				panic("kernels: gemmRequantAVX2 rows out of range")
			}
			if rqUBWeights && b.ubNegM != nil {
				// It stops at the first miss past the pass's share.
				pairsFitRowsU8W(rows, kp, &a[i0*lda], lda, &b.ubNegM[0], &fit[0], rows-rows*rqUBShare/8+1)
			} else {
				pairsFitRowsU8(rows, kp, &a[i0*lda], lda, &fit[0])
			}
			n := 0
			for _, f := range fit[:rows] {
				if f {
					n++
				}
			}
			// Passes where few rows fit keep the W16 tiles alone: there
			// the mix read both layouts of the panel (V2's 1x1 layers
			// ran 7% slower with every pass that had a fitting row
			// mixing).
			ub, all = n >= rows*rqUBShare/8, n == rows
		}
		int8Pass := rqInt8Weights > 0 || rqInt8Weights == 0 && rows <= rqInt8Rows && 2*b.Np*kp >= rqInt8Bytes
		// part: every row fits and the last panel of fewer than 32
		// channels takes the VPMADDUBSW tile too (ubPanelPart).
		part := ub && all && rqUBPart && b.N%8 == 0 && b.N%I8Tile >= max(rqUBPartMin, 8) && kp >= rqUBPartMinK && (!int8Pass || rqUBInt8)
		// Where every row fits and the VPMADDUBSW tile covers the
		// channels, only it runs: no row is widened.
		if !(ub && all && (b.N%I8Tile == 0 || part) && !int8Pass && rqUBNoWiden) {
			if rqWidenRows {
				widenRowsU8(w, a[i0*lda:], rows, kp, lda)
			} else {
				for i := 0; i < rows; i++ {
					widenU8(w[i*kp:(i+1)*kp], a[(i0+i)*lda:][:kp])
				}
			}
		}
		col := 0
		if int8Pass {
			if ub && rqUBInt8 {
				// Whole panels: every 3 fitting rows on the VPMADDUBSW
				// tile, the others on the int8 one (ubPanelInt8).
				for ; col+I8Tile <= b.N; col += I8Tile {
					ubPanelInt8(rows, kp, a[i0*lda:], lda, w, b, r, out[i0*ldo+col:], ldo, col, fit[:rows])
				}
				if part {
					ubPanelPart(rows, kp, a[i0*lda:], lda, b, r, out[i0*ldo+col:], ldo, col)
					continue
				}
			}
			// Every 16 channels on the int8 tile.
			for ; col < full16; col += 16 {
				wb := &b.Data[col/I8Tile*kp*I8Tile+col%I8Tile*4]
				tab := &r.tab8[col/8*64]
				var pf *int8
				if next := col + 16; rqPrefetch && next < b.Np {
					pf = &b.Data[next/I8Tile*kp*I8Tile+next%I8Tile*4]
				}
				for i := 0; i < rows; i += 2 {
					gemmI8x2x16RQAVX2(kp/4, &w[i*kp], 2*kp, wb, &out[(i0+i)*ldo+col], ldo, tab, r.Double, r.ZP, r.Lo, r.Hi, pf)
					pf = nil
				}
			}
		}
		if hasRQ3x32 {
			// Whole panels on the 3x32 and 2x32 tiles.
			for ; col+I8Tile <= b.N; col += I8Tile {
				wb := &b.W16[col*kp]
				tab := &r.tab8[col/8*64]
				o := out[i0*ldo+col:]
				var pf *int16
				if rqPrefetch && col+I8Tile < b.Np {
					pf = &b.W16[(col+I8Tile)*kp]
				}
				if rqPanelRows == 2 || rqPanelRows == 0 && rows <= rq2x32Rows {
					for i := 0; i < rows; i += 2 {
						gemmI16x2x32RQAVX2(kp/2, &w[i*kp], 2*kp, wb, &o[i*ldo], ldo, tab, r.Double, r.ZP, r.Lo, r.Hi)
					}
					continue
				}
				if !rqMixRows {
					// Every 3 rows, a last tile that would run past the
					// pass overlapping the one before it (it writes the
					// same bytes again).
					for i := 0; i < rows; i += 3 {
						i = min(i, rows-3)
						gemmI16x3x32RQAVX2(kp/2, &w[i*kp], 2*kp, wb, &o[i*ldo], ldo, tab, r.Double, r.ZP, r.Lo, r.Hi, pf)
						pf = nil
					}
					continue
				}
				if ub {
					// Every 3 rows, the last 3 overlapping the tile before
					// (rows the VPMADDUBSW tile recomputes cost less than
					// a 2x32 tile's reading the W16 panel): on the
					// VPMADDUBSW tile where they fit (its first call
					// prefetching the next int8 panel), else the 3x32 one.
					var pfb *int8
					if rqPrefetch && col+I8Tile < b.Np {
						pfb = &b.Data[(col+I8Tile)*kp]
					}
					for i := 0; i < rows; i += 3 {
						i = min(i, rows-3)
						if fit[i] && fit[i+1] && fit[i+2] {
							gemmU8x3x32UBRQAVX2(kp/4, &a[(i0+i)*lda], lda, &b.Data[col*kp], &o[i*ldo], ldo, tab, r.Double, r.ZP, r.Lo, r.Hi, pfb)
							pfb = nil
							continue
						}
						gemmI16x3x32RQAVX2(kp/2, &w[i*kp], 2*kp, wb, &o[i*ldo], ldo, tab, r.Double, r.ZP, r.Lo, r.Hi, pf)
						pf = nil
					}
					continue
				}
				twos := rqTwoRowTiles(rows)
				i := 0
				for ; i < rows-2*twos; i += 3 {
					gemmI16x3x32RQAVX2(kp/2, &w[i*kp], 2*kp, wb, &o[i*ldo], ldo, tab, r.Double, r.ZP, r.Lo, r.Hi, pf)
					pf = nil
				}
				for ; i < rows; i += 2 {
					gemmI16x2x32RQAVX2(kp/2, &w[i*kp], 2*kp, wb, &o[i*ldo], ldo, tab, r.Double, r.ZP, r.Lo, r.Hi)
				}
			}
		}
		if part {
			ubPanelPart(rows, kp, a[i0*lda:], lda, b, r, out[i0*ldo+col:], ldo, col)
			continue
		}
		for ; col < full16; col += 16 {
			wb := &b.W16[col/I8Tile*kp*I8Tile+col%I8Tile*2]
			tab := &r.tab8[col/8*64]
			for i := 0; i < rows; i += 4 {
				gemmI16x4x16RQAVX2(kp/2, &w[i*kp], 2*kp, wb, &out[(i0+i)*ldo+col], ldo, tab, r.Double, r.ZP, r.Lo, r.Hi)
			}
		}
		if full16 == b.N {
			continue
		}
		wb := &b.W16[full16/I8Tile*kp*I8Tile+full16%I8Tile*2]
		if full8 := b.N / 8 * 8; full16 < full8 && hasRQ4x8 {
			tab := &r.tab8[full16/8*64]
			for i := 0; i < rows; i += 4 {
				gemmI16x4x8RQAVX2(kp/2, &w[i*kp], 2*kp, wb, &out[(i0+i)*ldo+full16], ldo, tab, r.Double, r.ZP, r.Lo, r.Hi)
			}
			if full8 == b.N {
				continue
			}
			// The last N%8 channels (fewer than a vector of the rescale).
			for i := 0; i < rows; i += 4 {
				gemmI16x4x16AVX2(kp/2, &w[i*kp], 2*kp, wb, &c[i*b.Np+full16], b.Np)
			}
			for i := 0; i < rows; i++ {
				o, acc := out[(i0+i)*ldo:], c[i*b.Np:]
				for ch := full8; ch < b.N; ch++ {
					o[ch] = r.One(acc[ch]+r.Bias[ch], ch)
				}
			}
			continue
		}
		for i := 0; i < rows; i += 4 {
			gemmI16x4x16AVX2(kp/2, &w[i*kp], 2*kp, wb, &c[i*b.Np+full16], b.Np)
		}
		r.rowsFrom(out[i0*ldo:], ldo, c, b.Np, rows, full16)
	}
	return full
}
