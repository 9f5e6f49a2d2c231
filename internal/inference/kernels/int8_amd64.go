//go:build amd64

package kernels

import "golang.org/x/sys/cpu"

// hasVNNI512 adds AVX-512 VNNI (VPDPBUSD) and BW to hasAVX512, which
// CSPIPE_KERNELS may turn off.
var hasVNNI512 = cpu.X86.HasAVX512VNNI && cpu.X86.HasAVX512BW

// gemmI8x4x32 computes a 4x32 int32 tile: c[r][j] = sum over k4 groups of 4
// bytes of a (rows lda bytes apart, unsigned) times one packed panel
// (signed). Implemented in int8_amd64.s.
//
//go:noescape
func gemmI8x4x32(k4 int, a *uint8, lda int, b *int8, c *int32, ldc int)

// gemmI16x4x16AVX2 is the AVX2 tile: 4 rows (widened to uint16) by 16
// channels of the int16 weights.
//
//go:noescape
func gemmI16x4x16AVX2(kp int, a *uint16, lda int, b *int16, c *int32, ldc int)

// widenU8AVX2 zero-extends n bytes (a multiple of 16) to uint16.
//
//go:noescape
func widenU8AVX2(n int, src *uint8, dst *uint16)

// gemmI8x1x32AVX2 is the one-row tile over a whole int8 panel, which
// prefetches the weights ahead bytes past those it reads (0: none ahead).
//
//go:noescape
func gemmI8x1x32AVX2(k4 int, a *uint8, b *int8, c *int32, ahead int)

// rowAhead is how many bytes ahead of its weights the one-row tile
// prefetches: a batch-1 classifier reads its weights (1 MB for 1024 by
// 1001) once an image from memory, one stream the hardware prefetcher
// alone kept at 6-7 GB/s here (Zen 3). 1, 2, 4 and 8 KiB ran V1's
// classifier shape on cold weights 1.10-1.26x faster, alike within the
// noise (BenchmarkGemmRequantAVX2Cold). 0 (for benchmarks) turns it off.
var rowAhead = 4096

// gemmU8I8AVX2 runs blocks of four rows: each block's activations are
// widened to uint16 once, then every 16 channels of b.W16 go through the
// 4x16 tile. The last m%4 rows (and a batch-1 classifier's one row) take
// the one-row tile on the int8 panels, so no zero rows are multiplied.
func gemmU8I8AVX2(m int, a []uint8, lda int, b *PackedI8, c []int32, ldc int) {
	if b.W16 == nil {
		panic("kernels: GemmU8I8 on the AVX2 path with weights packed for another")
	}
	kp := b.Kp
	full := m / 4 * 4
	if full > 0 {
		gemmU8I8AVX2Blocks(full, a, lda, b, c, ldc)
	}
	for i := full; i < m; i++ {
		for p := 0; p < b.Np/I8Tile; p++ {
			gemmI8x1x32AVX2(kp/4, &a[i*lda], &b.Data[p*kp*I8Tile], &c[i*ldc+p*I8Tile], rowAhead)
		}
	}
}

// gemmU8I8AVX2Blocks computes rows [0, full), full a multiple of four (its
// own function so that a one-row call does not clear the widened block's
// stack buffer).
func gemmU8I8AVX2Blocks(full int, a []uint8, lda int, b *PackedI8, c []int32, ldc int) {
	kp := b.Kp
	var bufA [4 * 2048]uint16
	var buf []uint16
	if 4*kp <= len(bufA) {
		buf = bufA[:4*kp]
	} else {
		buf = make([]uint16, 4*kp)
	}
	for i := 0; i < full; i += 4 {
		for r := 0; r < 4; r++ {
			widenU8(buf[r*kp:(r+1)*kp], a[(i+r)*lda:(i+r)*lda+kp])
		}
		for p := 0; p < b.Np/I8Tile; p++ {
			for h := 0; h < 2; h++ {
				col := p*I8Tile + h*16
				gemmI16x4x16AVX2(kp/2, &buf[0], 2*kp, &b.W16[p*kp*I8Tile+h*32], &c[i*ldc+col], ldc)
			}
		}
	}
}

// widenRowsU8AVX2 zero-extends rows rows of kp bytes (kp a positive
// multiple of 4), lda bytes apart in src, into rows of kp uint16s one
// after the other at dst. Implemented in int8_amd64.s.
//
//go:noescape
func widenRowsU8AVX2(rows, kp int, src *uint8, lda int, dst *uint16)

// widenRowsU8 zero-extends rows rows of kp bytes, lda apart in src, into
// dst (rows*kp uint16s, row after row): one call for all the rows rather
// than one per row (V2's expansions widen rows of 16 to 32 bytes, where
// the calls cost as much as the widening).
func widenRowsU8(dst []uint16, src []uint8, rows, kp, lda int) {
	if rows <= 0 || kp <= 0 {
		return
	}
	if kp%4 != 0 || len(dst) < rows*kp || lda < kp || len(src) < (rows-1)*lda+kp {
		panic("kernels: widenRowsU8 arguments out of range")
	}
	widenRowsU8AVX2(rows, kp, &src[0], lda, &dst[0])
}

// widenU8 zero-extends src into dst (equal lengths, a multiple of 4).
func widenU8(dst []uint16, src []uint8) {
	n := len(src) / 16 * 16
	if n > 0 {
		widenU8AVX2(n, &src[0], &dst[0])
	}
	for j := n; j < len(src); j++ {
		dst[j] = uint16(src[j])
	}
}

// gemmI8x1x32 is the one-row form (four k steps in flight).
//
//go:noescape
func gemmI8x1x32(k4 int, a *uint8, b *int8, c *int32)

// gemmI8x8x32 is the 8-row form of gemmI8x4x32.
//
//go:noescape
func gemmI8x8x32(k4 int, a *uint8, lda int, b *int8, c *int32, ldc int)

func gemmU8I8VNNI(m int, a []uint8, lda int, b *PackedI8, c []int32, ldc int) {
	gemmU8I8VNNIPanels(m, a, lda, b, 0, b.Np/I8Tile, c, ldc)
}

// gemmU8I8VNNIPanels computes the columns of panels [p0, p1).
func gemmU8I8VNNIPanels(m int, a []uint8, lda int, b *PackedI8, p0, p1 int, c []int32, ldc int) {
	k4 := b.Kp / 4
	full8 := m / 8 * 8
	full := m / I8Rows * I8Rows
	var tailA [I8Rows * 1024]uint8
	var tail []uint8
	if m-full <= 2 {
		// One or two rows left: the one-row kernel, no padding.
		for p := p0; p < p1; p++ {
			panel := &b.Data[p*b.Kp*I8Tile]
			for r := full; r < m; r++ {
				gemmI8x1x32(k4, &a[r*lda], panel, &c[r*ldc+p*I8Tile])
			}
		}
		m = full
	}
	if full < m {
		// Copy the last rows into a full tile of zero rows.
		if I8Rows*b.Kp <= len(tailA) {
			tail = tailA[:I8Rows*b.Kp]
		} else {
			tail = make([]uint8, I8Rows*b.Kp)
		}
		clear(tail)
		for r := full; r < m; r++ {
			copy(tail[(r-full)*b.Kp:(r-full+1)*b.Kp], a[r*lda:])
		}
	}
	var tile [I8Rows * I8Tile]int32
	// Panel by panel, so one panel of weights (Kp*32 bytes) stays in cache
	// while the rows stream past it.
	for p := p0; p < p1; p++ {
		panel := &b.Data[p*b.Kp*I8Tile]
		for i := 0; i < full8; i += 8 {
			gemmI8x8x32(k4, &a[i*lda], lda, panel, &c[i*ldc+p*I8Tile], ldc)
		}
		if full > full8 {
			gemmI8x4x32(k4, &a[full8*lda], lda, panel, &c[full8*ldc+p*I8Tile], ldc)
		}
		if tail != nil {
			gemmI8x4x32(k4, &tail[0], b.Kp, panel, &tile[0], I8Tile)
			for r := full; r < m; r++ {
				copy(c[r*ldc+p*I8Tile:][:I8Tile], tile[(r-full)*I8Tile:(r-full+1)*I8Tile])
			}
		}
	}
}
