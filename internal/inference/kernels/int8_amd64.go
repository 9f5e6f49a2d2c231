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

// gemmI8x2x16AVX2 is the AVX2 tile: 2 rows by 16 channels.
//
//go:noescape
func gemmI8x2x16AVX2(k4 int, a *uint8, lda int, b *int8, c *int32, ldc int)

func gemmU8I8AVX2(m int, a []uint8, lda int, b *PackedI8, c []int32, ldc int) {
	k4 := b.Kp / 4
	full := m / 2 * 2
	var tailA [2 * 1024]uint8
	var tail []uint8
	if full < m {
		if 2*b.Kp <= len(tailA) {
			tail = tailA[:2*b.Kp]
		} else {
			tail = make([]uint8, 2*b.Kp)
		}
		clear(tail)
		copy(tail[:b.Kp], a[full*lda:])
	}
	var tile [2 * 16]int32
	for p := 0; p < b.Np/I8Tile; p++ {
		for h := 0; h < 2; h++ {
			panel := &b.Data[p*b.Kp*I8Tile+h*64]
			col := p*I8Tile + h*16
			for i := 0; i < full; i += 2 {
				gemmI8x2x16AVX2(k4, &a[i*lda], lda, panel, &c[i*ldc+col], ldc)
			}
			if tail != nil {
				gemmI8x2x16AVX2(k4, &tail[0], b.Kp, panel, &tile[0], 16)
				copy(c[full*ldc+col:][:16], tile[:16])
			}
		}
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
