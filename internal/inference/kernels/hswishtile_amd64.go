//go:build amd64

package kernels

// hardSwishTile is HARD_SWISH over the first cols floats of rows rows, ld
// floats apart, from c[0], in one call on the AVX2 path (not with
// AVX-512, whose HardSwish divides differently): the GEMM tiles' epilogue
// (hardSwishRows) called HardSwish once per row of 16 floats, and the call
// cost more than the arithmetic. Every float goes through hardSwishAVX2's
// instructions, or HardSwish's scalar loop for a row's last cols%8, so the
// results are HardSwish's bit for bit. It reports whether it ran.
func hardSwishTile(c []float32, ld, rows, cols int) bool {
	if !hsTile || !hasAVX2FMA || hasAVX512 || cols < 8 || rows <= 0 {
		return false
	}
	_ = c[(rows-1)*ld+cols-1]
	n := cols &^ 7
	hardSwishTileAVX2(&c[0], ld, rows, n)
	if n < cols {
		for i := 0; i < rows; i++ {
			row := c[i*ld+n : i*ld+cols]
			for j, x := range row {
				row[j] = x * min(max(x+3, 0), 6) / 6
			}
		}
	}
	return true
}

// hardSwishTileAVX2 applies hardSwishAVX2's sequence to the first n floats
// (a multiple of 8) of rows rows, ld floats apart. Implemented in
// hswishtile_amd64.s.
//
//go:noescape
func hardSwishTileAVX2(p *float32, ld, rows, n int)
