package jpegdec

// The integer inverse DCT of libjpeg's default "islow" method (the Loeffler–Ligtenberg–
// Moschytz factorisation with 13-bit fixed-point constants and two extra bits kept between the
// passes), so that ModeLibjpeg reproduces libjpeg's pixels exactly.

const (
	islowConstBits = 13
	islowPass1Bits = 2
)

// Fixed-point constants: round(c · 2^13).
const (
	fix0298631336 = 2446
	fix0390180644 = 3196
	fix0541196100 = 4433
	fix0765366865 = 6270
	fix0899976223 = 7373
	fix1175875602 = 9633
	fix1501321110 = 12299
	fix1847759065 = 15137
	fix1961570560 = 16069
	fix2053119869 = 16819
	fix2562915447 = 20995
	fix3072711026 = 25172
)

// islow1D is one 8-point pass on x[0], x[s], …, x[7s]; it returns the eight outputs before
// descaling (scaled by 2^13 relative to the input).
func islow1D(i0, i1, i2, i3, i4, i5, i6, i7 int64) (o [8]int64) {
	// Even part.
	z1 := (i2 + i6) * fix0541196100
	tmp2 := z1 - i6*fix1847759065
	tmp3 := z1 + i2*fix0765366865
	tmp0 := (i0 + i4) << islowConstBits
	tmp1 := (i0 - i4) << islowConstBits
	t10, t13 := tmp0+tmp3, tmp0-tmp3
	t11, t12 := tmp1+tmp2, tmp1-tmp2
	// Odd part.
	a0, a1, a2, a3 := i7, i5, i3, i1
	z1 = a0 + a3
	z2 := a1 + a2
	z3 := a0 + a2
	z4 := a1 + a3
	z5 := (z3 + z4) * fix1175875602
	a0 *= fix0298631336
	a1 *= fix2053119869
	a2 *= fix3072711026
	a3 *= fix1501321110
	z1 *= -fix0899976223
	z2 *= -fix2562915447
	z3 = z3*-fix1961570560 + z5
	z4 = z4*-fix0390180644 + z5
	a0 += z1 + z3
	a1 += z2 + z4
	a2 += z2 + z3
	a3 += z1 + z4
	return [8]int64{t10 + a3, t11 + a2, t12 + a1, t13 + a0, t13 - a0, t12 - a1, t11 - a2, t10 - a3}
}

// islowMat[y][v] is output y of islow1D for a unit input at frequency v: one 1-D pass is
// exactly out[y] = Σ_v islowMat[y][v]·in[v], since the butterfly only multiplies by integer
// constants and adds.
var islowMat = func() (m [8][8]int64) {
	for v := range 8 {
		var in [8]int64
		in[v] = 1
		o := islow1D(in[0], in[1], in[2], in[3], in[4], in[5], in[6], in[7])
		for y := range 8 {
			m[y][v] = o[y]
		}
	}
	return m
}()

func descale(x int64, n uint) int64 { return (x + 1<<(n-1)) >> n }

func clamp8(v int64) uint8 { return uint8(min(max(v, 0), 255)) }

// libjpeg's YCbCr→RGB: 16-bit fixed-point factors, red and blue rounded per chroma value, green
// from the sum of two scaled terms.
func ycbcrToRGBLibjpeg(y, cb, cr uint8) (uint8, uint8, uint8) {
	// round(f·2^16) of 1.40200, 0.34414, 0.71414 and 1.77200.
	const half, fr, fgb, fgr, fb = 1 << 15, 91881, 22554, 46802, 116130
	b, r := int64(cb)-128, int64(cr)-128
	yy := int64(y)
	red := yy + (fr*r+half)>>16
	green := yy + ((-fgb*b + half - fgr*r) >> 16)
	blue := yy + (fb*b+half)>>16
	return clamp8(red), clamp8(green), clamp8(blue)
}
