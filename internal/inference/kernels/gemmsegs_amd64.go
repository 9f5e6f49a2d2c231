//go:build amd64

package kernels

import "math"

// GemmSegsFast reports whether GemmSegs runs a product with n columns
// (packed by PackB) on the banded AVX-512 tiles: 32-column panels, every
// panel whole. Otherwise it copies the segments together for the other
// kernels, and a caller is better off with a copy of its own.
func GemmSegsFast(n int) bool {
	return hasAVX512 && bandedGemm && n > NR && n%NR512 == 0
}

// gemmSegs512 runs each row tile over the segments in turn, the partial
// sums carried in c (the tile's rows stay in L1 between the calls) and the
// bounds and HARD_SWISH applied by the last segment's call.
func gemmSegs512(m int, a [][]float32, lda int, b *PackedB, act Act, c []float32, ldc int) {
	const nr = NR512
	ks := b.K / len(a)
	inf := float32(math.Inf(1))
	hs := 0
	if act.HardSwish {
		hs = 1
	}
	for p := 0; p < b.Panels(); p++ {
		n0 := p * nr
		for r := 0; r < m; {
			rows := segTileRows(m - r)
			cp := &c[r*ldc+n0]
			for s, as := range a {
				init, ldi := &b.bias[n0], 0
				if s > 0 {
					init, ldi = cp, ldc
				}
				lo, hi, h := -inf, inf, 0
				if s == len(a)-1 {
					lo, hi, h = act.Lo, act.Hi, hs
				}
				bp := &b.panels[(p*b.K+s*ks)*nr]
				tileB(rows, ks, &as[r*lda], lda, bp, cp, ldc, init, ldi, bp, 0, lo, hi, h, nil, 0)
			}
			r += rows
		}
	}
}

// segTileRows is tileRows with 13-row tiles taking up a remainder of up to
// one row per 12-row tile: the stem's 63 pixels with whole windows run as
// 13, 13, 13, 12, 12 rather than five tiles of 12 and three of one row,
// which with K split in three short segments cost a quarter of the time.
func segTileRows(r int) int {
	if r%12 != 0 && r%12 <= r/12 {
		return 13
	}
	return tileRows(r)
}
