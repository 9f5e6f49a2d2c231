package kernels

import (
	"fmt"
	"unsafe"
)

// Requantization and the int8 depthwise convolution.
//
// A Requant turns int32 accumulators into int8 outputs channel by channel:
// add the channel's bias, rescale by its fixed-point multiplier (TFLite's
// arithmetic: a Q31 value q and a power-of-two shift), add the output zero
// point and clamp. Two roundings exist, both exact integer definitions:
//
//   - single: (x*q + 2^(tot-1)) >> tot with tot = 31 - shift, the form
//     TFLite's CONV_2D and FULLY_CONNECTED use;
//   - double: MultiplyByQuantizedMultiplier, a rounding doubling high
//     multiply of x<<left by q then a rounding right shift (ties away from
//     zero), the form of its DEPTHWISE_CONV_2D.
//
// The vector kernels (AVX2, AVX-512) compute the same integers as the
// portable code on every input; the tests check them against each other.

// Requant holds C channels' rescale parameters.
type Requant struct {
	C          int
	Double     bool
	ZP, Lo, Hi int32
	Bias, Mult []int32
	Shift      []int
	// tab8 and tab16 describe blocks of 8 (AVX2) and 16 (AVX-512) channels
	// for the vector kernels, 8*bs int32s per block of bs channels, at
	// these word offsets:
	//   both:   bias 0, mult bs
	//   single: off 2bs, rndE 3bs, rndO 4bs, totE 5bs, totO 6bs,
	//           off-ZP 7bs
	//   double: left 2bs, right 3bs, mask 4bs
	// E/O are the block's even and odd channels as int64s; rnd carries the
	// 2^62 offset that keeps the 64-bit sum non-negative and off is
	// 2^(62-tot) modulo 2^32, subtracted after the logical shift.
	tab8, tab16 []int32
	// tabF is the shorter AVX-512 rescale, present when every channel's
	// shift is in [-22, -1] (a multiplier below one half and above 2^-23,
	// so the 64-bit sum below cannot overflow), the zero point in [-256,
	// 255] and C >= 16: per block of 16 channels (the last one padded with
	// channels of multiplier 0), 128 int32s holding bias (0) and mult (16)
	// as above, then as int64s for the even and the odd channels the
	// rounding constant with the zero point folded in (words 32, 48) and
	// the right shifts tot and tot-32 (words 64, 80), and as int32s in
	// channel order the shifts tot-32 (word 96) and the rounding constants'
	// high dwords (word 112; the whole constant where tot > 32 in the
	// single form, whose kernels add it after gathering the products' high
	// dwords). Padding channels take tot 33.
	//
	// Both roundings become one 64-bit sum and one arithmetic shift:
	//   single: y + zp = (x*q + 2^(tot-1) + zp*2^tot) >> tot;
	//   double: with right = -shift >= 1 and tot = 31 + right,
	//     y + zp = (x*q + 2^30 + 2^(30+right) + zp*2^tot - 2^31*[x*q < 0]) >> tot.
	// The double form holds because TFLite's first rounding is
	// floor((x*q + 2^30) / 2^31) for either sign (its nudge 1-2^30 and the
	// truncation toward zero of a negative sum make the same floor), its
	// second adds 2^(right-1), less one when that result is negative, before
	// flooring by 2^right, and nested floors by powers of two are one
	// floor. The result is negative exactly when x*q < -2^30, which differs
	// from x*q < 0 only at x = -1 with q = 2^30, where both give 0.
	// The odd channels shift by tot-32 so their result lands in the high
	// dword in place (hence tot >= 32). The kernels that gather the sums'
	// high dwords (a floor by 2^32) into one vector with a VPERMT2D shift
	// that by the int32 tot-32 instead (nested floors again): a permute
	// and one shift of 16 dwords where two shifts of 8 qwords and a blend
	// took one instruction more, and one more uop on the multiplies' port.
	tabF []int32
}

// NewRequant builds the parameters of len(bias) channels; mult and shift
// come from a multiplier quantized as TFLite does (q in [2^30, 2^31) or 0,
// shift in [-31, 30]).
func NewRequant(bias, mult []int32, shift []int, double bool, zp, lo, hi int32) *Requant {
	c := len(bias)
	if len(mult) != c || len(shift) != c {
		panic("kernels: NewRequant lengths differ")
	}
	r := &Requant{C: c, Double: double, ZP: zp, Lo: lo, Hi: hi, Bias: bias, Mult: mult, Shift: shift}
	r.tab8, r.tab16 = r.table(8), r.table(16)
	r.tabF = r.fastTable()
	return r
}

// hasRQFast selects the AVX-512 kernels' tabF rescale where the table
// exists (tests turn it off to check the tab16 forms on the same shapes).
var hasRQFast = true

// hasDWPack lets the 64-channel depthwise kernel clamp through its
// saturating packs where the clamp is a whole byte range (tests turn it
// off).
var hasDWPack = true

// fastTable builds tabF, or returns nil when the rescale is outside its
// domain. With |x*q| < 2^62, |zp*2^tot| <= 2^61 and the rounding terms
// below 2^54, the sum stays inside int64.
func (r *Requant) fastTable() []int32 {
	if r.C < 16 || r.ZP < -256 || r.ZP > 255 {
		return nil
	}
	for _, s := range r.Shift {
		if s > -1 || s < -22 {
			return nil
		}
	}
	blocks := (r.C + 15) / 16
	tab := make([]int32, blocks*128)
	for b := 0; b < blocks; b++ {
		t := tab[b*128 : (b+1)*128]
		for j := 0; j < 16; j++ {
			ch := b*16 + j
			c, tot := int64(r.ZP)<<33+1<<32, uint(33) // padding: zp
			if ch < r.C {
				t[j], t[16+j] = r.Bias[ch], r.Mult[ch]
				c, tot = r.fastConst(ch)
			}
			w := 32 + 2*(j/2)
			if j%2 == 1 {
				w += 16
			}
			t[w], t[w+1] = int32(uint32(c)), int32(uint32(uint64(c)>>32))
			sh := int64(tot)
			if j%2 == 1 {
				sh -= 32
			}
			t[w+32], t[w+33] = int32(sh), 0
			t[96+j] = int32(tot - 32)
			t[112+j] = int32(c >> 32)
		}
	}
	return tab
}

// fastConst is channel ch's rounding constant (zero point included) and
// total shift in tabF's form.
func (r *Requant) fastConst(ch int) (int64, uint) {
	tot := uint(31 - r.Shift[ch])
	c := int64(r.ZP) << tot
	if r.Double {
		return c + 1<<30 + 1<<(tot-1), tot
	}
	return c + 1<<(tot-1), tot
}

// fastOne is One computed as the tabF kernels do (for tests; ch must be
// covered by tabF).
func (r *Requant) fastOne(acc int32, ch int) int8 {
	c, tot := r.fastConst(ch)
	p := int64(acc) * int64(r.Mult[ch])
	t := p + c
	if r.Double && p < 0 {
		t -= 1 << 31
	}
	return int8(min(max(int32(t>>tot), r.Lo), r.Hi))
}

func (r *Requant) table(bs int) []int32 {
	blocks := r.C / bs
	if bs == 8 {
		// Whole panels of 32 channels for the AVX2 VPMADDUBSW tile on a
		// last partial panel (ubPanelPart); the padding channels (bias,
		// multiplier and shift 0) give outputs no one reads.
		blocks = (r.C + I8Tile - 1) / I8Tile * (I8Tile / bs)
	}
	tab := make([]int32, blocks*8*bs)
	for b := 0; b < blocks; b++ {
		t := tab[b*8*bs : (b+1)*8*bs]
		for j := 0; j < bs; j++ {
			ch := b*bs + j
			s := 0
			if ch < r.C {
				t[j], t[bs+j] = r.Bias[ch], r.Mult[ch]
				s = r.Shift[ch]
			}
			if r.Double {
				left, right := max(s, 0), max(-s, 0)
				t[2*bs+j], t[3*bs+j] = int32(left), int32(right)
				t[4*bs+j] = int32(uint32(1)<<right - 1)
				continue
			}
			tot := 31 - s
			t[2*bs+j] = int32(uint32(uint64(1) << (62 - tot)))
			t[7*bs+j] = t[2*bs+j] - r.ZP
			rnd := int64(1)<<(tot-1) + int64(1)<<62
			w := 3*bs + 2*(j/2) // rndE, or rndO one bs further
			if j%2 == 1 {
				w += bs
			}
			t[w], t[w+1] = int32(uint32(rnd)), int32(uint32(rnd>>32))
			w += 2 * bs // totE / totO
			t[w], t[w+1] = int32(tot), 0
		}
	}
	return tab
}

// One rescales acc (already holding its bias) for channel ch.
func (r *Requant) One(acc int32, ch int) int8 {
	var v int32
	if r.Double {
		v = mulQuantDouble(acc, r.Mult[ch], r.Shift[ch])
	} else {
		tot := uint(31 - r.Shift[ch])
		v = int32((int64(acc)*int64(r.Mult[ch]) + int64(1)<<(tot-1)) >> tot)
	}
	return int8(min(max(v+r.ZP, r.Lo), r.Hi))
}

// mulQuantDouble is TFLite's MultiplyByQuantizedMultiplier.
func mulQuantDouble(x, q int32, shift int) int32 {
	left, right := max(shift, 0), max(-shift, 0)
	x = int32(int64(x) << left)
	var hi int32
	if x == q && x == -1<<31 {
		hi = 1<<31 - 1
	} else {
		ab := int64(x) * int64(q)
		nudge := int64(1 << 30)
		if ab < 0 {
			nudge = 1 - (1 << 30)
		}
		hi = int32((ab + nudge) / (1 << 31))
	}
	if right == 0 {
		return hi
	}
	mask := int32(1)<<right - 1
	rem, thr := hi&mask, mask>>1
	if hi < 0 {
		thr++
	}
	res := hi >> right
	if rem > thr {
		res++
	}
	return res
}

// Row rescales one pixel: out[ch] from acc[ch] + Bias[ch] for ch < C.
func (r *Requant) Row(out []int8, acc []int32) {
	c := r.C
	out, acc = out[:c], acc[:c]
	v := 0
	if c > 0 {
		v = requantVec(r, &out[0], c, &acc[0], c, 1, 0)
	}
	for ch := v; ch < c; ch++ {
		out[ch] = r.One(acc[ch]+r.Bias[ch], ch)
	}
}

// Rows rescales m pixels: Row(out[i*ldo:], acc[i*lda:]) for i < m.
func (r *Requant) Rows(out []int8, ldo int, acc []int32, lda, m int) {
	r.rowsFrom(out, ldo, acc, lda, m, 0)
}

// rowsFrom is Rows for channels [ch0, C); ch0 is a multiple of 16.
func (r *Requant) rowsFrom(out []int8, ldo int, acc []int32, lda, m, ch0 int) {
	c := r.C
	if m <= 0 || c <= ch0 {
		return
	}
	if ch0%16 != 0 || ldo < c || lda < c || len(out) < (m-1)*ldo+c || len(acc) < (m-1)*lda+c {
		panic("kernels: Requant.Rows arguments out of range")
	}
	v := requantVec(r, &out[0], ldo, &acc[0], lda, m, ch0)
	if v == c {
		return
	}
	for i := 0; i < m; i++ {
		o, a := out[i*ldo:][:c], acc[i*lda:][:c]
		for ch := v; ch < c; ch++ {
			o[ch] = r.One(a[ch]+r.Bias[ch], ch)
		}
	}
}

// RowGeneric is Row on the portable path.
func (r *Requant) RowGeneric(out []int8, acc []int32) {
	out, acc = out[:r.C], acc[:r.C]
	for ch := range out {
		out[ch] = r.One(acc[ch]+r.Bias[ch], ch)
	}
}

// DWI8 is an int8 depthwise convolution (depth multiplier 1) of C channels
// over a KH x KW window. The activations come in as int32 values already
// minus the input zero point (WidenI8), so every product is exact.
type DWI8 struct {
	KH, KW, C int
	W         []int32 // [KH*KW][C] weights minus their zero point
	RQ        *Requant
	wv        []int32 // W as 16-bit lanes (high half zero) for VPMADDWD
	fold      *Requant
	foldZP    int32
	// w64 and q64: the weights and rescale of the 64-channel VPDPBUSD
	// kernel (prepDW64), nil where it does not apply.
	w64  []int8
	q64  *Requant
	pair bool
	// foldU and q64U are fold and q64 with 128 added to the output zero
	// point and clamp: Int8Pixels3x3U's outputs, x+128 as unsigned bytes.
	foldU, q64U *Requant
	// wT, qT and qTU: the T4 kernel's weights and rescales (int8t4.go),
	// nil where it does not apply.
	wT      []int8
	qT, qTU *Requant
	// q4, q4U: the T4 kernel may rescale qT, qTU in the quad form
	// (t4Quad); h4, h4U: with the constants added after the gather (t4Hi).
	q4, q4U, h4, h4U bool
	// w2, w2c: the weights of the AVX2 3x3 kernels (prepW2), nil where
	// they do not apply.
	w2, w2c, w2s []int16
	// rqF, rqFU: fold's and foldU's tables of the column kernel's rescale
	// in one step (dwRQTable), nil where it does not apply.
	rqF, rqFU []int32
	// rqG, rqGU: fold's and foldU's tables of the AVX2 kernels' rescale
	// with the sign chosen by blends (dwRQTableG), nil where it does not
	// apply; rqGNoLeft: every channel's left shift is 0.
	rqG, rqGU []int32
	rqGNoLeft bool
}

// unsignedOut returns r with its outputs moved up by 128 (x+128, the
// unsigned bytes the int8 GEMM reads), or nil for nil.
func unsignedOut(r *Requant) *Requant {
	if r == nil {
		return nil
	}
	return NewRequant(r.Bias, r.Mult, r.Shift, r.Double, r.ZP+128, r.Lo+128, r.Hi+128)
}

// FoldZP prepares Int8Pixels3x3 for inputs with zero point zp: the same
// rescale with zp times each channel's weight sum taken off the bias, so
// the kernel can multiply the raw int8 activations.
func (d *DWI8) FoldZP(zp int32) {
	bias := make([]int32, d.C)
	for ch := range bias {
		s := int32(0)
		for t := 0; t < d.KH*d.KW; t++ {
			s += d.W[t*d.C+ch]
		}
		bias[ch] = d.RQ.Bias[ch] - zp*s
	}
	r := d.RQ
	d.fold = NewRequant(bias, r.Mult, r.Shift, r.Double, r.ZP, r.Lo, r.Hi)
	d.foldZP = zp
	d.prepDW64(d.fold, zp)
	d.foldU, d.q64U = unsignedOut(d.fold), unsignedOut(d.q64)
	d.prepT4(d.fold)
	d.prepW2()
}

// HasInt8Pixels3x3 reports whether Int8Pixels3x3 runs here (FoldZP
// called, a kernel for the CPU and channel count).
func (d *DWI8) HasInt8Pixels3x3() bool {
	return d.fold != nil && d.KH == 3 && d.KW == 3 && useInt8SIMD() && dw3x3I8Ok(d)
}

// Int8Pixels3x3 computes n pixels of a 3x3 kernel whose windows lie inside
// the image straight from the int8 input (FoldZP's zero point): rows holds
// the offsets in in of the first pixel's three window rows, xstep the
// offset between pixels. It reports false, doing nothing, when no kernel
// for it exists here (then widen the rows and use Pixels3x3).
func (d *DWI8) Int8Pixels3x3(out []int8, ostride int, in []int8, rows [3]int, xstep int, n int) bool {
	if n <= 0 || !useInt8SIMD() {
		return n <= 0
	}
	if d.KH != 3 || d.KW != 3 || xstep < 0 || ostride < d.C || len(out) < (n-1)*ostride+d.C {
		panic("kernels: DWI8.Int8Pixels3x3 arguments out of range")
	}
	for _, r := range rows {
		if r < 0 || r+(n-1)*xstep+3*d.C > len(in) {
			panic("kernels: DWI8.Int8Pixels3x3 row out of range")
		}
	}
	return dw3x3I8Vec(d, &out[0], ostride, &in[rows[0]], &in[rows[1]], &in[rows[2]], xstep, n, false)
}

// Int8Rows3x3 is Int8Pixels3x3 over nrows output rows: row r's n outputs
// start at out[r*orow], its window rows at rows[k]+r*rowstep. It computes
// the same bytes as one Int8Pixels3x3 call per row, with the channel
// blocks in the outer loop where the 64-channel kernel runs (many
// channels, few pixels: each block's weights stay in L1 for all rows).
// It reports false, doing nothing, when no kernel for it exists here.
func (d *DWI8) Int8Rows3x3(out []int8, orow, ostride int, in []int8, rows [3]int, rowstep, xstep, n, nrows int) bool {
	if n <= 0 || nrows <= 0 || !useInt8SIMD() {
		return n <= 0 || nrows <= 0
	}
	d.checkRows(len(out), orow, ostride, len(in), rows, rowstep, xstep, n, nrows)
	if dw3x3I8RowsVec(d, &out[0], orow, ostride, &in[rows[0]], &in[rows[1]], &in[rows[2]], rowstep, xstep, n, nrows, false) {
		return true
	}
	for r := 0; r < nrows; r++ {
		o := r * rowstep
		if !d.Int8Pixels3x3(out[r*orow:], ostride, in, [3]int{rows[0] + o, rows[1] + o, rows[2] + o}, xstep, n) {
			return false
		}
	}
	return true
}

// Int8Rows3x3U is Int8Rows3x3 writing each output x as the unsigned byte
// x+128, as Int8Pixels3x3U does.
func (d *DWI8) Int8Rows3x3U(out []uint8, orow, ostride int, in []int8, rows [3]int, rowstep, xstep, n, nrows int) bool {
	if n <= 0 || nrows <= 0 || !useInt8SIMD() {
		return n <= 0 || nrows <= 0
	}
	d.checkRows(len(out), orow, ostride, len(in), rows, rowstep, xstep, n, nrows)
	if dw3x3I8RowsVec(d, (*int8)(unsafe.Pointer(&out[0])), orow, ostride, &in[rows[0]], &in[rows[1]], &in[rows[2]], rowstep, xstep, n, nrows, true) {
		return true
	}
	for r := 0; r < nrows; r++ {
		o := r * rowstep
		if !d.Int8Pixels3x3U(out[r*orow:], ostride, in, [3]int{rows[0] + o, rows[1] + o, rows[2] + o}, xstep, n) {
			return false
		}
	}
	return true
}

// checkRows panics unless Int8Rows3x3's arguments lie inside its slices.
func (d *DWI8) checkRows(outLen, orow, ostride, inLen int, rows [3]int, rowstep, xstep, n, nrows int) {
	if d.KH != 3 || d.KW != 3 || xstep < 0 || rowstep < 0 || ostride < d.C || orow < 0 ||
		outLen < (nrows-1)*orow+(n-1)*ostride+d.C || (nrows > 1 && orow < (n-1)*ostride+d.C) {
		panic("kernels: DWI8.Int8Rows3x3 arguments out of range")
	}
	for _, r := range rows {
		if r < 0 || r+(nrows-1)*rowstep+(n-1)*xstep+3*d.C > inLen {
			panic("kernels: DWI8.Int8Rows3x3 row out of range")
		}
	}
}

// Int8Pixels3x3U is Int8Pixels3x3 writing each output x as the unsigned
// byte x+128, the form the int8 GEMM reads, so a following 1x1
// convolution needs no conversion pass.
func (d *DWI8) Int8Pixels3x3U(out []uint8, ostride int, in []int8, rows [3]int, xstep int, n int) bool {
	if n <= 0 || !useInt8SIMD() {
		return n <= 0
	}
	if d.KH != 3 || d.KW != 3 || xstep < 0 || ostride < d.C || len(out) < (n-1)*ostride+d.C {
		panic("kernels: DWI8.Int8Pixels3x3U arguments out of range")
	}
	for _, r := range rows {
		if r < 0 || r+(n-1)*xstep+3*d.C > len(in) {
			panic("kernels: DWI8.Int8Pixels3x3U row out of range")
		}
	}
	return dw3x3I8Vec(d, (*int8)(unsafe.Pointer(&out[0])), ostride, &in[rows[0]], &in[rows[1]], &in[rows[2]], xstep, n, true)
}

// NewDWI8 prepares a depthwise convolution; w is [kh*kw][c] with values
// in int16 range, rq double- or single-rounded with c channels.
func NewDWI8(kh, kw, c int, w []int32, rq *Requant) (*DWI8, error) {
	if len(w) != kh*kw*c || rq.C != c {
		return nil, fmt.Errorf("kernels: depthwise of %dx%dx%d with %d weights and %d channels", kh, kw, c, len(w), rq.C)
	}
	d := &DWI8{KH: kh, KW: kw, C: c, W: w, RQ: rq, wv: make([]int32, len(w))}
	for i, v := range w {
		if v < -1<<15 || v >= 1<<15 {
			return nil, fmt.Errorf("kernels: depthwise weight %d outside int16", v)
		}
		d.wv[i] = int32(uint16(int16(v)))
	}
	return d, nil
}

// MaxTaps bounds the taps of one DWI8.Pixels call.
const MaxTaps = 64

// Pixels computes n output pixels of all channels: pixel p reads, for each
// tap i, xs[base + p*xstep + taps[2i] + ch] times weight row taps[2i+1],
// and writes out[p*ostride + ch]. Offsets are in elements; the caller
// passes only taps inside the image (padding contributes zero).
func (d *DWI8) Pixels(out []int8, ostride int, xs []int32, base, xstep int, taps []int, n int) {
	if n <= 0 {
		return
	}
	nt := len(taps) / 2
	if nt > MaxTaps || base < 0 || xstep < 0 || ostride < d.C || len(out) < (n-1)*ostride+d.C {
		panic("kernels: DWI8.Pixels arguments out of range")
	}
	last := base + (n-1)*xstep
	for i := 0; i < nt; i++ {
		if taps[2*i] < -base || last+taps[2*i]+d.C > len(xs) || taps[2*i+1] < 0 || taps[2*i+1] >= d.KH*d.KW {
			panic("kernels: DWI8.Pixels tap out of range")
		}
	}
	c := d.C
	v := 0
	if useInt8SIMD() && c >= 8 && nt > 0 {
		var bt [2 * MaxTaps]int
		for i := 0; i < nt; i++ {
			bt[2*i] = 4 * (base + taps[2*i])
			bt[2*i+1] = 4 * taps[2*i+1] * c
		}
		v = dwI8Vec(d, &out[0], ostride, &xs[0], 4*xstep, &bt[0], nt, n)
	}
	if v < c {
		d.pixelsGeneric(out, ostride, xs, base, xstep, taps, n, v)
	}
}

// Pixels3x3 is Pixels for a 3x3 kernel and n pixels whose windows lie
// inside the image: rows holds the element offsets in xs of the first
// pixel's three window rows, xstep the offset between pixels. It runs a
// kernel that keeps the weights in registers where one applies, else
// Pixels.
func (d *DWI8) Pixels3x3(out []int8, ostride int, xs []int32, rows [3]int, xstep int, n int) {
	if n <= 0 {
		return
	}
	if d.KH != 3 || d.KW != 3 || xstep < 0 || ostride < d.C || len(out) < (n-1)*ostride+d.C {
		panic("kernels: DWI8.Pixels3x3 arguments out of range")
	}
	for _, r := range rows {
		if r < 0 || r+(n-1)*xstep+3*d.C > len(xs) {
			panic("kernels: DWI8.Pixels3x3 row out of range")
		}
	}
	if useInt8SIMD() && dw3x3Vec(d, &out[0], ostride, &xs[rows[0]], &xs[rows[1]], &xs[rows[2]], 4*xstep, n) {
		return
	}
	var taps [18]int
	for ky := 0; ky < 3; ky++ {
		for kx := 0; kx < 3; kx++ {
			t := ky*3 + kx
			taps[2*t], taps[2*t+1] = rows[ky]+kx*d.C, t
		}
	}
	d.Pixels(out, ostride, xs, 0, xstep, taps[:], n)
}

// PixelsGeneric is Pixels on the portable path.
func (d *DWI8) PixelsGeneric(out []int8, ostride int, xs []int32, base, xstep int, taps []int, n int) {
	d.pixelsGeneric(out, ostride, xs, base, xstep, taps, n, 0)
}

func (d *DWI8) pixelsGeneric(out []int8, ostride int, xs []int32, base, xstep int, taps []int, n, c0 int) {
	c := d.C
	for p := 0; p < n; p++ {
		o := out[p*ostride:][:c]
		for ch := c0; ch < c; ch++ {
			acc := d.RQ.Bias[ch]
			for i := 0; i+1 < len(taps); i += 2 {
				acc += xs[base+p*xstep+taps[i]+ch] * d.W[taps[i+1]*c+ch]
			}
			o[ch] = d.RQ.One(acc, ch)
		}
	}
}

// WidenI8 sets dst[i] = src[i] - zp.
func WidenI8(dst []int32, src []int8, zp int32) {
	dst = dst[:len(src)]
	v := 0
	if useInt8SIMD() && len(src) >= 8 {
		v = len(src) / 8 * 8
		widenI8(&dst[0], &src[0], v, zp)
	}
	for i := v; i < len(src); i++ {
		dst[i] = int32(src[i]) - zp
	}
}

// AccumI8 adds src[i] to acc[i] (the int32 sums of an int8 pool).
func AccumI8(acc []int32, src []int8) {
	acc = acc[:len(src)]
	v := 0
	if useInt8SIMD() && len(src) >= 16 {
		v = len(src) / 16 * 16
		accumI8(&acc[0], &src[0], v)
	}
	for i := v; i < len(src); i++ {
		acc[i] += int32(src[i])
	}
}

// XorI8 sets dst[i] = uint8(src[i]) ^ 0x80, the unsigned form of an int8
// activation (x + 128) that the int8 GEMM takes.
func XorI8(dst []uint8, src []int8) {
	dst = dst[:len(src)]
	i := 0
	if useInt8SIMD() && len(src) >= 32 {
		i = len(src) / 32 * 32
		xorI8(&dst[0], &src[0], i)
	}
	for ; i < len(src); i++ {
		dst[i] = uint8(src[i]) ^ 0x80
	}
}

// QuantizeOne is round(x) + zp saturated to int8, rounding half away from
// zero (NaN gives zp). Beyond +-512 every value saturates, and below it
// the fraction x - trunc(x) is exact in float32, so comparing it with one
// half rounds as math.Round does.
func QuantizeOne(x float32, zp int32) int8 {
	if x != x {
		return int8(zp)
	}
	x = min(max(x, -512), 512)
	r := int32(x)
	f := x - float32(r)
	if f >= 0.5 {
		r++
	} else if f <= -0.5 {
		r--
	}
	return int8(min(max(r+zp, -128), 127))
}

// QuantizeF32 sets out[i] = QuantizeOne(in[i]/scale, zp) (a float32
// division, as TFLite's QUANTIZE of a float input computes it).
func QuantizeF32(out []int8, in []float32, scale float32, zp int32) {
	out = out[:len(in)]
	v := 0
	if useInt8SIMD() && len(in) >= 8 {
		v = len(in) / 8 * 8
		quantizeF32(&out[0], &in[0], v, scale, zp)
	}
	for i := v; i < len(in); i++ {
		out[i] = QuantizeOne(in[i]/scale, zp)
	}
}
