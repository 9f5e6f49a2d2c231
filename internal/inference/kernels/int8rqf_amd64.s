//go:build amd64

#include "textflag.h"

// The fused int8 GEMM + requantization tiles of gemmI8x8x32RQ and
// gemmI8x8x16RQ (int8_amd64.s) with the rescale in Requant.tabF's form:
// per 16 channels the products' high dwords gathered by a VPERMT2D, one
// dword add of the rounding constant (the zero point in it) and one
// arithmetic shift (see RQF16), 8 instructions with the clamp where the
// tab16 form takes 12 and a zero-point add (9 in the O forms, where a
// channel's constant has a low dword). A store mask (one bit per output byte of the row's 32 or 16) lets a
// panel's last channels end anywhere, so a layer of 24 channels is one
// tile pass instead of a 16-channel pass plus a whole-panel GEMM through
// int32 for the last 8.

// RQF16(acc, off, dst) rescales the 16 sums in acc with the tabF block at
// off(R11) into dst, clamped to Z28..Z29 (Z21, Z22 scratch, Z27 =
// rqfHigh): the 64-bit products of the even and the odd channels, their
// high dwords gathered in channel order by one VPERMT2D (a floor by 2^32),
// plus the high dword of each channel's rounding constant (word 112 on),
// then each shifted right by its tot-32. It needs every constant's low
// dword 0, so every tot > 32 (RQFHI checks): floor((p + c)/2^32) is then
// floor(p/2^32) + c/2^32, one dword add where two 64-bit adds of the
// whole constants took one instruction more (a uop on the multiplies'
// ports).
#define RQF16(acc, off, dst) \
	RQF16NC(acc, off, dst) \
	VPMAXSD   Z28, dst, dst \
	VPMINSD   Z29, dst, dst

// RQF16NC is RQF16 without the clamp (the packs below saturate instead).
#define RQF16NC(acc, off, dst) \
	VPMULDQ   off+64(R11), acc, Z21 \
	VPSHUFD   $0xf5, acc, Z22 \
	VPMULDQ   off+68(R11), Z22, Z22 \
	VPERMT2D  Z22, Z27, Z21 \
	VPADDD    off+448(R11), Z21, Z21 \
	VPSRAVD   off+384(R11), Z21, dst

// RQF32ROWS2P stores two rows of 32 channels (sums a0, a1 and b0, b1)
// under K7 when the clamp is the whole int8 range: two VPACKSSDW and a
// VPACKSSWB saturate all 64 results at once and one VPERMB (Z26 =
// rqfPackRows) puts them in row and channel order.
#define RQF32ROWS2P(a0, a1, b0, b1) \
	RQF16NC(a0, 0, Z20) \
	RQF16NC(a1, 512, Z19) \
	VPACKSSDW     Z19, Z20, Z20 \
	RQF16NC(b0, 0, Z18) \
	RQF16NC(b1, 512, Z19) \
	VPACKSSDW     Z19, Z18, Z18 \
	VPACKSSWB     Z18, Z20, Z20 \
	VPERMB        Z20, Z26, Z20 \
	VMOVDQU8      Y20, K7, (R8) \
	VEXTRACTI64X4 $1, Z20, Y19 \
	VMOVDQU8      Y19, K7, (R8)(R9*1) \
	LEAQ          (R8)(R9*2), R8

// RQF32ROW stores one row of 32 channels (sums acc0, acc1) under K7.
#define RQF32ROW(acc0, acc1) \
	RQF16(acc0, 0, Z20) \
	RQF16(acc1, 512, Z19) \
	VPERMT2B  Z19, Z26, Z20 \
	VMOVDQU8  Y20, K7, (R8) \
	ADDQ      R9, R8

// RQF16ROW stores one row of 16 channels under K7.
#define RQF16ROW(acc) \
	RQF16(acc, 0, Z20) \
	VPMOVDB   Z20, K7, (R8) \
	ADDQ      R9, R8

// RQF16ROWS is RQF16ROW when the clamp is the whole int8 range: VPMOVSDB's
// saturation is the clamp, in place of a VPMAXSD and a VPMINSD.
#define RQF16ROWS(acc) \
	RQF16NC(acc, 0, Z20) \
	VPMOVSDB  Z20, K7, (R8) \
	ADDQ      R9, R8

// RQF16ROWS8 stores the 8 rows of Z0..Z7 (16 channels each) under K7,
// clamped by saturation where the clamp is all of int8.
#define RQF16ROWS8(full, done) \
	CMPL lo+56(FP), $-128 \
	JNE  full \
	CMPL hi+60(FP), $127 \
	JNE  full \
	RQF16ROWS(Z0) \
	RQF16ROWS(Z1) \
	RQF16ROWS(Z2) \
	RQF16ROWS(Z3) \
	RQF16ROWS(Z4) \
	RQF16ROWS(Z5) \
	RQF16ROWS(Z6) \
	RQF16ROWS(Z7) \
	JMP  done \
full: \
	RQF16ROW(Z0) \
	RQF16ROW(Z1) \
	RQF16ROW(Z2) \
	RQF16ROW(Z3) \
	RQF16ROW(Z4) \
	RQF16ROW(Z5) \
	RQF16ROW(Z6) \
	RQF16ROW(Z7) \
done:

// The O forms are the macros above with tabF's two 64-bit sums (RQF16NCO:
// the rounding constants added as int64s before the high dwords are
// gathered), for a table where some channel's total shift is 32
// (Requant.fastTable: its constant is not a multiple of 2^32); RQFHI
// branches to them.
#define RQF16O(acc, off, dst) \
	RQF16NCO(acc, off, dst) \
	VPMAXSD   Z28, dst, dst \
	VPMINSD   Z29, dst, dst

#define RQF16NCO(acc, off, dst) \
	VPMULDQ   off+64(R11), acc, Z21 \
	VPSHUFD   $0xf5, acc, Z22 \
	VPMULDQ   off+68(R11), Z22, Z22 \
	VPADDQ    off+128(R11), Z21, Z21 \
	VPADDQ    off+192(R11), Z22, Z22 \
	VPERMT2D  Z22, Z27, Z21 \
	VPSRAVD   off+384(R11), Z21, dst

#define RQF32ROWS2PO(a0, a1, b0, b1) \
	RQF16NCO(a0, 0, Z20) \
	RQF16NCO(a1, 512, Z19) \
	VPACKSSDW     Z19, Z20, Z20 \
	RQF16NCO(b0, 0, Z18) \
	RQF16NCO(b1, 512, Z19) \
	VPACKSSDW     Z19, Z18, Z18 \
	VPACKSSWB     Z18, Z20, Z20 \
	VPERMB        Z20, Z26, Z20 \
	VMOVDQU8      Y20, K7, (R8) \
	VEXTRACTI64X4 $1, Z20, Y19 \
	VMOVDQU8      Y19, K7, (R8)(R9*1) \
	LEAQ          (R8)(R9*2), R8

#define RQF32ROWO(acc0, acc1) \
	RQF16O(acc0, 0, Z20) \
	RQF16O(acc1, 512, Z19) \
	VPERMT2B  Z19, Z26, Z20 \
	VMOVDQU8  Y20, K7, (R8) \
	ADDQ      R9, R8

#define RQF16ROWO(acc) \
	RQF16O(acc, 0, Z20) \
	VPMOVDB   Z20, K7, (R8) \
	ADDQ      R9, R8

#define RQF16ROWSO(acc) \
	RQF16NCO(acc, 0, Z20) \
	VPMOVSDB  Z20, K7, (R8) \
	ADDQ      R9, R8

#define RQF16ROWS8O(full, done) \
	CMPL lo+56(FP), $-128 \
	JNE  full \
	CMPL hi+60(FP), $127 \
	JNE  full \
	RQF16ROWSO(Z0) \
	RQF16ROWSO(Z1) \
	RQF16ROWSO(Z2) \
	RQF16ROWSO(Z3) \
	RQF16ROWSO(Z4) \
	RQF16ROWSO(Z5) \
	RQF16ROWSO(Z6) \
	RQF16ROWSO(Z7) \
	JMP  done \
full: \
	RQF16ROWO(Z0) \
	RQF16ROWO(Z1) \
	RQF16ROWO(Z2) \
	RQF16ROWO(Z3) \
	RQF16ROWO(Z4) \
	RQF16ROWO(Z5) \
	RQF16ROWO(Z6) \
	RQF16ROWO(Z7) \
done:

// RQFHI(second, old) jumps to old unless every channel of the tabF
// block at (R11) (and of the one at second(R11) when second is not 0)
// shifts by more than 32 (word 96 on: tot-32 > 0), i.e. has its rounding
// constant's high dword in word 112 on and no low dword (fastTable).
#define RQFHI(second, old) \
	VMOVDQU32 384(R11), Z21 \
	VPMINUD   second+384(R11), Z21, Z21 \
	VPTESTNMD Z21, Z21, K1 \
	KORTESTW  K1, K1 \
	JNZ       old

#define RQFSETUP \
	MOVL         lo+56(FP), AX \
	VPBROADCASTD AX, Z28 \
	MOVL         hi+60(FP), AX \
	VPBROADCASTD AX, Z29 \
	VMOVDQU64    rqfHigh<>(SB), Z27 \
	MOVL         mask+64(FP), AX \
	KMOVD        AX, K7 \
	MOVQ         tab+48(FP), R11 \
	MOVQ         out+32(FP), R8 \
	MOVQ         ldo+40(FP), R9

#define RQFROWS \
	MOVQ k4+0(FP), CX \
	MOVQ a+8(FP), SI \
	MOVQ lda+16(FP), DX \
	MOVQ b+24(FP), DI \
	LEAQ (SI)(DX*2), R10 \
	LEAQ (R10)(DX*2), R11 \
	LEAQ (R11)(DX*2), R12 \
	MOVQ tab+48(FP), AX

// func gemmI8x8x32RQF(k4 int, a *uint8, lda int, b *int8, out *int8, ldo int, tab *int32, lo, hi int32, mask uint32)
// An 8-row tile of one whole panel: the 16 accumulators start from the
// two tabF blocks' biases, run the k loop of gemmI8x8x32RQ, and each row's
// 32 bytes are stored under mask.
TEXT ·gemmI8x8x32RQF(SB), NOSPLIT, $0-68
	RQFROWS
	VMOVDQU32 (AX), Z0
	VMOVDQU32 512(AX), Z1
	VMOVDQA32 Z0, Z2
	VMOVDQA32 Z1, Z3
	VMOVDQA32 Z0, Z4
	VMOVDQA32 Z1, Z5
	VMOVDQA32 Z0, Z6
	VMOVDQA32 Z1, Z7
	VMOVDQA32 Z0, Z8
	VMOVDQA32 Z1, Z9
	VMOVDQA32 Z0, Z10
	VMOVDQA32 Z1, Z11
	VMOVDQA32 Z0, Z12
	VMOVDQA32 Z1, Z13
	VMOVDQA32 Z0, Z14
	VMOVDQA32 Z1, Z15

rqfloop32:
	VMOVDQU32 (DI), Z16
	VMOVDQU32 64(DI), Z17
	VPBROADCASTD (SI), Z18
	VPBROADCASTD (SI)(DX*1), Z19
	VPBROADCASTD (R10), Z20
	VPBROADCASTD (R10)(DX*1), Z21
	VPBROADCASTD (R11), Z22
	VPBROADCASTD (R11)(DX*1), Z23
	VPBROADCASTD (R12), Z24
	VPBROADCASTD (R12)(DX*1), Z25
	VPDPBUSD Z16, Z18, Z0
	VPDPBUSD Z17, Z18, Z1
	VPDPBUSD Z16, Z19, Z2
	VPDPBUSD Z17, Z19, Z3
	VPDPBUSD Z16, Z20, Z4
	VPDPBUSD Z17, Z20, Z5
	VPDPBUSD Z16, Z21, Z6
	VPDPBUSD Z17, Z21, Z7
	VPDPBUSD Z16, Z22, Z8
	VPDPBUSD Z17, Z22, Z9
	VPDPBUSD Z16, Z23, Z10
	VPDPBUSD Z17, Z23, Z11
	VPDPBUSD Z16, Z24, Z12
	VPDPBUSD Z17, Z24, Z13
	VPDPBUSD Z16, Z25, Z14
	VPDPBUSD Z17, Z25, Z15
	ADDQ $4, SI
	ADDQ $4, R10
	ADDQ $4, R11
	ADDQ $4, R12
	ADDQ $128, DI
	DECQ CX
	JNZ  rqfloop32

	RQFSETUP
	RQFHI(512, rqf32old)
	CMPL lo+56(FP), $-128
	JNE  rqf32clamp
	CMPL hi+60(FP), $127
	JNE  rqf32clamp
	VMOVDQU64 rqfPackRows<>(SB), Z26
	RQF32ROWS2P(Z0, Z1, Z2, Z3)
	RQF32ROWS2P(Z4, Z5, Z6, Z7)
	RQF32ROWS2P(Z8, Z9, Z10, Z11)
	RQF32ROWS2P(Z12, Z13, Z14, Z15)
	VZEROUPPER
	RET

rqf32clamp:
	VMOVDQU64 rqfPack32<>(SB), Z26
	RQF32ROW(Z0, Z1)
	RQF32ROW(Z2, Z3)
	RQF32ROW(Z4, Z5)
	RQF32ROW(Z6, Z7)
	RQF32ROW(Z8, Z9)
	RQF32ROW(Z10, Z11)
	RQF32ROW(Z12, Z13)
	RQF32ROW(Z14, Z15)
	VZEROUPPER
	RET

rqf32old:
	CMPL lo+56(FP), $-128
	JNE  rqf32clampo
	CMPL hi+60(FP), $127
	JNE  rqf32clampo
	VMOVDQU64 rqfPackRows<>(SB), Z26
	RQF32ROWS2PO(Z0, Z1, Z2, Z3)
	RQF32ROWS2PO(Z4, Z5, Z6, Z7)
	RQF32ROWS2PO(Z8, Z9, Z10, Z11)
	RQF32ROWS2PO(Z12, Z13, Z14, Z15)
	VZEROUPPER
	RET

rqf32clampo:
	VMOVDQU64 rqfPack32<>(SB), Z26
	RQF32ROWO(Z0, Z1)
	RQF32ROWO(Z2, Z3)
	RQF32ROWO(Z4, Z5)
	RQF32ROWO(Z6, Z7)
	RQF32ROWO(Z8, Z9)
	RQF32ROWO(Z10, Z11)
	RQF32ROWO(Z12, Z13)
	RQF32ROWO(Z14, Z15)
	VZEROUPPER
	RET

// func gemmI8x8x16RQF(k4 int, a *uint8, lda int, b *int8, out *int8, ldo int, tab *int32, lo, hi int32, mask uint32)
// gemmI8x8x32RQF for the first 16 channels of a panel (mask: 16 bits).
TEXT ·gemmI8x8x16RQF(SB), NOSPLIT, $0-68
	RQFROWS
	VMOVDQU32 (AX), Z0
	VMOVDQA32 Z0, Z1
	VMOVDQA32 Z0, Z2
	VMOVDQA32 Z0, Z3
	VMOVDQA32 Z0, Z4
	VMOVDQA32 Z0, Z5
	VMOVDQA32 Z0, Z6
	VMOVDQA32 Z0, Z7

rqfloop16:
	VMOVDQU32 (DI), Z16
	VPBROADCASTD (SI), Z18
	VPBROADCASTD (SI)(DX*1), Z19
	VPBROADCASTD (R10), Z20
	VPBROADCASTD (R10)(DX*1), Z21
	VPBROADCASTD (R11), Z22
	VPBROADCASTD (R11)(DX*1), Z23
	VPBROADCASTD (R12), Z24
	VPBROADCASTD (R12)(DX*1), Z25
	VPDPBUSD Z16, Z18, Z0
	VPDPBUSD Z16, Z19, Z1
	VPDPBUSD Z16, Z20, Z2
	VPDPBUSD Z16, Z21, Z3
	VPDPBUSD Z16, Z22, Z4
	VPDPBUSD Z16, Z23, Z5
	VPDPBUSD Z16, Z24, Z6
	VPDPBUSD Z16, Z25, Z7
	ADDQ $4, SI
	ADDQ $4, R10
	ADDQ $4, R11
	ADDQ $4, R12
	ADDQ $128, DI
	DECQ CX
	JNZ  rqfloop16

	RQFSETUP
	RQFHI(0, rqf16old)
	RQF16ROWS8(rqf16clamp, rqf16done)
	VZEROUPPER
	RET

rqf16old:
	RQF16ROWS8O(rqf16clampo, rqf16doneo)
	VZEROUPPER
	RET

// func gemmI8x8x32RQFS(k4 int, a *uint8, lda int, b *int8, out *int8, ldo int, tab *int32, lo, hi int32, mask uint32, segs, segstride int)
// gemmI8x8x32RQF over activation rows made of segs segments of 4*k4
// bytes, segstride bytes apart (a convolution's window rows read in place
// from a padded image): the weights' k runs segment by segment.
TEXT ·gemmI8x8x32RQFS(SB), NOSPLIT, $0-88
	RQFROWS
	VMOVDQU32 (AX), Z0
	VMOVDQU32 512(AX), Z1
	VMOVDQA32 Z0, Z2
	VMOVDQA32 Z1, Z3
	VMOVDQA32 Z0, Z4
	VMOVDQA32 Z1, Z5
	VMOVDQA32 Z0, Z6
	VMOVDQA32 Z1, Z7
	VMOVDQA32 Z0, Z8
	VMOVDQA32 Z1, Z9
	VMOVDQA32 Z0, Z10
	VMOVDQA32 Z1, Z11
	VMOVDQA32 Z0, Z12
	VMOVDQA32 Z1, Z13
	VMOVDQA32 Z0, Z14
	VMOVDQA32 Z1, Z15
	MOVQ segs+72(FP), R13
	MOVQ segstride+80(FP), BX
	MOVQ k4+0(FP), AX
	SHLQ $2, AX
	SUBQ AX, BX

rqfsegs32:
	MOVQ k4+0(FP), CX

rqfks32:
	VMOVDQU32 (DI), Z16
	VMOVDQU32 64(DI), Z17
	VPBROADCASTD (SI), Z18
	VPBROADCASTD (SI)(DX*1), Z19
	VPBROADCASTD (R10), Z20
	VPBROADCASTD (R10)(DX*1), Z21
	VPBROADCASTD (R11), Z22
	VPBROADCASTD (R11)(DX*1), Z23
	VPBROADCASTD (R12), Z24
	VPBROADCASTD (R12)(DX*1), Z25
	VPDPBUSD Z16, Z18, Z0
	VPDPBUSD Z17, Z18, Z1
	VPDPBUSD Z16, Z19, Z2
	VPDPBUSD Z17, Z19, Z3
	VPDPBUSD Z16, Z20, Z4
	VPDPBUSD Z17, Z20, Z5
	VPDPBUSD Z16, Z21, Z6
	VPDPBUSD Z17, Z21, Z7
	VPDPBUSD Z16, Z22, Z8
	VPDPBUSD Z17, Z22, Z9
	VPDPBUSD Z16, Z23, Z10
	VPDPBUSD Z17, Z23, Z11
	VPDPBUSD Z16, Z24, Z12
	VPDPBUSD Z17, Z24, Z13
	VPDPBUSD Z16, Z25, Z14
	VPDPBUSD Z17, Z25, Z15
	ADDQ $4, SI
	ADDQ $4, R10
	ADDQ $4, R11
	ADDQ $4, R12
	ADDQ $128, DI
	DECQ CX
	JNZ  rqfks32
	ADDQ BX, SI
	ADDQ BX, R10
	ADDQ BX, R11
	ADDQ BX, R12
	DECQ R13
	JNZ  rqfsegs32

	RQFSETUP
	RQFHI(512, rqf32sold)
	CMPL lo+56(FP), $-128
	JNE  rqf32sclamp
	CMPL hi+60(FP), $127
	JNE  rqf32sclamp
	VMOVDQU64 rqfPackRows<>(SB), Z26
	RQF32ROWS2P(Z0, Z1, Z2, Z3)
	RQF32ROWS2P(Z4, Z5, Z6, Z7)
	RQF32ROWS2P(Z8, Z9, Z10, Z11)
	RQF32ROWS2P(Z12, Z13, Z14, Z15)
	VZEROUPPER
	RET

rqf32sclamp:
	VMOVDQU64 rqfPack32<>(SB), Z26
	RQF32ROW(Z0, Z1)
	RQF32ROW(Z2, Z3)
	RQF32ROW(Z4, Z5)
	RQF32ROW(Z6, Z7)
	RQF32ROW(Z8, Z9)
	RQF32ROW(Z10, Z11)
	RQF32ROW(Z12, Z13)
	RQF32ROW(Z14, Z15)
	VZEROUPPER
	RET

rqf32sold:
	CMPL lo+56(FP), $-128
	JNE  rqf32sclampo
	CMPL hi+60(FP), $127
	JNE  rqf32sclampo
	VMOVDQU64 rqfPackRows<>(SB), Z26
	RQF32ROWS2PO(Z0, Z1, Z2, Z3)
	RQF32ROWS2PO(Z4, Z5, Z6, Z7)
	RQF32ROWS2PO(Z8, Z9, Z10, Z11)
	RQF32ROWS2PO(Z12, Z13, Z14, Z15)
	VZEROUPPER
	RET

rqf32sclampo:
	VMOVDQU64 rqfPack32<>(SB), Z26
	RQF32ROWO(Z0, Z1)
	RQF32ROWO(Z2, Z3)
	RQF32ROWO(Z4, Z5)
	RQF32ROWO(Z6, Z7)
	RQF32ROWO(Z8, Z9)
	RQF32ROWO(Z10, Z11)
	RQF32ROWO(Z12, Z13)
	RQF32ROWO(Z14, Z15)
	VZEROUPPER
	RET

// func gemmI8x8x16RQFS(k4 int, a *uint8, lda int, b *int8, out *int8, ldo int, tab *int32, lo, hi int32, mask uint32, segs, segstride int)
// gemmI8x8x16RQF over activation rows made of segs segments of 4*k4
// bytes, segstride bytes apart (a convolution's window rows read in place
// from a padded image): the weights' k runs segment by segment.
TEXT ·gemmI8x8x16RQFS(SB), NOSPLIT, $0-88
	RQFROWS
	VMOVDQU32 (AX), Z0
	VMOVDQA32 Z0, Z1
	VMOVDQA32 Z0, Z2
	VMOVDQA32 Z0, Z3
	VMOVDQA32 Z0, Z4
	VMOVDQA32 Z0, Z5
	VMOVDQA32 Z0, Z6
	VMOVDQA32 Z0, Z7
	MOVQ segs+72(FP), R13
	MOVQ segstride+80(FP), BX
	MOVQ k4+0(FP), AX
	SHLQ $2, AX
	SUBQ AX, BX

rqfsegs16:
	MOVQ k4+0(FP), CX

rqfks16:
	VMOVDQU32 (DI), Z16
	VPBROADCASTD (SI), Z18
	VPBROADCASTD (SI)(DX*1), Z19
	VPBROADCASTD (R10), Z20
	VPBROADCASTD (R10)(DX*1), Z21
	VPBROADCASTD (R11), Z22
	VPBROADCASTD (R11)(DX*1), Z23
	VPBROADCASTD (R12), Z24
	VPBROADCASTD (R12)(DX*1), Z25
	VPDPBUSD Z16, Z18, Z0
	VPDPBUSD Z16, Z19, Z1
	VPDPBUSD Z16, Z20, Z2
	VPDPBUSD Z16, Z21, Z3
	VPDPBUSD Z16, Z22, Z4
	VPDPBUSD Z16, Z23, Z5
	VPDPBUSD Z16, Z24, Z6
	VPDPBUSD Z16, Z25, Z7
	ADDQ $4, SI
	ADDQ $4, R10
	ADDQ $4, R11
	ADDQ $4, R12
	ADDQ $128, DI
	DECQ CX
	JNZ  rqfks16
	ADDQ BX, SI
	ADDQ BX, R10
	ADDQ BX, R11
	ADDQ BX, R12
	DECQ R13
	JNZ  rqfsegs16

	RQFSETUP
	RQFHI(0, rqf16sold)
	RQF16ROWS8(rqf16sclamp, rqf16sdone)
	VZEROUPPER
	RET

rqf16sold:
	RQF16ROWS8O(rqf16sclampo, rqf16sdoneo)
	VZEROUPPER
	RET

// rqfPack32 picks the low bytes of two vectors of 16 dwords into 32 bytes
// (VPERMT2B indices: 4i, then 64+4i).
DATA rqfPack32<>+0(SB)/8, $0x1c1814100c080400
DATA rqfPack32<>+8(SB)/8, $0x3c3834302c282420
DATA rqfPack32<>+16(SB)/8, $0x5c5854504c484440
DATA rqfPack32<>+24(SB)/8, $0x7c7874706c686460
DATA rqfPack32<>+32(SB)/8, $0
DATA rqfPack32<>+40(SB)/8, $0
DATA rqfPack32<>+48(SB)/8, $0
DATA rqfPack32<>+56(SB)/8, $0
GLOBL rqfPack32<>(SB), RODATA|NOPTR, $64

// func addI8512(out, a, b *int8, n int, am, bm, c, shift, zp, lo, hi int32)
// The quantized ADD on 16 pairs at a time (n a multiple of 16): a*am +
// b*bm + c, with c the rounding term less the zero points times their
// multipliers (the same int32 sum as addI8AVX2's, whose terms fit by
// AddI8.fits32; wrapping partial sums cannot change it), shifted right,
// plus zp, clamped and narrowed.
TEXT ·addI8512(SB), NOSPLIT, $0-60
	MOVQ         out+0(FP), DI
	MOVQ         a+8(FP), SI
	MOVQ         b+16(FP), BX
	MOVQ         n+24(FP), CX
	SHRQ         $4, CX
	MOVL         am+32(FP), AX
	VPBROADCASTD AX, Z13
	MOVL         bm+36(FP), AX
	VPBROADCASTD AX, Z12
	MOVL         c+40(FP), AX
	VPBROADCASTD AX, Z11
	MOVL         shift+44(FP), AX
	VMOVQ        AX, X10
	MOVL         zp+48(FP), AX
	VPBROADCASTD AX, Z9
	MOVL         lo+52(FP), AX
	VPBROADCASTD AX, Z8
	MOVL         hi+56(FP), AX
	VPBROADCASTD AX, Z7

add512loop:
	VPMOVSXBD (SI), Z0
	VPMOVSXBD (BX), Z1
	VPMULLD   Z13, Z0, Z0
	VPMULLD   Z12, Z1, Z1
	VPADDD    Z11, Z0, Z0
	VPADDD    Z1, Z0, Z0
	VPSRAD    X10, Z0, Z0
	VPADDD    Z9, Z0, Z0
	VPMAXSD   Z8, Z0, Z0
	VPMINSD   Z7, Z0, Z0
	VPMOVDB   Z0, (DI)
	ADDQ      $16, SI
	ADDQ      $16, BX
	ADDQ      $16, DI
	DECQ      CX
	JNZ       add512loop
	VZEROUPPER
	RET

// rqfPackRows orders the bytes of VPACKSSWB(VPACKSSDW(a0, a1),
// VPACKSSDW(b0, b1)) (per 16-byte lane L: a0's channels 4L.., a1's
// 16+4L.., then b0's and b1's) as row a's 32 channels then row b's.
DATA rqfPackRows<>+0(SB)/8, $0x1312111003020100
DATA rqfPackRows<>+8(SB)/8, $0x3332313023222120
DATA rqfPackRows<>+16(SB)/8, $0x1716151407060504
DATA rqfPackRows<>+24(SB)/8, $0x3736353427262524
DATA rqfPackRows<>+32(SB)/8, $0x1b1a19180b0a0908
DATA rqfPackRows<>+40(SB)/8, $0x3b3a39382b2a2928
DATA rqfPackRows<>+48(SB)/8, $0x1f1e1d1c0f0e0d0c
DATA rqfPackRows<>+56(SB)/8, $0x3f3e3d3c2f2e2d2c
GLOBL rqfPackRows<>(SB), RODATA|NOPTR, $64

// func quantizeF32512(out *int8, in *float32, n int, scale float32, zp int32)
// quantizeF32AVX2 on 16 values at a time (n a multiple of 16): the same
// float32 division, clamp to +-512, truncation and half-away-from-zero
// correction from the exact fraction; the zero point is added and
// VPMOVSDB's saturation is the int8 clamp; NaN lanes take zp.
TEXT ·quantizeF32512(SB), NOSPLIT, $0-32
	MOVQ         out+0(FP), DI
	MOVQ         in+8(FP), SI
	MOVQ         n+16(FP), CX
	SHRQ         $4, CX
	MOVL         scale+24(FP), AX
	VPBROADCASTD AX, Z15
	MOVL         $0xc4000000, AX         // -512.0
	VPBROADCASTD AX, Z14
	MOVL         $0x44000000, AX         // 512.0
	VPBROADCASTD AX, Z13
	MOVL         $0x3f000000, AX         // 0.5
	VPBROADCASTD AX, Z12
	MOVL         $0xbf000000, AX         // -0.5
	VPBROADCASTD AX, Z11
	MOVL         zp+28(FP), AX
	VPBROADCASTD AX, Z10
	MOVL         $1, AX
	VPBROADCASTD AX, Z9

q512loop:
	VMOVUPS    (SI), Z0
	VDIVPS     Z15, Z0, Z0
	VCMPPS     $3, Z0, Z0, K1
	VMAXPS     Z14, Z0, Z0
	VMINPS     Z13, Z0, Z0
	VCVTTPS2DQ Z0, Z1
	VCVTDQ2PS  Z1, Z2
	VSUBPS     Z2, Z0, Z2
	VCMPPS     $13, Z12, Z2, K2
	VCMPPS     $2, Z11, Z2, K3
	VPADDD     Z9, Z1, K2, Z1
	VPSUBD     Z9, Z1, K3, Z1
	VPADDD     Z10, Z1, Z1
	VMOVDQA32  Z10, K1, Z1
	VPMOVSDB   Z1, (DI)
	ADDQ       $64, SI
	ADDQ       $16, DI
	DECQ       CX
	JNZ        q512loop
	VZEROUPPER
	RET

// func quantizeF32512R(out *int8, in *float32, n int, scale, recip float32, zp int32)
// quantizeF32512 with the division replaced by a product with recip =
// 1/scale (both normal): x*recip is within 2^-13 of the quotient x/scale
// wherever the result is not saturated (|x/scale| <= 512: relative errors
// of 2^-23 and 2^-24), so it rounds the same way unless it lies within
// that distance of a tie. Rounding adds copysign(0.5) and truncates (that
// sum's own rounding moves it by at most 2^-15); a block of 16 in which
// any sum lies within 2^-11 of an integer (VREDUCEPS: the distance to the
// nearest) is recomputed with the division.
TEXT ·quantizeF32512R(SB), NOSPLIT, $0-36
	MOVQ         out+0(FP), DI
	MOVQ         in+8(FP), SI
	MOVQ         n+16(FP), CX
	SHRQ         $4, CX
	MOVL         scale+24(FP), AX
	VPBROADCASTD AX, Z15
	MOVL         recip+28(FP), AX
	VPBROADCASTD AX, Z16
	MOVL         $0xc4000000, AX         // -512.0
	VPBROADCASTD AX, Z14
	MOVL         $0x44000000, AX         // 512.0
	VPBROADCASTD AX, Z13
	MOVL         $0x3f000000, AX         // 0.5
	VPBROADCASTD AX, Z12
	MOVL         $0xbf000000, AX         // -0.5
	VPBROADCASTD AX, Z11
	MOVL         zp+32(FP), AX
	VPBROADCASTD AX, Z10
	MOVL         $1, AX
	VPBROADCASTD AX, Z9
	MOVL         $0x80000000, AX
	VPBROADCASTD AX, Z17
	MOVL         $0x7fffffff, AX
	VPBROADCASTD AX, Z18
	MOVL         $0x3a000000, AX         // 2^-11
	VPBROADCASTD AX, Z19

qrloop:
	VMOVUPS      (SI), Z0
	VMULPS       Z16, Z0, Z0
	VCMPPS       $3, Z0, Z0, K1
	VMAXPS       Z14, Z0, Z0
	VMINPS       Z13, Z0, Z0
	VMOVDQA32    Z17, Z3
	VPTERNLOGD   $0xea, Z12, Z0, Z3      // copysign(0.5, y)
	VADDPS       Z3, Z0, Z3
	VREDUCEPS    $0, Z3, Z4
	VANDPS       Z18, Z4, Z4
	VCMPPS       $1, Z19, Z4, K4
	KORTESTW     K4, K4
	JNZ          qrslow
	VCVTTPS2DQ   Z3, Z1

qrstore:
	VPADDD       Z10, Z1, Z1
	VMOVDQA32    Z10, K1, Z1
	VPMOVSDB     Z1, (DI)
	ADDQ         $64, SI
	ADDQ         $16, DI
	DECQ         CX
	JNZ          qrloop
	VZEROUPPER
	RET

qrslow:
	VMOVUPS    (SI), Z0
	VDIVPS     Z15, Z0, Z0
	VCMPPS     $3, Z0, Z0, K1
	VMAXPS     Z14, Z0, Z0
	VMINPS     Z13, Z0, Z0
	VCVTTPS2DQ Z0, Z1
	VCVTDQ2PS  Z1, Z2
	VSUBPS     Z2, Z0, Z2
	VCMPPS     $13, Z12, Z2, K2
	VCMPPS     $2, Z11, Z2, K3
	VPADDD     Z9, Z1, K2, Z1
	VPSUBD     Z9, Z1, K3, Z1
	JMP        qrstore

// rqfHigh is the VPERMT2D index of the high dwords of the even channels'
// qwords (first table) and the odd channels' (second) in channel order:
// dword 2j takes 2j+1, dword 2j+1 takes 16+2j+1.
DATA rqfHigh<>+0(SB)/8, $0x0000001100000001
DATA rqfHigh<>+8(SB)/8, $0x0000001300000003
DATA rqfHigh<>+16(SB)/8, $0x0000001500000005
DATA rqfHigh<>+24(SB)/8, $0x0000001700000007
DATA rqfHigh<>+32(SB)/8, $0x0000001900000009
DATA rqfHigh<>+40(SB)/8, $0x0000001b0000000b
DATA rqfHigh<>+48(SB)/8, $0x0000001d0000000d
DATA rqfHigh<>+56(SB)/8, $0x0000001f0000000f
GLOBL rqfHigh<>(SB), RODATA|NOPTR, $64
