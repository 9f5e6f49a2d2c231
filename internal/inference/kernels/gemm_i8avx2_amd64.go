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
// broadcasts per multiply. Implemented in gemm_i8avx2_amd64.s.
//
//go:noescape
func gemmI16x3x32RQAVX2(kp int, a *uint16, lda int, b *int16, out *int8, ldo int, tab *int32, double bool, zp, lo, hi int32)

// gemmI16x2x32RQAVX2 is gemmI16x3x32RQAVX2 on 2 rows, the weights of a
// step held in registers. Implemented in gemm_i8avx2_amd64.s.
//
//go:noescape
func gemmI16x2x32RQAVX2(kp int, a *uint16, lda int, b *int16, out *int8, ldo int, tab *int32, double bool, zp, lo, hi int32)

// gemmI8x2x16RQAVX2 is the fused tile on 2 rows by 16 channels of the
// int8 weights (PackedI8.Data, b at the half panel's first byte of a
// step), k4 steps of 4 k. Implemented in gemm_i8avx2_amd64.s.
//
//go:noescape
func gemmI8x2x16RQAVX2(k4 int, a *uint16, lda int, b *int8, out *int8, ldo int, tab *int32, double bool, zp, lo, hi int32)

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
// (gemmI16x3x32RQAVX2) or 2 (gemmI16x2x32RQAVX2), for tests and
// benchmarks; 0 chooses by the pass's rows: 2 up to 32 rows (no tile
// overlaps the one before; V1's 16-row 4x4 layers ran 5-8% faster than on
// the 3-row tile, 6 tiles of which cover 18 rows), else 3 (5-10% faster
// at 64 rows), BenchmarkGemmRequantAVX2.
var rqPanelRows = 0

// hasRQ3x32 selects the 3x32 tile for whole panels (tests and benchmarks
// turn it off to run the 4x16 tile on them).
var hasRQ3x32 = true

// hasRQAVX2 selects gemmRequantAVX2 on the AVX2 path (tests and
// benchmarks turn it off to compare with the GEMM-then-Rows form).
var hasRQAVX2 = true

// gemmRequantAVX2 is GemmU8I8Requant's AVX2 path for the first m/4*4 rows
// (it returns how many it computed, 0 where it does not run: another
// path, no W16 weights, fewer than 4 rows or 16 channels). Rows are
// widened to uint16 rqAVX2Rows at a time; then, panel by panel, every 3
// rows go through the fused 3x32 tile (a last half panel of 16 channels
// through the 4x16 one), so the weights are read once per pass rather
// than once per few rows. The last N%16 channels take
// the int32 tile and Requant.rowsFrom. c is scratch of m rows of b.Np.
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
		for i := 0; i < rows; i++ {
			widenU8(w[i*kp:(i+1)*kp], a[(i0+i)*lda:][:kp])
		}
		col := 0
		if rqInt8Weights > 0 || rqInt8Weights == 0 && rows <= rqInt8Rows && 2*b.Np*kp >= rqInt8Bytes {
			// Every 16 channels on the int8 tile.
			for ; col < full16; col += 16 {
				wb := &b.Data[col/I8Tile*kp*I8Tile+col%I8Tile*4]
				tab := &r.tab8[col/8*64]
				for i := 0; i < rows; i += 2 {
					gemmI8x2x16RQAVX2(kp/4, &w[i*kp], 2*kp, wb, &out[(i0+i)*ldo+col], ldo, tab, r.Double, r.ZP, r.Lo, r.Hi)
				}
			}
		}
		if hasRQ3x32 {
			// Whole panels on the 3x32 tile; a last tile that would run
			// past the pass overlaps the one before it (it writes the same
			// bytes again).
			for ; col+I8Tile <= b.N; col += I8Tile {
				wb := &b.W16[col*kp]
				tab := &r.tab8[col/8*64]
				if rqPanelRows == 2 || rqPanelRows == 0 && rows <= 32 {
					for i := 0; i < rows; i += 2 {
						gemmI16x2x32RQAVX2(kp/2, &w[i*kp], 2*kp, wb, &out[(i0+i)*ldo+col], ldo, tab, r.Double, r.ZP, r.Lo, r.Hi)
					}
					continue
				}
				for i := 0; i < rows; i += 3 {
					i = min(i, rows-3)
					gemmI16x3x32RQAVX2(kp/2, &w[i*kp], 2*kp, wb, &out[(i0+i)*ldo+col], ldo, tab, r.Double, r.ZP, r.Lo, r.Hi)
				}
			}
		}
		for ; col < full16; col += 16 {
			wb := &b.W16[col/I8Tile*kp*I8Tile+col%I8Tile*2]
			tab := &r.tab8[col/8*64]
			for i := 0; i < rows; i += 4 {
				gemmI16x4x16RQAVX2(kp/2, &w[i*kp], 2*kp, wb, &out[(i0+i)*ldo+col], ldo, tab, r.Double, r.ZP, r.Lo, r.Hi)
			}
		}
		if full16 < b.N {
			wb := &b.W16[full16/I8Tile*kp*I8Tile+full16%I8Tile*2]
			for i := 0; i < rows; i += 4 {
				gemmI16x4x16AVX2(kp/2, &w[i*kp], 2*kp, wb, &c[i*b.Np+full16], b.Np)
			}
			r.rowsFrom(out[i0*ldo:], ldo, c, b.Np, rows, full16)
		}
	}
	return full
}
