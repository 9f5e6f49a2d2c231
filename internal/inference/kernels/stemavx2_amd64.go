//go:build amd64

package kernels

// StemColumnsAVX2Fast reports whether StemColumnsAVX2 runs a product on b
// on its AVX2 kernels (stemavx2_amd64.s, written by gen_stemavx2.go): the
// AVX2 path (no AVX-512), 27 rows of weights (a 3x3 window of three
// channels) to 16 or 32 columns.
func StemColumnsAVX2Fast(b *PackedB) bool {
	return stemAVX2 && hasAVX2FMA && !hasAVX512 && b.nr == NR && b.K == 27 && (b.N == 16 || b.N == 32)
}

// stemColumnsAVX2 runs the tiles: of 3 pixels for 32 columns, 6 for 16
// (12 YMM of sums either way), in one call; the pixels left over run as
// one more tile moved back to end at pixel m (its first pixels computed a
// second time, to the same bits), or, when m is below a tile, one by one.
func stemColumnsAVX2(m int, segs *[3][]float32, lda int, b *PackedB, act Act, c []float32) {
	hs := 0
	if act.HardSwish {
		hs = 1
	}
	rows := 6
	tile, one := stemAVX2R6x16, stemAVX2R1x16
	if b.N == 32 {
		rows = 3
		tile, one = stemAVX2R3x32, stemAVX2R1x32
	}
	w, bias := &b.panels[0], &b.bias[0]
	if m < rows {
		one(&segs[0][0], &segs[1][0], &segs[2][0], lda, w, &c[0], bias, act.Lo, act.Hi, hs, m)
		return
	}
	tile(&segs[0][0], &segs[1][0], &segs[2][0], lda, w, &c[0], bias, act.Lo, act.Hi, hs, m/rows)
	if r := m - rows; m%rows != 0 {
		tile(&segs[0][r*lda], &segs[1][r*lda], &segs[2][r*lda], lda, w, &c[r*b.N], bias, act.Lo, act.Hi, hs, 1)
	}
}

// The AVX2 stem kernels of stemavx2_amd64.s.
//
//go:noescape
func stemAVX2R3x32(a0, a1, a2 *float32, lda int, b *float32, c *float32, bias *float32, lo, hi float32, hs int, tiles int)

//go:noescape
func stemAVX2R1x32(a0, a1, a2 *float32, lda int, b *float32, c *float32, bias *float32, lo, hi float32, hs int, tiles int)

//go:noescape
func stemAVX2R6x16(a0, a1, a2 *float32, lda int, b *float32, c *float32, bias *float32, lo, hi float32, hs int, tiles int)

//go:noescape
func stemAVX2R1x16(a0, a1, a2 *float32, lda int, b *float32, c *float32, bias *float32, lo, hi float32, hs int, tiles int)
