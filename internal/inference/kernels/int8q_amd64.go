//go:build amd64

package kernels

import (
	"math"
	"unsafe"

	"golang.org/x/sys/cpu"
)

// Implemented in int8q_amd64.s.
//
//go:noescape
func requantAVX2(out *int8, acc *int32, tab *int32, blocks int, double bool, zp, lo, hi int32, rows, ldo, lda int)

//go:noescape
func dwI8AVX2(out *int8, ostride int, xs *int32, xstep int, taps *int, ntaps, n, blocks int, w *int32, tab *int32, double bool, zp, lo, hi int32)

//go:noescape
func widenI8AVX2(dst *int32, src *int8, n int, zp int32)

//go:noescape
func xorI8AVX2(dst *uint8, src *int8, n int)

//go:noescape
func requant512(out *int8, acc *int32, tab *int32, blocks int, mode uint8, zp, lo, hi int32, rows, ldo, lda int)

//go:noescape
func dwI8512(out *int8, ostride int, xs *int32, xstep int, taps *int, ntaps, n, blocks int, w *int32, tab *int32, double bool, zp, lo, hi int32)

//go:noescape
func dw3x3I8512(out *int8, ostride int, r0, r1, r2 *int32, xstep, n, c int, w *int32, tab *int32, double bool, zp, lo, hi int32)

// dw3x3Vec runs the 3x3 interior kernel when it applies (AVX-512, whole
// blocks of 16 channels) and reports whether it did.
func dw3x3Vec(d *DWI8, out *int8, ostride int, r0, r1, r2 *int32, xstep, n int) bool {
	if !use512() || d.C%16 != 0 {
		return false
	}
	r := d.RQ
	dw3x3I8512(out, ostride, r0, r1, r2, xstep, n, d.C, &d.wv[0], &r.tab16[0], r.Double, r.ZP, r.Lo, r.Hi)
	return true
}

//go:noescape
func dw3x3I8x512(out *int8, ostride int, r0, r1, r2 *int8, xstep, n, c int, w *int32, tab *int32, double bool, zp, lo, hi int32)

//go:noescape
func dw3x3I8x512VNNI(out *int8, ostride int, r0, r1, r2 *int8, xstep, n, c int, w *int32, tab *int32, mode uint8, zp, lo, hi int32, nc int)

//go:noescape
func dw3x3I8x64VNNI(out *int8, ostride int, r0, r1, r2 *int8, xstep, n, c, blocks int, w *int8, tab *int32, mode uint8, zp, lo, hi int32)

// hasDW64 selects dw3x3I8x64VNNI where DWI8.FoldZP prepared it (tests
// turn it off to check the 16-channel kernel on the same shapes).
var hasDW64 = true

// prepDW64 sets d.w64 and d.q64 for dw3x3I8x64VNNI when the channels fill
// at least one block of 64, or are exactly 32 (pair mode, d.pair: two
// neighbouring pixels of a stride-1 row form one 64-byte block, channel v
// of the block being channel v%32), and every weight fits in int8: per
// block, tap and phase k, 64 weight bytes keeping channel 4j+k in byte k
// of dword j; the rescale of fold (bias less (zp+128) times the weight
// sums, as the kernel reads x+128) with channels permuted to the
// accumulators' order.
func (d *DWI8) prepDW64(fold *Requant, zp int32) {
	d.w64, d.q64, d.pair = nil, nil, false
	if d.KH != 3 || d.KW != 3 || (d.C < 64 && d.C != 32) {
		return
	}
	for _, v := range d.W {
		if v < -128 || v > 127 {
			return
		}
	}
	blocks := max(d.C/64, 1)
	w := make([]int8, blocks*9*4*64)
	n := blocks * 64
	bias, mult, shift := make([]int32, n), make([]int32, n), make([]int, n)
	for b := 0; b < blocks; b++ {
		for k := 0; k < 4; k++ {
			for j := 0; j < 16; j++ {
				ch := 64*b + 4*j + k
				if d.C == 32 {
					ch %= 32
				}
				i := 64*b + 16*k + j
				s := int32(0)
				for t := 0; t < 9; t++ {
					v := d.W[t*d.C+ch]
					s += v
					w[((b*9+t)*4+k)*64+4*j+k] = int8(v)
				}
				bias[i] = d.RQ.Bias[ch] - (zp+128)*s
				mult[i], shift[i] = fold.Mult[ch], fold.Shift[ch]
			}
		}
	}
	d.w64, d.pair = w, d.C == 32
	d.q64 = NewRequant(bias, mult, shift, fold.Double, fold.ZP, fold.Lo, fold.Hi)
}

func dw3x3I8Ok(d *DWI8) bool { return (use512() || dwAVX2Ok(d)) && d.C%16 == 0 }

// dw3x3I8Vec runs the int8 3x3 kernels; unsigned writes x+128 (DWI8's
// foldU and q64U rescales).
func dw3x3I8Vec(d *DWI8, out *int8, ostride int, r0, r1, r2 *int8, xstep, n int, unsigned bool) bool {
	if !use512() && dwAVX2Ok(d) && d.C%16 == 0 {
		dw3x3I8AVX2Vec(d, out, ostride, r0, r1, r2, xstep, n, unsigned)
		return true
	}
	if !use512() || d.C%16 != 0 || d.fold == nil {
		return false
	}
	r, q64 := d.fold, d.q64
	if unsigned {
		r, q64 = d.foldU, d.q64U
	}
	if hasVNNI512 {
		done := 0
		var tab64 *int32
		var mode uint8
		if q64 != nil {
			tab64, mode = rqTab16(q64)
			if mode&2 != 0 && hasDWPack {
				switch {
				case q64.Lo == -128 && q64.Hi == 127:
					mode |= 4
				case q64.Lo == 0 && q64.Hi == 255:
					mode |= 4 | 8
				}
			}
		}
		if q := q64; q != nil && hasDW64 && d.pair {
			// 32 channels: pairs of pixels of a stride-1 row whose outputs
			// are contiguous are one 64-channel pixel; an odd last pixel
			// takes the 16-channel kernel.
			if xstep == d.C && ostride == d.C && n >= 2 {
				dw3x3I8x64VNNI(out, 2*d.C, r0, r1, r2, 2*d.C, n/2, d.C, 1, &d.w64[0], tab64, mode, q.ZP, q.Lo, q.Hi)
				if n%2 == 0 {
					return true
				}
				p := (n - 1) * d.C
				out, r0, r1, r2 = (*int8)(unsafe.Add(unsafe.Pointer(out), p)), (*int8)(unsafe.Add(unsafe.Pointer(r0), p)), (*int8)(unsafe.Add(unsafe.Pointer(r1), p)), (*int8)(unsafe.Add(unsafe.Pointer(r2), p))
				n = 1
			}
		} else if q := q64; q != nil && hasDW64 {
			// Whole blocks of 64 channels on VPDPBUSD, the rest below.
			blocks := d.C / 64
			dw3x3I8x64VNNI(out, ostride, r0, r1, r2, xstep, n, d.C, blocks, &d.w64[0], tab64, mode, q.ZP, q.Lo, q.Hi)
			done = blocks * 64
		}
		if done < d.C {
			o, a0, a1, a2 := unsafe.Add(unsafe.Pointer(out), done), unsafe.Add(unsafe.Pointer(r0), done), unsafe.Add(unsafe.Pointer(r1), done), unsafe.Add(unsafe.Pointer(r2), done)
			tab, mode := rqTab16(r)
			tab = (*int32)(unsafe.Add(unsafe.Pointer(tab), 4*done/16*128))
			dw3x3I8x512VNNI((*int8)(o), ostride, (*int8)(a0), (*int8)(a1), (*int8)(a2), xstep, n, d.C, &d.wv[done], tab, mode, r.ZP, r.Lo, r.Hi, d.C-done)
		}
		return true
	}
	dw3x3I8x512(out, ostride, r0, r1, r2, xstep, n, d.C, &d.wv[0], &r.tab16[0], r.Double, r.ZP, r.Lo, r.Hi)
	return true
}

// dw3x3I8RowsVec is dw3x3I8Vec over nrows output rows (row r's outputs
// at out + r*orow, its window rows rowstep further on than row r-1's),
// with the channel blocks of 64 in the outer loop: each block's weights
// and rescale (4.3 KiB) are read from L1 for every row instead of all
// blocks' (4.3 KiB each) being streamed once per row. It reports false
// where it does not apply (the caller then runs the rows one at a time).
// unsigned writes x+128 as dw3x3I8Vec's.
func dw3x3I8RowsVec(d *DWI8, out *int8, orow, ostride int, r0, r1, r2 *int8, rowstep, xstep, n, nrows int, unsigned bool) bool {
	q := d.q64
	if unsigned {
		q = d.q64U
	}
	if !use512() || !hasVNNI512 || !hasDW64 || d.fold == nil || q == nil || d.pair || d.C%16 != 0 {
		return false
	}
	tab64, mode := rqTab16(q)
	if mode&2 != 0 && hasDWPack {
		switch {
		case q.Lo == -128 && q.Hi == 127:
			mode |= 4
		case q.Lo == 0 && q.Hi == 255:
			mode |= 4 | 8
		}
	}
	for b := 0; b < d.C/64; b++ {
		w := &d.w64[b*9*4*64]
		tab := (*int32)(unsafe.Add(unsafe.Pointer(tab64), b*2048))
		for r := 0; r < nrows; r++ {
			o, i := r*orow+64*b, r*rowstep+64*b
			dw3x3I8x64VNNI((*int8)(unsafe.Add(unsafe.Pointer(out), o)), ostride,
				(*int8)(unsafe.Add(unsafe.Pointer(r0), i)), (*int8)(unsafe.Add(unsafe.Pointer(r1), i)), (*int8)(unsafe.Add(unsafe.Pointer(r2), i)),
				xstep, n, d.C, 1, w, tab, mode, q.ZP, q.Lo, q.Hi)
		}
	}
	if done := d.C / 64 * 64; done < d.C {
		// The channels past the last block of 64, on the 16-channel
		// kernel, as dw3x3I8Vec runs them.
		r := d.fold
		if unsigned {
			r = d.foldU
		}
		tab, mode := rqTab16(r)
		tab = (*int32)(unsafe.Add(unsafe.Pointer(tab), 4*done/16*128))
		for y := 0; y < nrows; y++ {
			o, i := y*orow+done, y*rowstep+done
			dw3x3I8x512VNNI((*int8)(unsafe.Add(unsafe.Pointer(out), o)), ostride,
				(*int8)(unsafe.Add(unsafe.Pointer(r0), i)), (*int8)(unsafe.Add(unsafe.Pointer(r1), i)), (*int8)(unsafe.Add(unsafe.Pointer(r2), i)),
				xstep, n, d.C, &d.wv[done], tab, mode, r.ZP, r.Lo, r.Hi, d.C-done)
		}
	}
	return true
}

// rqTab16 returns r's AVX-512 table and the kernels' mode for it: bit 0
// double rounding, bit 1 the table in tabF's form.
func rqTab16(r *Requant) (*int32, uint8) {
	var mode uint8
	if r.Double {
		mode = 1
	}
	if r.tabF != nil && hasRQFast {
		return &r.tabF[0], mode | 2
	}
	return &r.tab16[0], mode
}

// hasInt8512 selects the AVX-512 forms (VPMADDWD on ZMM needs BW).
var hasInt8512 = cpu.X86.HasAVX512BW

// useInt8SIMD reports whether the int8 requantization, depthwise and
// widening kernels run vectorised (AVX2 integer instructions at least).
func useInt8SIMD() bool { return hasAVX2FMA }

func use512() bool { return hasAVX512 && hasInt8512 }

// requantVec rescales the channels the vector kernels cover (whole blocks
// of 16 or 8) and returns how many that is.
func requantVec(r *Requant, out *int8, ldo int, acc *int32, lda, rows, ch0 int) int {
	done := ch0
	if use512() && r.C-done >= 16 {
		o, a := (*int8)(unsafe.Add(unsafe.Pointer(out), done)), (*int32)(unsafe.Add(unsafe.Pointer(acc), 4*done))
		tab, mode := rqTab16(r)
		if mode == 2 && r.Lo == -128 && r.Hi == 127 {
			mode = 6 // requant512: VPMOVSDB's saturation is the clamp
		}
		tab = (*int32)(unsafe.Add(unsafe.Pointer(tab), 4*done/16*128))
		requant512(o, a, tab, (r.C-done)/16, mode, r.ZP, r.Lo, r.Hi, rows, ldo, lda)
		done += (r.C - done) / 16 * 16
	}
	if useInt8SIMD() && r.C-done >= 8 {
		// The AVX2 kernel takes the 8-channel block the wider one left.
		o, a := (*int8)(unsafe.Add(unsafe.Pointer(out), done)), (*int32)(unsafe.Add(unsafe.Pointer(acc), 4*done))
		requantAVX2(o, a, &r.tab8[done/8*64], (r.C-done)/8, r.Double, r.ZP, r.Lo, r.Hi, rows, ldo, lda)
		done += (r.C - done) / 8 * 8
	}
	return done
}

// dwI8Vec runs the depthwise kernel on whole channel blocks and returns
// how many channels that covered.
func dwI8Vec(d *DWI8, out *int8, ostride int, xs *int32, xstep int, taps *int, ntaps, n int) int {
	r := d.RQ
	done := 0
	if use512() && d.C >= 16 {
		dwI8512(out, ostride, xs, xstep, taps, ntaps, n, d.C/16, &d.wv[0], &r.tab16[0], r.Double, r.ZP, r.Lo, r.Hi)
		done = d.C / 16 * 16
	}
	if d.C-done >= 8 {
		out, xs = (*int8)(unsafe.Add(unsafe.Pointer(out), done)), (*int32)(unsafe.Add(unsafe.Pointer(xs), 4*done))
		dwI8AVX2(out, ostride, xs, xstep, taps, ntaps, n, (d.C-done)/8, &d.wv[done], &r.tab8[done/8*64], r.Double, r.ZP, r.Lo, r.Hi)
		done = d.C / 8 * 8
	}
	return done
}

func widenI8(dst *int32, src *int8, n int, zp int32) { widenI8AVX2(dst, src, n, zp) }

func xorI8(dst *uint8, src *int8, n int) { xorI8AVX2(dst, src, n) }

//go:noescape
func accumI8AVX2(acc *int32, src *int8, n int)

func accumI8(acc *int32, src *int8, n int) { accumI8AVX2(acc, src, n) }

//go:noescape
func addI8AVX2(out, a, b *int8, n int, azp, bzp, am, bm, rnd, shift, zp, lo, hi int32)

//go:noescape
func addI8512(out, a, b *int8, n int, am, bm, c, shift, zp, lo, hi int32)

func addI8(out, a, b *int8, n int, p *AddI8) {
	if v := n / 16 * 16; use512() && v > 0 {
		c := int32(1)<<(p.Shift-1) - p.AZP*p.AM - p.BZP*p.BM
		addI8512(out, a, b, v, p.AM, p.BM, c, int32(p.Shift), p.ZP, p.Lo, p.Hi)
		if v == n {
			return
		}
		// n is a multiple of 8 (AddI8.Run): 8 are left.
		out, a, b, n = (*int8)(unsafe.Add(unsafe.Pointer(out), v)), (*int8)(unsafe.Add(unsafe.Pointer(a), v)), (*int8)(unsafe.Add(unsafe.Pointer(b), v)), n-v
	}
	addI8AVX2(out, a, b, n, p.AZP, p.BZP, p.AM, p.BM, int32(1)<<(p.Shift-1), int32(p.Shift), p.ZP, p.Lo, p.Hi)
}

//go:noescape
func gemmI8x8x32RQ(k4 int, a *uint8, lda int, b *int8, out *int8, ldo int, tab *int32, zp, lo, hi int32)

//go:noescape
func gemmI8x8x16RQ(k4 int, a *uint8, lda int, b *int8, out *int8, ldo int, tab *int32, zp, lo, hi int32)

//go:noescape
func gemmI8x8x32RQF(k4 int, a *uint8, lda int, b *int8, out *int8, ldo int, tab *int32, lo, hi int32, mask uint32)

//go:noescape
func gemmI8x8x16RQF(k4 int, a *uint8, lda int, b *int8, out *int8, ldo int, tab *int32, lo, hi int32, mask uint32)

//go:noescape
func gemmI8x8x32RQFS(k4 int, a *uint8, lda int, b *int8, out *int8, ldo int, tab *int32, lo, hi int32, mask uint32, segs, segstride int)

//go:noescape
func gemmI8x8x16RQFS(k4 int, a *uint8, lda int, b *int8, out *int8, ldo int, tab *int32, lo, hi int32, mask uint32, segs, segstride int)

// gemmRequantSeg is GemmU8I8RequantSeg's kernel loop; it reports false
// when the kernels do not run here.
func gemmRequantSeg(m int, a []uint8, lda, segs, segStride int, b *PackedI8, r *Requant, out []int8, ldo int) bool {
	if !UseVNNI() || !use512() || r.Double || r.tabF == nil || !hasRQFast || m < 8 {
		return false
	}
	k4 := b.Kp / segs / 4
	for p := 0; p*I8Tile < b.N; p++ {
		panel := &b.Data[p*b.Kp*I8Tile]
		tab := &r.tabF[p*2*128]
		rest := b.N - p*I8Tile
		mask := uint32(1)<<min(rest, 32) - 1
		for i := 0; i < m; i += 8 {
			i = min(i, m-8) // the last tile overlaps the one before
			if rest <= 16 {
				gemmI8x8x16RQFS(k4, &a[i*lda], lda, panel, &out[i*ldo+p*I8Tile], ldo, tab, r.Lo, r.Hi, mask, segs, segStride)
			} else {
				gemmI8x8x32RQFS(k4, &a[i*lda], lda, panel, &out[i*ldo+p*I8Tile], ldo, tab, r.Lo, r.Hi, mask, segs, segStride)
			}
		}
	}
	return true
}

// gemmRequantVNNI runs the fused GEMM and requantization on the 8-row
// tiles of whole 32-channel panels and of a last half panel (with tabF:
// of every panel, the last one's store masked to its channels), and
// reports how many rows and channels that covered (0, 0 when it does not
// apply).
func gemmRequantVNNI(m int, a []uint8, lda int, b *PackedI8, r *Requant, out []int8, ldo int) (rows, chans int) {
	if !UseVNNI() || !use512() || r.Double || r.C != b.N {
		return 0, 0
	}
	if r.tabF != nil && hasRQFast {
		rows = m / 8 * 8
		if rows == 0 {
			return 0, 0
		}
		k4 := b.Kp / 4
		for p := 0; p*I8Tile < b.N; p++ {
			panel := &b.Data[p*b.Kp*I8Tile]
			tab := &r.tabF[p*2*128]
			rest := b.N - p*I8Tile
			mask := uint32(1)<<min(rest, 32) - 1
			for i := 0; i < rows; i += 8 {
				if rest <= 16 {
					gemmI8x8x16RQF(k4, &a[i*lda], lda, panel, &out[i*ldo+p*I8Tile], ldo, tab, r.Lo, r.Hi, mask)
				} else {
					gemmI8x8x32RQF(k4, &a[i*lda], lda, panel, &out[i*ldo+p*I8Tile], ldo, tab, r.Lo, r.Hi, mask)
				}
			}
		}
		return rows, b.N
	}
	rows, chans = m/8*8, b.N/16*16
	if rows == 0 || chans == 0 {
		return 0, 0
	}
	k4 := b.Kp / 4
	for p := 0; p*I8Tile < chans; p++ {
		panel := &b.Data[p*b.Kp*I8Tile]
		tab := &r.tab16[p*2*128]
		half := chans-p*I8Tile < I8Tile
		for i := 0; i < rows; i += 8 {
			if half {
				gemmI8x8x16RQ(k4, &a[i*lda], lda, panel, &out[i*ldo+p*I8Tile], ldo, tab, r.ZP, r.Lo, r.Hi)
			} else {
				gemmI8x8x32RQ(k4, &a[i*lda], lda, panel, &out[i*ldo+p*I8Tile], ldo, tab, r.ZP, r.Lo, r.Hi)
			}
		}
	}
	return rows, chans
}

//go:noescape
func quantizeF32AVX2(out *int8, in *float32, n int, scale float32, zp int32)

//go:noescape
func quantizeF32512(out *int8, in *float32, n int, scale float32, zp int32)

//go:noescape
func quantizeF32512R(out *int8, in *float32, n int, scale, recip float32, zp int32)

// hasQuantRecip selects quantizeF32512R where scale and 1/scale are normal
// (tests turn it off).
var hasQuantRecip = true

// quantizeF32 runs n values (a multiple of 8): whole blocks of 16 on
// AVX-512, the rest on AVX2.
func quantizeF32(out *int8, in *float32, n int, scale float32, zp int32) {
	if v := n / 16 * 16; use512() && v > 0 {
		if r := 1 / scale; hasQuantRecip && normal32(scale) && normal32(r) {
			quantizeF32512R(out, in, v, scale, r, zp)
		} else {
			quantizeF32512(out, in, v, scale, zp)
		}
		if v == n {
			return
		}
		out, in, n = (*int8)(unsafe.Add(unsafe.Pointer(out), v)), (*float32)(unsafe.Add(unsafe.Pointer(in), 4*v)), n-v
	}
	quantizeF32AVX2(out, in, n, scale, zp)
}

// normal32 reports whether x is a finite normal float32.
func normal32(x float32) bool {
	e := math.Float32bits(x) >> 23 & 0xff
	return e != 0 && e != 0xff
}
