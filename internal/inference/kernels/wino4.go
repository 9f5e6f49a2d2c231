package kernels

// Winograd F(4×4, 3×3): tiles of 4×4 output pixels from 6×6 input pixels,
// 36 positions, 36/16 = 2.25 multiply-adds per output pixel and channel
// pair against F(2×2, 3×3)'s 4 and the direct convolution's 9, with
// larger transform coefficients and so a larger rounding error:
//
//	Bᵀ = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//	G  = [¼ 0 0; -⅙ -⅙ -⅙; -⅙ ⅙ -⅙; 1/24 1/12 ⅙; 1/24 -1/12 ⅙; 0 0 1]
//	Aᵀ = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
//
// The SIMD transforms take each row of the tile through the 1-D transform
// into a scratch of 36 vectors, then each column; multiplications by 2, 4
// and 8 are fused (exact products), by 5 rounded on their own, so the
// portable loop, doing the same operations, gives the same bits.

// Wino4Tile, Wino4Out and Wino4Pos are F(4×4, 3×3)'s input tile side,
// output tile side and number of positions; Wino4Scratch is the floats of
// scratch the transforms take.
const (
	Wino4Tile    = 6
	Wino4Out     = 4
	Wino4Pos     = Wino4Tile * Wino4Tile
	Wino4Scratch = Wino4Pos * 16
)

// Wino4Filter is WinoFilter for F(4×4, 3×3): position p = 6*a+b holds
// U[a][b] as a Cin×Cout matrix.
func Wino4Filter(filter []float32, cout, cin int) [Wino4Pos]*PackedB {
	g := [6][3]float64{{1.0 / 4, 0, 0}, {-1.0 / 6, -1.0 / 6, -1.0 / 6}, {-1.0 / 6, 1.0 / 6, -1.0 / 6},
		{1.0 / 24, 1.0 / 12, 1.0 / 6}, {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1}}
	var w [Wino4Pos][]float32
	for p := range w {
		w[p] = make([]float32, cout*cin)
	}
	for o := 0; o < cout; o++ {
		for ci := 0; ci < cin; ci++ {
			var t [6][3]float64
			for a := 0; a < 6; a++ {
				for kx := 0; kx < 3; kx++ {
					for ky := 0; ky < 3; ky++ {
						t[a][kx] += g[a][ky] * float64(filter[((o*3+ky)*3+kx)*cin+ci])
					}
				}
			}
			for a := 0; a < 6; a++ {
				for b := 0; b < 6; b++ {
					w[a*6+b][o*cin+ci] = float32(t[a][0]*g[b][0] + t[a][1]*g[b][1] + t[a][2]*g[b][2])
				}
			}
		}
	}
	var pb [Wino4Pos]*PackedB
	for p := range pb {
		pb[p] = PackB(w[p], cout, cin, nil)
	}
	return pb
}

// wino4In is the 1-D input transform Bᵀ d, in the assembly's order.
func wino4In(d [6]float32) [6]float32 {
	o0 := (4*d[0] + d[4]) - float32(5*d[2])
	o1 := (d[3] + d[4]) - 4*(d[1]+d[2])
	o2 := (d[4] - d[3]) + 4*(d[1]-d[2])
	e, f := d[4]-d[2], d[3]-d[1]
	o3 := e + 2*f
	o4 := e - 2*f
	o5 := (4*d[1] + d[5]) - float32(5*d[3])
	return [6]float32{o0, o1, o2, o3, o4, o5}
}

// wino4Out is the 1-D output transform Aᵀ m, in the assembly's order.
func wino4Out(m [6]float32) [4]float32 {
	a, b, c, d := m[1]+m[2], m[1]-m[2], m[3]+m[4], m[3]-m[4]
	return [4]float32{(m[0] + a) + c, b + 2*d, a + 4*c, (b + 8*d) + m[5]}
}

// Wino4Input transforms one 6×6 input tile of c channels (pixel (i, j) at
// src[i*rs+j*cs]) into position p at dst[p*ld:][:c]; scratch holds
// Wino4Scratch floats.
func Wino4Input(dst []float32, ld int, src []float32, rs, cs, c int, scratch []float32) {
	if c <= 0 {
		return
	}
	if len(src) < 5*rs+5*cs+c || len(dst) < (Wino4Pos-1)*ld+c || ld < c || len(scratch) < Wino4Scratch {
		panic("kernels: Winograd input tile shorter than its shape")
	}
	done := 0
	switch {
	case hasAVX512 && c >= 16:
		done = c &^ 15
		wino4InputAVX512(&dst[0], ld*4, &src[0], rs*4, cs*4, done, &scratch[0])
	case hasAVX2FMA && c >= 8:
		done = c &^ 7
		wino4InputAVX2(&dst[0], ld*4, &src[0], rs*4, cs*4, done, &scratch[0])
	}
	for j := done; j < c; j++ {
		var t [6][6]float32
		for i := 0; i < 6; i++ {
			var d [6]float32
			for k := range d {
				d[k] = src[i*rs+k*cs+j]
			}
			t[i] = wino4In(d)
		}
		for b := 0; b < 6; b++ {
			o := wino4In([6]float32{t[0][b], t[1][b], t[2][b], t[3][b], t[4][b], t[5][b]})
			for a := 0; a < 6; a++ {
				dst[(a*6+b)*ld+j] = o[a]
			}
		}
	}
}

// Wino4Output folds one tile's 36 positions (m[p*ld:][:c]) into its 4×4
// output pixels, pixel (i, j) at out[i*rs+j*c:][:c], adding bias and
// clamping to [lo, hi]; scratch holds Wino4Scratch floats.
func Wino4Output(out []float32, rs int, m []float32, ld int, bias []float32, c int, lo, hi float32, scratch []float32) {
	if c <= 0 {
		return
	}
	if len(m) < (Wino4Pos-1)*ld+c || len(out) < 3*rs+4*c || len(bias) < c || ld < c || len(scratch) < Wino4Scratch {
		panic("kernels: Winograd output tile shorter than its shape")
	}
	done := 0
	switch {
	case hasAVX512 && c >= 16:
		done = c &^ 15
		wino4OutputAVX512(&out[0], rs*4, c*4, &m[0], ld*4, &bias[0], done, lo, hi, &scratch[0])
	case hasAVX2FMA && c >= 8:
		done = c &^ 7
		wino4OutputAVX2(&out[0], rs*4, c*4, &m[0], ld*4, &bias[0], done, lo, hi, &scratch[0])
	}
	for j := done; j < c; j++ {
		var s [4][6]float32
		for b := 0; b < 6; b++ {
			var col [6]float32
			for a := range col {
				col[a] = m[(a*6+b)*ld+j]
			}
			y := wino4Out(col)
			for i := 0; i < 4; i++ {
				s[i][b] = y[i]
			}
		}
		for i := 0; i < 4; i++ {
			y := wino4Out(s[i])
			for x := 0; x < 4; x++ {
				out[i*rs+x*c+j] = min(max(y[x]+bias[j], lo), hi)
			}
		}
	}
}
