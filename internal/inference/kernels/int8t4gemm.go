package kernels

// The expansion GEMM writing rows in T4 form.
//
// In a fused int8 block the expanded rows were written as int8 pixels and
// then put in T4 form by T4Row: one more pass over every expanded row.
// GemmU8I8RequantT4 writes the GEMM's 8-row tiles straight into T4 form:
// four rescaled pixels of 16 channels become one 64-byte group by three
// shifts and two ORs, in place of the tile's pack and permute.

// UnsignedRequant returns r with outputs written as x+128 (the zero point
// and clamp moved by 128): the rescale GemmU8I8RequantT4 takes.
func UnsignedRequant(r *Requant) *Requant { return unsignedOut(r) }

// HasGemmT4 reports whether GemmU8I8RequantT4 runs b with r here: the T4
// kernels' CPU features, whole groups of 16 channels, r single-rounded in
// tabF's form with a clamp within 0..255.
func HasGemmT4(b *PackedI8, r *Requant) bool {
	return t4Ok() && b != nil && r != nil && r.tabF != nil && !r.Double && r.C == b.N && b.N%16 == 0 &&
		r.Lo >= 0 && r.Hi <= 255 && b.Kp%4 == 0
}

// GemmU8I8RequantT4 computes the pixels [first, first+n) of a row of a
// 1x1 convolution into dst in T4 form (T4Row's layout with b.N channels,
// the bytes x+128 of r, an UnsignedRequant). a holds one row of b.Kp
// unsigned bytes per pixel of the padded row, lda apart, from pixel 0 to
// the next multiple of 8 past first+n: the rows outside [first, first+n)
// are read but their outputs are not stored, so dst keeps what it held
// there (the padding). dst must hold the groups of those multiples of 8.
// It reports false, doing nothing, where HasGemmT4 does not hold.
func GemmU8I8RequantT4(a []uint8, lda int, b *PackedI8, r *Requant, first, n int, dst []uint8) bool {
	if n <= 0 {
		return true
	}
	if !HasGemmT4(b, r) {
		return false
	}
	tiles := (first + n + 7) / 8
	gb := 4 * b.N
	if first < 0 || lda < b.Kp || len(a) < (8*tiles-1)*lda+b.Kp || len(dst) < 2*tiles*gb {
		panic("kernels: GemmU8I8RequantT4 arguments out of range")
	}
	k4 := b.Kp / 4
	full := 0 // the kernel's mode bit 1: the clamp is all of 0..255
	if r.Lo == 0 && r.Hi == 255 {
		full = 2
	}
	for p := 0; p*I8Tile < b.N; p++ {
		mode := full
		if b.N-p*I8Tile > 16 {
			mode |= 1
		}
		panel, tab := &b.Data[p*b.Kp*I8Tile], &r.tabF[p*2*128]
		for t := 0; t < tiles; t++ {
			// The tile's pixels in the row, one bit each; a group's byte
			// mask repeats its four bits in every nibble.
			lo, hi := min(max(first-8*t, 0), 8), min(max(first+n-8*t, 0), 8)
			bits := uint64(1)<<hi - uint64(1)<<lo
			gemmT4Vec(k4, &a[8*t*lda], lda, panel, &dst[2*t*gb+p*128], gb, tab, r.Lo, r.Hi,
				0x1111111111111111*(bits&15), 0x1111111111111111*(bits>>4), mode)
		}
	}
	return true
}
