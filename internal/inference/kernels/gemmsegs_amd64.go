//go:build amd64

package kernels

import "math"

// GemmSegsFast reports whether GemmSegs runs a product with n columns
// (packed by PackB) on the banded AVX-512 tiles: 32-column panels, every
// panel whole, or one 16-column panel (three segments only). Otherwise it
// copies the segments together for the other kernels, and a caller is
// better off with a copy of its own.
func GemmSegsFast(n int) bool {
	return hasAVX512 && bandedGemm && (n > NR && n%NR512 == 0 || n == NR && gemmSegs16)
}

// gemmSegs16 lets GemmSegs run one 16-column panel in three segments on
// the gemmS*x16 kernels (tests and benchmarks switch it off to compare
// with the column-window stem).
var gemmSegs16 = true

// segs16Fast reports whether gemmSegs512x16 takes a product of len(a)
// segments on b.
func segs16Fast(a [][]float32, b *PackedB) bool {
	return (len(a) == 3 || len(a) == 1) && b.nr == NR && b.N == NR && GemmSegsFast(b.N)
}

// gemmSegs512x16 is gemmSegs512 for a single 16-column panel in three
// segments (gemmS*x16) or one (gemmP*x16, a plain A): row tiles of 24, 16,
// 8, 4, 2 or 1 rows, the largest that fits m; the last tile is moved back
// to end at row m, computing a few rows a second time (to the same values)
// rather than running smaller tiles.
func gemmSegs512x16(m int, a [][]float32, lda int, b *PackedB, act Act, c []float32, ldc int) {
	if len(a) == 1 {
		gemmPlain512x16(m, a[0], lda, b, act, c, ldc)
		return
	}
	ks := b.K / 3
	hs, h := seg16Tile(m, act)
	bp, init := &b.panels[0], &b.bias[0]
	for r := 0; r < m; r += h {
		r0 := min(r, m-h)
		a0, a1, a2, cp := &a[0][r0*lda], &a[1][r0*lda], &a[2][r0*lda], &c[r0*ldc]
		switch h {
		case 24:
			gemmS24x16(ks, a0, lda, bp, cp, ldc, init, 0, a1, a2, act.Lo, act.Hi, hs, nil, 0)
		case 16:
			gemmS16x16(ks, a0, lda, bp, cp, ldc, init, 0, a1, a2, act.Lo, act.Hi, hs, nil, 0)
		case 8:
			gemmS8x16(ks, a0, lda, bp, cp, ldc, init, 0, a1, a2, act.Lo, act.Hi, hs, nil, 0)
		case 4:
			gemmS4x16(ks, a0, lda, bp, cp, ldc, init, 0, a1, a2, act.Lo, act.Hi, hs, nil, 0)
		case 2:
			gemmS2x16(ks, a0, lda, bp, cp, ldc, init, 0, a1, a2, act.Lo, act.Hi, hs, nil, 0)
		default:
			gemmS1x16(ks, a0, lda, bp, cp, ldc, init, 0, a1, a2, act.Lo, act.Hi, hs, nil, 0)
		}
	}
}

// seg16Tile gives the 16-column tiles' HARD_SWISH flag for act and the
// tile height for m rows: the tallest of seg16Heights that fits.
func seg16Tile(m int, act Act) (hs, h int) {
	if act.HardSwish {
		hs = 1
	}
	h = 1
	for _, t := range seg16Heights {
		if t <= m {
			return hs, t
		}
	}
	return hs, h
}

// gemmPlain512x16 is gemmSegs512x16 for one segment.
func gemmPlain512x16(m int, a []float32, lda int, b *PackedB, act Act, c []float32, ldc int) {
	hs, h := seg16Tile(m, act)
	bp, init := &b.panels[0], &b.bias[0]
	for r := 0; r < m; r += h {
		r0 := min(r, m-h)
		a0, cp := &a[r0*lda], &c[r0*ldc]
		switch h {
		case 24:
			gemmP24x16(b.K, a0, lda, bp, cp, ldc, init, 0, nil, nil, act.Lo, act.Hi, hs, nil, 0)
		case 16:
			gemmP16x16(b.K, a0, lda, bp, cp, ldc, init, 0, nil, nil, act.Lo, act.Hi, hs, nil, 0)
		case 8:
			gemmP8x16(b.K, a0, lda, bp, cp, ldc, init, 0, nil, nil, act.Lo, act.Hi, hs, nil, 0)
		case 4:
			gemmP4x16(b.K, a0, lda, bp, cp, ldc, init, 0, nil, nil, act.Lo, act.Hi, hs, nil, 0)
		case 2:
			gemmP2x16(b.K, a0, lda, bp, cp, ldc, init, 0, nil, nil, act.Lo, act.Hi, hs, nil, 0)
		default:
			gemmP1x16(b.K, a0, lda, bp, cp, ldc, init, 0, nil, nil, act.Lo, act.Hi, hs, nil, 0)
		}
	}
}

// seg16Heights are the gemmS*x16 kernels' row counts, largest first (as
// gen_gemmband.go's seg16Rows).
var seg16Heights = [...]int{24, 16, 8, 4, 2, 1}

// gemmSegs512 runs each row tile over the segments in turn: three in one
// call of a gemmS kernel, other counts one call each, the partial sums
// carried in c (the tile's rows stay in L1 between the calls) and the
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
			if len(a) == 3 {
				bp := &b.panels[p*b.K*nr]
				tileS(rows, ks, &a[0][r*lda], &a[1][r*lda], &a[2][r*lda], lda, bp, cp, ldc, &b.bias[n0], act.Lo, act.Hi, hs)
				r += rows
				continue
			}
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
				tileB(rows, ks, &as[r*lda], lda, bp, cp, ldc, init, ldi, bp, 0, lo, hi, h, nil, 0, nr)
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

// tileS calls the three-segment micro-kernel for 13, 12, 8, 4 or 1 rows,
// its sums starting from the bias row init.
func tileS(rows, k int, a0, a1, a2 *float32, lda int, b, c *float32, ldc int, init *float32, lo, hi float32, hs int) {
	switch rows {
	case 13:
		gemmS13x32(k, a0, lda, b, c, ldc, init, 0, a1, a2, lo, hi, hs, nil, 0)
	case 12:
		gemmS12x32(k, a0, lda, b, c, ldc, init, 0, a1, a2, lo, hi, hs, nil, 0)
	case 8:
		gemmS8x32(k, a0, lda, b, c, ldc, init, 0, a1, a2, lo, hi, hs, nil, 0)
	case 4:
		gemmS4x32(k, a0, lda, b, c, ldc, init, 0, a1, a2, lo, hi, hs, nil, 0)
	default:
		gemmS1x32(k, a0, lda, b, c, ldc, init, 0, a1, a2, lo, hi, hs, nil, 0)
	}
}

// The three-segment micro-kernels of gemmband_amd64.s (generated by
// gen_gemmband.go).
//
//go:noescape
func gemmS13x32(k int, a *float32, lda int, b *float32, c *float32, ldc int, init *float32, ldi int, a1 *float32, a2 *float32, lo, hi float32, hs int, res *float32, ldr int)

//go:noescape
func gemmS12x32(k int, a *float32, lda int, b *float32, c *float32, ldc int, init *float32, ldi int, a1 *float32, a2 *float32, lo, hi float32, hs int, res *float32, ldr int)

//go:noescape
func gemmS8x32(k int, a *float32, lda int, b *float32, c *float32, ldc int, init *float32, ldi int, a1 *float32, a2 *float32, lo, hi float32, hs int, res *float32, ldr int)

//go:noescape
func gemmS4x32(k int, a *float32, lda int, b *float32, c *float32, ldc int, init *float32, ldi int, a1 *float32, a2 *float32, lo, hi float32, hs int, res *float32, ldr int)

//go:noescape
func gemmS1x32(k int, a *float32, lda int, b *float32, c *float32, ldc int, init *float32, ldi int, a1 *float32, a2 *float32, lo, hi float32, hs int, res *float32, ldr int)

//go:noescape
func gemmS24x16(k int, a *float32, lda int, b *float32, c *float32, ldc int, init *float32, ldi int, a1 *float32, a2 *float32, lo, hi float32, hs int, res *float32, ldr int)

//go:noescape
func gemmS16x16(k int, a *float32, lda int, b *float32, c *float32, ldc int, init *float32, ldi int, a1 *float32, a2 *float32, lo, hi float32, hs int, res *float32, ldr int)

//go:noescape
func gemmS8x16(k int, a *float32, lda int, b *float32, c *float32, ldc int, init *float32, ldi int, a1 *float32, a2 *float32, lo, hi float32, hs int, res *float32, ldr int)

//go:noescape
func gemmS4x16(k int, a *float32, lda int, b *float32, c *float32, ldc int, init *float32, ldi int, a1 *float32, a2 *float32, lo, hi float32, hs int, res *float32, ldr int)

//go:noescape
func gemmS2x16(k int, a *float32, lda int, b *float32, c *float32, ldc int, init *float32, ldi int, a1 *float32, a2 *float32, lo, hi float32, hs int, res *float32, ldr int)

//go:noescape
func gemmS1x16(k int, a *float32, lda int, b *float32, c *float32, ldc int, init *float32, ldi int, a1 *float32, a2 *float32, lo, hi float32, hs int, res *float32, ldr int)

//go:noescape
func gemmP24x16(k int, a *float32, lda int, b *float32, c *float32, ldc int, init *float32, ldi int, a1 *float32, a2 *float32, lo, hi float32, hs int, res *float32, ldr int)

//go:noescape
func gemmP16x16(k int, a *float32, lda int, b *float32, c *float32, ldc int, init *float32, ldi int, a1 *float32, a2 *float32, lo, hi float32, hs int, res *float32, ldr int)

//go:noescape
func gemmP8x16(k int, a *float32, lda int, b *float32, c *float32, ldc int, init *float32, ldi int, a1 *float32, a2 *float32, lo, hi float32, hs int, res *float32, ldr int)

//go:noescape
func gemmP4x16(k int, a *float32, lda int, b *float32, c *float32, ldc int, init *float32, ldi int, a1 *float32, a2 *float32, lo, hi float32, hs int, res *float32, ldr int)

//go:noescape
func gemmP2x16(k int, a *float32, lda int, b *float32, c *float32, ldc int, init *float32, ldi int, a1 *float32, a2 *float32, lo, hi float32, hs int, res *float32, ldr int)

//go:noescape
func gemmP1x16(k int, a *float32, lda int, b *float32, c *float32, ldc int, init *float32, ldi int, a1 *float32, a2 *float32, lo, hi float32, hs int, res *float32, ldr int)
