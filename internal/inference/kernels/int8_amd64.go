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

func gemmU8I8VNNI(m int, a []uint8, lda int, b *PackedI8, c []int32, ldc int) {
	k4 := b.Kp / 4
	var tailA []uint8
	var tile [I8Rows * I8Tile]int32
	for i := 0; i < m; i += I8Rows {
		rows := min(I8Rows, m-i)
		ap, ld := a[i*lda:], lda
		if rows < I8Rows {
			// Copy the last rows into a full tile of zero rows.
			if tailA == nil {
				tailA = make([]uint8, I8Rows*b.Kp)
			}
			clear(tailA)
			for r := 0; r < rows; r++ {
				copy(tailA[r*b.Kp:(r+1)*b.Kp], a[(i+r)*lda:])
			}
			ap, ld = tailA, b.Kp
		}
		for p := 0; p < b.Np/I8Tile; p++ {
			panel := &b.Data[p*b.Kp*I8Tile]
			if rows == I8Rows {
				gemmI8x4x32(k4, &ap[0], ld, panel, &c[i*ldc+p*I8Tile], ldc)
				continue
			}
			gemmI8x4x32(k4, &ap[0], ld, panel, &tile[0], I8Tile)
			for r := 0; r < rows; r++ {
				copy(c[(i+r)*ldc+p*I8Tile:][:I8Tile], tile[r*I8Tile:(r+1)*I8Tile])
			}
		}
	}
}
