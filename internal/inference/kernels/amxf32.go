package kernels

import "math"

// Float GEMM on AMX BF16 tiles with fp32 accuracy ("bf16x3"). Every fp32
// value x is split into three bfloat16 pieces, hi = bf16(x), mid =
// bf16(x-hi), lo = bf16(x-hi-mid), each rounded to nearest even; the
// differences are exact in fp32, |mid| <= 2^-8|x|, |lo| <= 2^-16|x|, and
// x = hi+mid+lo to within 2^-24 of x. A product a*b is then the sum of six
// piece products, hi*hi, hi*mid, mid*hi, mid*mid, hi*lo and lo*hi (the
// three left out, mid*lo, lo*mid and lo*lo, are at most 2^-24 of it and
// mostly far less), each exact in fp32 and summed by TDPBF16PS into fp32
// tiles: six tile products for every 16x16x32 block, against one FMA per
// multiply-add on AVX-512.
//
// The weights are split once, when packed (PackBF3), into 1.5 times their
// fp32 bytes; the activation rows are split as a GEMM call reads them
// (bf3Split, AVX512_BF16 VCVTNEPS2BF16), 32 rows at a time, or a chunk
// that stays in L2 when the weights are too large to (GemmBF3Act). The
// fp32 sums leave the tiles into a scratch block, and the epilogue (bias,
// residual, bounds, HARD_SWISH) writes the output from there with AVX-512.
//
// Only where the CPU has AMX-BF16 and AVX512_BF16 and Linux permits the
// tiles (BF3Available); the engine uses it only when asked (the graph's
// CSPIPE_AMXF32 switch).

// BF3Panel is the number of output channels of one packed bf16x3 panel.
const BF3Panel = 32

// bf3KBlock is the depth of one tile step (32 bf16 in a 64-byte tile row).
const bf3KBlock = 32

// bf3PieceU16 is the size in uint16 of one piece of one panel's k block:
// 16 rows (pairs of k) of 32 channels, two bf16 each.
const bf3PieceU16 = bf3KBlock * BF3Panel

// PackedBF3 is a K×N weight matrix split into three bf16 pieces in the AMX
// tile layout: panels of 32 channels; in each, k blocks of 32; in each,
// the pieces hi, mid, lo; each piece 16 rows of 128 bytes, row r holding
// for channels 0..15 then 16..31 the pair (k=2r, k=2r+1) of the block.
// K is padded with zeros to Kp (a multiple of 32), N to Np (of 32).
type PackedBF3 struct {
	K, N   int
	Kp, Np int
	data   []uint16
	bias   []float32 // padded to Np
	// Fallback, when set, is the same weights packed by PackB (panels of
	// 32): GemmBF3Act runs the last rows of a call on it when fewer than
	// 8 are left after the tile blocks and its weights are at most
	// bf3FallbackBytes.
	Fallback *PackedB
}

// Panels returns the number of 32-channel panels of b; GemmBF3Act can
// split work across them.
func (b *PackedBF3) Panels() int { return b.Np / BF3Panel }

// Bytes is the memory the split weights and bias take.
func (b *PackedBF3) Bytes() int { return 2*len(b.data) + 4*len(b.bias) }

// bf16RNE rounds x to the nearest bfloat16 (ties to even) as
// VCVTNEPS2BF16 does: denormal inputs and outputs become zeros of their
// sign, NaN stays a (quiet) NaN.
func bf16RNE(x float32) uint16 {
	u := math.Float32bits(x)
	if u&0x7f800000 == 0 {
		return uint16(u>>16) & 0x8000
	}
	if u&0x7fffffff > 0x7f800000 {
		return uint16(u>>16) | 0x40
	}
	u += 0x7fff + (u>>16)&1
	return uint16(u >> 16)
}

// bf16f widens a bfloat16 to float32 (exact).
func bf16f(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// splitBF3 returns the three pieces of x.
func splitBF3(x float32) (hi, mid, lo uint16) {
	hi = bf16RNE(x)
	r := x - bf16f(hi)
	mid = bf16RNE(r)
	lo = bf16RNE(r - bf16f(mid))
	return hi, mid, lo
}

// PackBF3 splits and packs weights given as N rows of K (w[n*k+kk], as
// PackB takes them) and an optional bias of N.
func PackBF3(w []float32, n, k int, bias []float32) *PackedBF3 {
	kp := (k + bf3KBlock - 1) / bf3KBlock * bf3KBlock
	np := (n + BF3Panel - 1) / BF3Panel * BF3Panel
	kb := kp / bf3KBlock
	p := &PackedBF3{K: k, N: n, Kp: kp, Np: np, data: make([]uint16, np*kp*3), bias: make([]float32, np)}
	for j := 0; j < n; j++ {
		panel, col := j/BF3Panel, j%BF3Panel
		half, ch := col/16, col%16
		for kk := 0; kk < k; kk++ {
			hi, mid, lo := splitBF3(w[j*k+kk])
			blk, kr := kk/bf3KBlock, kk%bf3KBlock
			at := ((panel*kb+blk)*3)*bf3PieceU16 + (kr/2)*64 + half*32 + ch*2 + kr%2
			p.data[at] = hi
			p.data[at+bf3PieceU16] = mid
			p.data[at+2*bf3PieceU16] = lo
		}
	}
	copy(p.bias, bias)
	return p
}

// BF3Work is the scratch one GemmBF3Act call uses (the split activation
// rows and the fp32 sums of a chunk of rows, at most about 1.3 MB); reuse
// one per goroutine.
type BF3Work struct {
	a []uint16
	c []float32
}

// grow makes w hold rows split rows of depth kp and their sums over
// ncols columns.
func (w *BF3Work) grow(rows, kp, ncols int) {
	if n := rows * kp * 3; len(w.a) < n {
		w.a = make([]uint16, n)
	}
	if n := rows * ncols; len(w.c) < n {
		w.c = make([]float32, n)
	}
}
