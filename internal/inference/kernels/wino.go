package kernels

// Winograd F(2×2, 3×3) for float convolutions in NHWC: a 3×3 stride-1
// convolution computed tile by tile, each tile of 2×2 output pixels from
// the 4×4 input pixels under it. The filter is transformed once (U = G g
// Gᵀ, 16 positions), each input tile is transformed (V = Bᵀ d B), the 16
// positions become 16 independent GEMMs over channels (M = V·U, Cin to
// Cout), and the output transform (Y = Aᵀ M A) folds M back into the 2×2
// pixels. Every transform is elementwise across the channel vector, so the
// kernels below run along contiguous channels: 16 at a time with AVX-512,
// 8 with AVX2, one at a time in the portable loop.
//
//	Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
//	G  = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1]
//	Aᵀ = [1 1 1 0; 0 1 -1 -1]
//
// Multiply-adds per output pixel and channel pair: 16/4 = 4 against the
// direct convolution's 9.

// WinoTile and WinoOut are the input tile and output tile sides of
// F(2×2, 3×3); WinoPos is the number of transform positions.
const (
	WinoTile = 4
	WinoOut  = 2
	WinoPos  = WinoTile * WinoTile
)

// WinoFilter transforms a [Cout][3][3][Cin] filter into WinoPos packed GEMM
// operands, position p = 4*a+b holding U[a][b] as a Cin×Cout matrix without
// bias (the bias is added after the output transform). The transform is
// computed in float64 and rounded once.
func WinoFilter(filter []float32, cout, cin int) [WinoPos]*PackedB {
	g := [4][3]float64{{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}}
	var w [WinoPos][]float32
	for p := range w {
		w[p] = make([]float32, cout*cin)
	}
	for o := 0; o < cout; o++ {
		for ci := 0; ci < cin; ci++ {
			var f [3][3]float64
			for ky := 0; ky < 3; ky++ {
				for kx := 0; kx < 3; kx++ {
					f[ky][kx] = float64(filter[((o*3+ky)*3+kx)*cin+ci])
				}
			}
			// t = G f (4×3), then U = t Gᵀ (4×4).
			var t [4][3]float64
			for a := 0; a < 4; a++ {
				for kx := 0; kx < 3; kx++ {
					t[a][kx] = g[a][0]*f[0][kx] + g[a][1]*f[1][kx] + g[a][2]*f[2][kx]
				}
			}
			for a := 0; a < 4; a++ {
				for b := 0; b < 4; b++ {
					w[a*4+b][o*cin+ci] = float32(t[a][0]*g[b][0] + t[a][1]*g[b][1] + t[a][2]*g[b][2])
				}
			}
		}
	}
	var pb [WinoPos]*PackedB
	for p := range pb {
		pb[p] = PackB(w[p], cout, cin, nil)
	}
	return pb
}

// WinoInput transforms one 4×4 input tile of c channels: pixel (i, j) of
// the tile starts at src[i*rs+j*cs], and position p = 4*a+b of V goes to
// dst[p*ld:][:c].
func WinoInput(dst []float32, ld int, src []float32, rs, cs, c int) {
	if c <= 0 {
		return
	}
	if len(src) < 3*rs+3*cs+c || len(dst) < (WinoPos-1)*ld+c || ld < c {
		panic("kernels: Winograd input tile shorter than its shape")
	}
	done := 0
	switch {
	case hasAVX512 && c >= 16:
		done = c &^ 15
		winoInputAVX512(&dst[0], ld*4, &src[0], rs*4, cs*4, done)
	case hasAVX2FMA && c >= 8:
		done = c &^ 7
		winoInputAVX2(&dst[0], ld*4, &src[0], rs*4, cs*4, done)
	}
	if done < c {
		winoInputGeneric(dst[done:], ld, src[done:], rs, cs, c-done)
	}
}

// winoInputGeneric is WinoInput's portable loop, in the order of the
// assembly: each row of the tile through B (across), then each column
// through Bᵀ (down).
func winoInputGeneric(dst []float32, ld int, src []float32, rs, cs, c int) {
	for j := 0; j < c; j++ {
		var t [4][4]float32
		for i := 0; i < 4; i++ {
			r := src[i*rs+j:]
			d0, d1, d2, d3 := r[0], r[cs], r[2*cs], r[3*cs]
			t[i] = [4]float32{d0 - d2, d1 + d2, d2 - d1, d1 - d3}
		}
		for b := 0; b < 4; b++ {
			dst[(0*4+b)*ld+j] = t[0][b] - t[2][b]
			dst[(1*4+b)*ld+j] = t[1][b] + t[2][b]
			dst[(2*4+b)*ld+j] = t[2][b] - t[1][b]
			dst[(3*4+b)*ld+j] = t[1][b] - t[3][b]
		}
	}
}

// WinoOutput folds the 16 positions of one tile's GEMM results (position p
// at m[p*ld:][:c]) into its 2×2 output pixels, pixel (i, j) at
// out[i*rs+j*c:][:c], adding bias and clamping to [lo, hi].
func WinoOutput(out []float32, rs int, m []float32, ld int, bias []float32, c int, lo, hi float32) {
	if c <= 0 {
		return
	}
	if len(m) < (WinoPos-1)*ld+c || len(out) < rs+2*c || len(bias) < c || ld < c {
		panic("kernels: Winograd output tile shorter than its shape")
	}
	done := 0
	switch {
	case hasAVX512 && c >= 16:
		done = c &^ 15
		winoOutputAVX512(&out[0], rs*4, c*4, &m[0], ld*4, &bias[0], done, lo, hi)
	case hasAVX2FMA && c >= 8:
		done = c &^ 7
		winoOutputAVX2(&out[0], rs*4, c*4, &m[0], ld*4, &bias[0], done, lo, hi)
	}
	if done < c {
		winoOutputGeneric(out[done:], rs, c, m[done:], ld, bias[done:], c-done, lo, hi)
	}
}

// winoOutputGeneric is WinoOutput's portable loop over n channels, pixels
// cs floats apart, in the order of the assembly: each column through Aᵀ
// (down), then each of the two rows through A (across), then the bias and
// the bounds.
func winoOutputGeneric(out []float32, rs, cs int, m []float32, ld int, bias []float32, n int, lo, hi float32) {
	for j := 0; j < n; j++ {
		var s [2][4]float32
		for b := 0; b < 4; b++ {
			m0, m1, m2, m3 := m[(0*4+b)*ld+j], m[(1*4+b)*ld+j], m[(2*4+b)*ld+j], m[(3*4+b)*ld+j]
			s[0][b] = (m1 + m2) + m0
			s[1][b] = (m1 - m2) - m3
		}
		for i := 0; i < 2; i++ {
			y0 := (s[i][1] + s[i][2]) + s[i][0]
			y1 := (s[i][1] - s[i][2]) - s[i][3]
			out[i*rs+j] = min(max(y0+bias[j], lo), hi)
			out[i*rs+cs+j] = min(max(y1+bias[j], lo), hi)
		}
	}
}
