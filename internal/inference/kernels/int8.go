package kernels

// The int8 GEMM of the quantized operators: c[m][n] = sum_k a[m][k] *
// b[n][k] with a unsigned bytes (activations shifted by 128) and b signed
// bytes (weights), accumulated exactly in int32. With AVX-512 VNNI it runs
// VPDPBUSD on 8x32 and 4x32 tiles; with AVX2 (or CSPIPE_KERNELS=avx2) it
// runs VPMADDWD on weights packed as int16 pairs (PackedI8.W16), 4x16
// tiles, and GemmU8I8Requant runs tiles with the rescale fused in
// (gemm_i8avx2_amd64.go), VPMADDUBSW on the int8 panels for rows where
// it cannot saturate (no pair a0*w0 + a1*w1 past int16 against the
// largest |w| at each k, PackedI8.ubNegM); elsewhere
// (and under CSPIPE_KERNELS=generic) a portable loop computes the same
// integers.

// I8Tile is the number of weight rows (output channels) a packed panel
// holds; I8Rows the activation rows one VNNI tile computes.
const (
	I8Tile = 32
	I8Rows = 4
)

// PackedI8 holds int8 weights of N rows of K, K padded with zeros to a
// multiple of 4 (Kp) and N to a multiple of I8Tile, laid out
// [N/32][Kp/4][32][4] so one 64-byte load is 16 rows times 4 k.
type PackedI8 struct {
	N, K, Kp, Np int
	Data         []int8
	Sum          []int32 // per row: the sum of its weights
	// W16 is the layout of the AVX2 kernel, present when PackI8 ran with
	// AVX2 and without VNNI: the weights as int16, [Np/32][Kp/2][32][2],
	// so one 32-byte load is 8 channels times 2 k, VPMADDWD's operand.
	W16 []int16
	// ubNegM is, with W16, minus the largest |w| at each k (Kp bytes, 0
	// past K) over the N channels: the weight-aware row test of the AVX2
	// path's VPMADDUBSW tile (pairsFitRowsU8W). -128 fits where 128 would
	// not.
	ubNegM []int8
	// amx is the layout of the AMX tiles, present when PackI8 ran with
	// them: Data with each panel's k padded by zero groups to a multiple
	// of 64 (Data itself when Kp is one).
	amx []int8
}

// PackI8 packs w ([n][k] row-major).
func PackI8(w []int8, n, k int) *PackedI8 {
	kp := (k + 3) / 4 * 4
	np := (n + I8Tile - 1) / I8Tile * I8Tile
	p := &PackedI8{N: n, K: k, Kp: kp, Np: np, Data: make([]int8, np*kp), Sum: make([]int32, n)}
	for r := 0; r < n; r++ {
		panel, j := r/I8Tile, r%I8Tile
		for c := 0; c < k; c++ {
			v := w[r*k+c]
			p.Sum[r] += int32(v)
			p.Data[panel*kp*I8Tile+(c/4)*I8Tile*4+j*4+c%4] = v
		}
	}
	if hasAVX2FMA && !UseVNNI() {
		p.packW16()
		p.packUBBound()
	}
	if useAMX() {
		p.packAMX()
	}
	return p
}

// packW16 fills W16 from Data.
func (p *PackedI8) packW16() {
	p.W16 = make([]int16, len(p.Data))
	for panel := 0; panel < p.Np/I8Tile; panel++ {
		src := p.Data[panel*p.Kp*I8Tile:][:p.Kp*I8Tile]
		dst := p.W16[panel*p.Kp*I8Tile:][:p.Kp*I8Tile]
		for c := 0; c < p.Kp; c++ {
			for j := 0; j < I8Tile; j++ {
				dst[(c/2)*I8Tile*2+j*2+c%2] = int16(src[(c/4)*I8Tile*4+j*4+c%4])
			}
		}
	}
}

// packUBBound fills ubNegM from Data.
func (p *PackedI8) packUBBound() {
	p.ubNegM = make([]int8, p.Kp)
	for i, v := range p.Data {
		c := i/(I8Tile*4)%(p.Kp/4)*4 + i%4
		// -|v| in int: int8 has no 128.
		p.ubNegM[c] = int8(min(int(p.ubNegM[c]), int(v), -int(v)))
	}
}

// UseVNNI reports whether GemmU8I8 runs the AVX-512 VNNI kernel.
func UseVNNI() bool { return hasAVX512 && hasVNNI512 }

// GemmU8I8 computes c[i][j] = sum_k a[i*lda+k] * b[j][k] for i < m and
// j < b.Np (rows past N are zero). a's rows must hold b.Kp bytes (zeros past
// K); c holds m rows of ldc >= b.Np int32s.
func GemmU8I8(m int, a []uint8, lda int, b *PackedI8, c []int32, ldc int) {
	if m <= 0 {
		return
	}
	if lda < b.Kp || ldc < b.Np || len(a) < (m-1)*lda+b.Kp || len(c) < (m-1)*ldc+b.Np {
		panic("kernels: GemmU8I8 slice too short")
	}
	switch {
	case UseVNNI():
		gemmU8I8VNNI(m, a, lda, b, c, ldc)
	case hasAVX2FMA:
		gemmU8I8AVX2(m, a, lda, b, c, ldc)
	default:
		GemmU8I8Generic(m, a, lda, b, c, ldc)
	}
}

// GemmU8I8Generic is the portable GemmU8I8.
func GemmU8I8Generic(m int, a []uint8, lda int, b *PackedI8, c []int32, ldc int) {
	k4 := b.Kp / 4
	for i := 0; i < m; i++ {
		row := a[i*lda : i*lda+b.Kp]
		out := c[i*ldc : i*ldc+b.Np]
		for p := 0; p < b.Np/I8Tile; p++ {
			var acc [I8Tile]int32
			panel := b.Data[p*b.Kp*I8Tile:]
			for q := 0; q < k4; q++ {
				x0, x1, x2, x3 := int32(row[4*q]), int32(row[4*q+1]), int32(row[4*q+2]), int32(row[4*q+3])
				w := panel[q*I8Tile*4 : (q+1)*I8Tile*4]
				for j := 0; j < I8Tile; j++ {
					acc[j] += x0*int32(w[4*j]) + x1*int32(w[4*j+1]) + x2*int32(w[4*j+2]) + x3*int32(w[4*j+3])
				}
			}
			copy(out[p*I8Tile:], acc[:])
		}
	}
}

// rqAVX2Rows bounds the rows one pass of gemmRequantAVX2 widens: 64 rows
// of K 1024 are 128 KiB of uint16, which stay in L2 while every 16
// channels' weights (32*Kp bytes) pass over them once.
const rqAVX2Rows = 64

// RequantScratch is the length of GemmU8I8Requant's scratch for m rows of
// b's product: the int32 rows, then room for up to 64 rows of b.Kp uint16
// (the activations the AVX2 tiles read, widened).
func RequantScratch(m int, b *PackedI8) int {
	return m*b.Np + (min(m, rqAVX2Rows)*b.Kp+1)/2
}

// GemmU8I8Requant is GemmU8I8 followed by r.Rows: out[i*ldo+j] is row i,
// channel j of the product rescaled to int8 (r single-rounded, with b.N
// channels and the bias the GEMM needs). c is scratch of m rows of b.Np.
// With VNNI and AVX-512 the 8-row tiles of whole 32-channel panels are
// rescaled in registers and never stored as int32; on the AVX2 path every
// 4 rows' whole blocks of 16 channels are (gemmRequantAVX2).
//
// RequantScratch(m, b) int32s of c also hold the AVX2 path's widened rows
// (m rows of b.Np is enough; the AVX2 path then allocates them per call).
func GemmU8I8Requant(m int, a []uint8, lda int, b *PackedI8, r *Requant, out []int8, ldo int, c []int32) {
	if m <= 0 {
		return
	}
	if r.C != b.N || ldo < b.N || lda < b.Kp || len(a) < (m-1)*lda+b.Kp || len(out) < (m-1)*ldo+b.N || len(c) < m*b.Np {
		panic("kernels: GemmU8I8Requant arguments out of range")
	}
	if done := gemmRequantAMX(m, a, lda, b, r, out, ldo, c); done > 0 {
		if done == m {
			return
		}
		m, a, out = m-done, a[done*lda:], out[done*ldo:]
	}
	if done := gemmRequantAVX2(m, a, lda, b, r, out, ldo, c); done > 0 {
		if done == m {
			return
		}
		m, a, out = m-done, a[done*lda:], out[done*ldo:]
	}
	rows, chans := gemmRequantVNNI(m, a, lda, b, r, out, ldo)
	if rows == 0 {
		GemmU8I8(m, a, lda, b, c, b.Np)
		r.Rows(out, ldo, c, b.Np, m)
		return
	}
	if chans < b.N {
		// The channels past the last 16 of the fused rows.
		gemmU8I8VNNIPanels(rows, a, lda, b, chans/I8Tile, b.Np/I8Tile, c, b.Np)
		r.rowsFrom(out, ldo, c, b.Np, rows, chans)
	}
	if rows < m {
		GemmU8I8(m-rows, a[rows*lda:], lda, b, c, b.Np)
		r.Rows(out[rows*ldo:], ldo, c, b.Np, m-rows)
	}
}

// GemmU8I8RequantSeg is GemmU8I8Requant on activation rows that are not
// contiguous: row i is segs segments of b.Kp/segs bytes (a multiple of 4),
// segment j at a[i*lda+j*segStride:] (a convolution's window rows read
// straight from a padded image, each row's bytes past the window meeting
// zero weights). It reports false, doing nothing, where no kernel for it
// runs (no AVX-512 VNNI, no Requant.tabF, fewer than 8 rows); the caller
// then gathers the rows.
func GemmU8I8RequantSeg(m int, a []uint8, lda, segs, segStride int, b *PackedI8, r *Requant, out []int8, ldo int) bool {
	if m <= 0 {
		return true
	}
	if segs <= 0 || b.Kp%(4*segs) != 0 || lda < 0 || segStride < 0 || r.C != b.N || ldo < b.N ||
		len(a) < (m-1)*lda+(segs-1)*segStride+b.Kp/segs || len(out) < (m-1)*ldo+b.N {
		panic("kernels: GemmU8I8RequantSeg arguments out of range")
	}
	return gemmRequantSeg(m, a, lda, segs, segStride, b, r, out, ldo)
}
