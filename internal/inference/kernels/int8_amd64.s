//go:build amd64

#include "textflag.h"

#include "i8avx2_amd64.h"

// func gemmI8x4x32(k4 int, a *uint8, lda int, b *int8, c *int32, ldc int)
// Z0..Z7 accumulate rows 0..3 times channels 0-15 and 16-31; each step
// broadcasts 4 activation bytes of a row and multiplies them with 32
// channels' 4 weights (VPDPBUSD: unsigned a, signed b, int32 sums).
TEXT ·gemmI8x4x32(SB), NOSPLIT, $0-48
	MOVQ k4+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), DX
	MOVQ b+24(FP), DI
	MOVQ c+32(FP), R8
	MOVQ ldc+40(FP), R9
	SHLQ $2, R9
	LEAQ (SI)(DX*2), R10
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7

loop:
	VMOVDQU32 (DI), Z8
	VMOVDQU32 64(DI), Z9
	VPBROADCASTD (SI), Z10
	VPBROADCASTD (SI)(DX*1), Z11
	VPBROADCASTD (R10), Z12
	VPBROADCASTD (R10)(DX*1), Z13
	VPDPBUSD Z8, Z10, Z0
	VPDPBUSD Z9, Z10, Z1
	VPDPBUSD Z8, Z11, Z2
	VPDPBUSD Z9, Z11, Z3
	VPDPBUSD Z8, Z12, Z4
	VPDPBUSD Z9, Z12, Z5
	VPDPBUSD Z8, Z13, Z6
	VPDPBUSD Z9, Z13, Z7
	ADDQ $4, SI
	ADDQ $4, R10
	ADDQ $128, DI
	DECQ CX
	JNZ  loop

	VMOVDQU32 Z0, (R8)
	VMOVDQU32 Z1, 64(R8)
	ADDQ      R9, R8
	VMOVDQU32 Z2, (R8)
	VMOVDQU32 Z3, 64(R8)
	ADDQ      R9, R8
	VMOVDQU32 Z4, (R8)
	VMOVDQU32 Z5, 64(R8)
	ADDQ      R9, R8
	VMOVDQU32 Z6, (R8)
	VMOVDQU32 Z7, 64(R8)
	VZEROUPPER
	RET

// func gemmI8x8x32(k4 int, a *uint8, lda int, b *int8, c *int32, ldc int)
// The 8-row form of gemmI8x4x32: Z0..Z15 accumulate rows 0..7 times
// channels 0-15 and 16-31, enough independent sums to keep VPDPBUSD busy.
TEXT ·gemmI8x8x32(SB), NOSPLIT, $0-48
	MOVQ k4+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), DX
	MOVQ b+24(FP), DI
	MOVQ c+32(FP), R8
	MOVQ ldc+40(FP), R9
	SHLQ $2, R9
	LEAQ (SI)(DX*2), R10
	LEAQ (R10)(DX*2), R11
	LEAQ (R11)(DX*2), R12
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15

loop8:
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
	JNZ  loop8

	VMOVDQU32 Z0, (R8)
	VMOVDQU32 Z1, 64(R8)
	ADDQ      R9, R8
	VMOVDQU32 Z2, (R8)
	VMOVDQU32 Z3, 64(R8)
	ADDQ      R9, R8
	VMOVDQU32 Z4, (R8)
	VMOVDQU32 Z5, 64(R8)
	ADDQ      R9, R8
	VMOVDQU32 Z6, (R8)
	VMOVDQU32 Z7, 64(R8)
	ADDQ      R9, R8
	VMOVDQU32 Z8, (R8)
	VMOVDQU32 Z9, 64(R8)
	ADDQ      R9, R8
	VMOVDQU32 Z10, (R8)
	VMOVDQU32 Z11, 64(R8)
	ADDQ      R9, R8
	VMOVDQU32 Z12, (R8)
	VMOVDQU32 Z13, 64(R8)
	ADDQ      R9, R8
	VMOVDQU32 Z14, (R8)
	VMOVDQU32 Z15, 64(R8)
	VZEROUPPER
	RET

// func gemmI16x4x16AVX2(kp int, a *uint16, lda int, b *int16, c *int32, ldc int)
// The AVX2 int8 GEMM tile: 4 rows of activations (widened to uint16, lda
// bytes apart) times 16 channels of a PackedI8's int16 weights (b points
// at a panel's first or second 16 channels; one step of 2 k is 128 bytes).
// Each step broadcasts a row's two activations as one dword, and VPMADDWD
// multiplies it with 8 channels' two weights, giving each channel's exact
// int32 sum of two products in channel order (no shuffles, no
// saturation: 255*(-128)*2 fits in int32). Y0..Y7 accumulate rows 0..3
// times channels 0-7 and 8-15.
TEXT ·gemmI16x4x16AVX2(SB), NOSPLIT, $0-48
	MOVQ kp+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), DX
	MOVQ b+24(FP), DI
	MOVQ c+32(FP), R8
	MOVQ ldc+40(FP), R9
	SHLQ $2, R9
	LEAQ (SI)(DX*2), R10
	I16X4X16ZERO

avx2loop:
	I16X4X16STEP
	DECQ CX
	JNZ  avx2loop

	VMOVDQU Y0, (R8)
	VMOVDQU Y1, 32(R8)
	ADDQ    R9, R8
	VMOVDQU Y2, (R8)
	VMOVDQU Y3, 32(R8)
	ADDQ    R9, R8
	VMOVDQU Y4, (R8)
	VMOVDQU Y5, 32(R8)
	ADDQ    R9, R8
	VMOVDQU Y6, (R8)
	VMOVDQU Y7, 32(R8)
	VZEROUPPER
	RET

// func gemmI8x1x32AVX2(k4 int, a *uint8, b *int8, c *int32, ahead int)
// One row of a (unsigned) times a whole packed int8 panel, for the rows
// past the last block of four: reading the int8 panel rather than W16
// halves the weight bytes, which a batch-1 classifier (one row against
// every weight) is bound by. Each 16 bytes of the panel (4 channels times
// 4 k) are sign-extended to int16 and VPMADDWD'd with the row's 4 bytes
// zero-extended and repeated; Y0..Y7 hold pair sums of channels 0-3, ...,
// 28-31 that VPHADDD folds at the end, VPERMQ restoring channel order.
// Each step prefetches the two lines ahead bytes past its weights (R9).
TEXT ·gemmI8x1x32AVX2(SB), NOSPLIT, $0-40
	MOVQ k4+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), R8
	MOVQ ahead+32(FP), R9
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7

avx2row:
	PREFETCHT0   (DI)(R9*1)
	PREFETCHT0   64(DI)(R9*1)
	VPBROADCASTD (SI), X8
	VPMOVZXBW    X8, Y8
	VPMOVSXBW    (DI), Y9
	VPMADDWD     Y9, Y8, Y9
	VPADDD       Y9, Y0, Y0
	VPMOVSXBW    16(DI), Y10
	VPMADDWD     Y10, Y8, Y10
	VPADDD       Y10, Y1, Y1
	VPMOVSXBW    32(DI), Y11
	VPMADDWD     Y11, Y8, Y11
	VPADDD       Y11, Y2, Y2
	VPMOVSXBW    48(DI), Y12
	VPMADDWD     Y12, Y8, Y12
	VPADDD       Y12, Y3, Y3
	VPMOVSXBW    64(DI), Y9
	VPMADDWD     Y9, Y8, Y9
	VPADDD       Y9, Y4, Y4
	VPMOVSXBW    80(DI), Y10
	VPMADDWD     Y10, Y8, Y10
	VPADDD       Y10, Y5, Y5
	VPMOVSXBW    96(DI), Y11
	VPMADDWD     Y11, Y8, Y11
	VPADDD       Y11, Y6, Y6
	VPMOVSXBW    112(DI), Y12
	VPMADDWD     Y12, Y8, Y12
	VPADDD       Y12, Y7, Y7
	ADDQ         $4, SI
	ADDQ         $128, DI
	DECQ         CX
	JNZ          avx2row

	VPHADDD Y1, Y0, Y0
	VPERMQ  $0xD8, Y0, Y0
	VPHADDD Y3, Y2, Y2
	VPERMQ  $0xD8, Y2, Y2
	VPHADDD Y5, Y4, Y4
	VPERMQ  $0xD8, Y4, Y4
	VPHADDD Y7, Y6, Y6
	VPERMQ  $0xD8, Y6, Y6
	VMOVDQU Y0, (R8)
	VMOVDQU Y2, 32(R8)
	VMOVDQU Y4, 64(R8)
	VMOVDQU Y6, 96(R8)
	VZEROUPPER
	RET

// func widenU8AVX2(n int, src *uint8, dst *uint16)
// dst[i] = src[i] for i < n, n a positive multiple of 16.
TEXT ·widenU8AVX2(SB), NOSPLIT, $0-24
	MOVQ n+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ dst+16(FP), DI
	SHRQ $4, CX

widenloop:
	VPMOVZXBW (SI), Y0
	VMOVDQU   Y0, (DI)
	ADDQ      $16, SI
	ADDQ      $32, DI
	DECQ      CX
	JNZ       widenloop
	VZEROUPPER
	RET

// func widenRowsU8AVX2(rows, kp int, src *uint8, lda int, dst *uint16)
// Row r's kp bytes at src+r*lda (kp a positive multiple of 4) zero-extended
// to the kp uint16s at dst+2*r*kp: 16 bytes a step, then a last 8 and 4
// bytes with loads of those sizes (no byte past the row is read).
TEXT ·widenRowsU8AVX2(SB), NOSPLIT, $0-40
	MOVQ rows+0(FP), BX
	MOVQ kp+8(FP), DX
	MOVQ src+16(FP), R8
	MOVQ lda+24(FP), R9
	MOVQ dst+32(FP), DI

widenrow:
	MOVQ R8, SI
	MOVQ DX, CX
	SHRQ $4, CX
	JZ   widentail8

widen16:
	VPMOVZXBW (SI), Y0
	VMOVDQU   Y0, (DI)
	ADDQ      $16, SI
	ADDQ      $32, DI
	DECQ      CX
	JNZ       widen16

widentail8:
	TESTQ $8, DX
	JZ    widentail4
	VPMOVZXBW (SI), X0
	VMOVDQU   X0, (DI)
	ADDQ      $8, SI
	ADDQ      $16, DI

widentail4:
	TESTQ $4, DX
	JZ    widennext
	VMOVD     (SI), X0
	VPMOVZXBW X0, X0
	VMOVQ     X0, (DI)
	ADDQ      $8, DI

widennext:
	ADDQ R9, R8
	DECQ BX
	JNZ  widenrow
	VZEROUPPER
	RET

// func gemmI8x8x32RQ(k4 int, a *uint8, lda int, b *int8, out *int8, ldo int, tab *int32, zp, lo, hi int32)
// gemmI8x8x32 with the requantization fused: the 16 accumulators (8 rows
// by two blocks of 16 channels) start from the two AVX-512 table blocks'
// biases (see Requant.table), get the single-rounding rescale, less the
// offset already net of the zero point (word block 7), and the clamp; the
// two blocks of a row are packed into 32 bytes by one VPERMT2B and stored
// at once, so the int32 tile never goes to memory.
TEXT ·gemmI8x8x32RQ(SB), NOSPLIT, $0-68
	MOVQ k4+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), DX
	MOVQ b+24(FP), DI
	LEAQ (SI)(DX*2), R10
	LEAQ (R10)(DX*2), R11
	LEAQ (R11)(DX*2), R12
	MOVQ tab+48(FP), AX
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

rqloop8:
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
	JNZ  rqloop8

	MOVL         lo+60(FP), AX
	VPBROADCASTD AX, Z28
	MOVL         hi+64(FP), AX
	VPBROADCASTD AX, Z29
	MOVL         $0xAAAA, AX
	KMOVW        AX, K1
	VMOVDQU64    rqPack32<>(SB), Z26
	MOVQ         tab+48(FP), R11
	VPSRLQ       $32, 64(R11), Z24
	VPSRLQ       $32, 576(R11), Z25
	MOVQ         out+32(FP), R8
	MOVQ         ldo+40(FP), R9
	VPMULDQ      64(R11), Z0, Z21
	VPSRLQ       $32, Z0, Z22
	VPMULDQ      Z24, Z22, Z22
	VPADDQ       192(R11), Z21, Z21
	VPADDQ       256(R11), Z22, Z22
	VPSRLVQ      320(R11), Z21, Z21
	VPSRLVQ      384(R11), Z22, Z22
	VPSLLQ       $32, Z22, Z22
	VPBLENDMD    Z22, Z21, K1, Z20
	VPSUBD       448(R11), Z20, Z20
	VPMAXSD      Z28, Z20, Z20
	VPMINSD      Z29, Z20, Z20
	VPMULDQ      576(R11), Z1, Z21
	VPSRLQ       $32, Z1, Z22
	VPMULDQ      Z25, Z22, Z22
	VPADDQ       704(R11), Z21, Z21
	VPADDQ       768(R11), Z22, Z22
	VPSRLVQ      832(R11), Z21, Z21
	VPSRLVQ      896(R11), Z22, Z22
	VPSLLQ       $32, Z22, Z22
	VPBLENDMD    Z22, Z21, K1, Z19
	VPSUBD       960(R11), Z19, Z19
	VPMAXSD      Z28, Z19, Z19
	VPMINSD      Z29, Z19, Z19
	VPERMT2B     Z19, Z26, Z20
	VMOVDQU8     Y20, (R8)
	ADDQ         R9, R8
	VPMULDQ      64(R11), Z2, Z21
	VPSRLQ       $32, Z2, Z22
	VPMULDQ      Z24, Z22, Z22
	VPADDQ       192(R11), Z21, Z21
	VPADDQ       256(R11), Z22, Z22
	VPSRLVQ      320(R11), Z21, Z21
	VPSRLVQ      384(R11), Z22, Z22
	VPSLLQ       $32, Z22, Z22
	VPBLENDMD    Z22, Z21, K1, Z20
	VPSUBD       448(R11), Z20, Z20
	VPMAXSD      Z28, Z20, Z20
	VPMINSD      Z29, Z20, Z20
	VPMULDQ      576(R11), Z3, Z21
	VPSRLQ       $32, Z3, Z22
	VPMULDQ      Z25, Z22, Z22
	VPADDQ       704(R11), Z21, Z21
	VPADDQ       768(R11), Z22, Z22
	VPSRLVQ      832(R11), Z21, Z21
	VPSRLVQ      896(R11), Z22, Z22
	VPSLLQ       $32, Z22, Z22
	VPBLENDMD    Z22, Z21, K1, Z19
	VPSUBD       960(R11), Z19, Z19
	VPMAXSD      Z28, Z19, Z19
	VPMINSD      Z29, Z19, Z19
	VPERMT2B     Z19, Z26, Z20
	VMOVDQU8     Y20, (R8)
	ADDQ         R9, R8
	VPMULDQ      64(R11), Z4, Z21
	VPSRLQ       $32, Z4, Z22
	VPMULDQ      Z24, Z22, Z22
	VPADDQ       192(R11), Z21, Z21
	VPADDQ       256(R11), Z22, Z22
	VPSRLVQ      320(R11), Z21, Z21
	VPSRLVQ      384(R11), Z22, Z22
	VPSLLQ       $32, Z22, Z22
	VPBLENDMD    Z22, Z21, K1, Z20
	VPSUBD       448(R11), Z20, Z20
	VPMAXSD      Z28, Z20, Z20
	VPMINSD      Z29, Z20, Z20
	VPMULDQ      576(R11), Z5, Z21
	VPSRLQ       $32, Z5, Z22
	VPMULDQ      Z25, Z22, Z22
	VPADDQ       704(R11), Z21, Z21
	VPADDQ       768(R11), Z22, Z22
	VPSRLVQ      832(R11), Z21, Z21
	VPSRLVQ      896(R11), Z22, Z22
	VPSLLQ       $32, Z22, Z22
	VPBLENDMD    Z22, Z21, K1, Z19
	VPSUBD       960(R11), Z19, Z19
	VPMAXSD      Z28, Z19, Z19
	VPMINSD      Z29, Z19, Z19
	VPERMT2B     Z19, Z26, Z20
	VMOVDQU8     Y20, (R8)
	ADDQ         R9, R8
	VPMULDQ      64(R11), Z6, Z21
	VPSRLQ       $32, Z6, Z22
	VPMULDQ      Z24, Z22, Z22
	VPADDQ       192(R11), Z21, Z21
	VPADDQ       256(R11), Z22, Z22
	VPSRLVQ      320(R11), Z21, Z21
	VPSRLVQ      384(R11), Z22, Z22
	VPSLLQ       $32, Z22, Z22
	VPBLENDMD    Z22, Z21, K1, Z20
	VPSUBD       448(R11), Z20, Z20
	VPMAXSD      Z28, Z20, Z20
	VPMINSD      Z29, Z20, Z20
	VPMULDQ      576(R11), Z7, Z21
	VPSRLQ       $32, Z7, Z22
	VPMULDQ      Z25, Z22, Z22
	VPADDQ       704(R11), Z21, Z21
	VPADDQ       768(R11), Z22, Z22
	VPSRLVQ      832(R11), Z21, Z21
	VPSRLVQ      896(R11), Z22, Z22
	VPSLLQ       $32, Z22, Z22
	VPBLENDMD    Z22, Z21, K1, Z19
	VPSUBD       960(R11), Z19, Z19
	VPMAXSD      Z28, Z19, Z19
	VPMINSD      Z29, Z19, Z19
	VPERMT2B     Z19, Z26, Z20
	VMOVDQU8     Y20, (R8)
	ADDQ         R9, R8
	VPMULDQ      64(R11), Z8, Z21
	VPSRLQ       $32, Z8, Z22
	VPMULDQ      Z24, Z22, Z22
	VPADDQ       192(R11), Z21, Z21
	VPADDQ       256(R11), Z22, Z22
	VPSRLVQ      320(R11), Z21, Z21
	VPSRLVQ      384(R11), Z22, Z22
	VPSLLQ       $32, Z22, Z22
	VPBLENDMD    Z22, Z21, K1, Z20
	VPSUBD       448(R11), Z20, Z20
	VPMAXSD      Z28, Z20, Z20
	VPMINSD      Z29, Z20, Z20
	VPMULDQ      576(R11), Z9, Z21
	VPSRLQ       $32, Z9, Z22
	VPMULDQ      Z25, Z22, Z22
	VPADDQ       704(R11), Z21, Z21
	VPADDQ       768(R11), Z22, Z22
	VPSRLVQ      832(R11), Z21, Z21
	VPSRLVQ      896(R11), Z22, Z22
	VPSLLQ       $32, Z22, Z22
	VPBLENDMD    Z22, Z21, K1, Z19
	VPSUBD       960(R11), Z19, Z19
	VPMAXSD      Z28, Z19, Z19
	VPMINSD      Z29, Z19, Z19
	VPERMT2B     Z19, Z26, Z20
	VMOVDQU8     Y20, (R8)
	ADDQ         R9, R8
	VPMULDQ      64(R11), Z10, Z21
	VPSRLQ       $32, Z10, Z22
	VPMULDQ      Z24, Z22, Z22
	VPADDQ       192(R11), Z21, Z21
	VPADDQ       256(R11), Z22, Z22
	VPSRLVQ      320(R11), Z21, Z21
	VPSRLVQ      384(R11), Z22, Z22
	VPSLLQ       $32, Z22, Z22
	VPBLENDMD    Z22, Z21, K1, Z20
	VPSUBD       448(R11), Z20, Z20
	VPMAXSD      Z28, Z20, Z20
	VPMINSD      Z29, Z20, Z20
	VPMULDQ      576(R11), Z11, Z21
	VPSRLQ       $32, Z11, Z22
	VPMULDQ      Z25, Z22, Z22
	VPADDQ       704(R11), Z21, Z21
	VPADDQ       768(R11), Z22, Z22
	VPSRLVQ      832(R11), Z21, Z21
	VPSRLVQ      896(R11), Z22, Z22
	VPSLLQ       $32, Z22, Z22
	VPBLENDMD    Z22, Z21, K1, Z19
	VPSUBD       960(R11), Z19, Z19
	VPMAXSD      Z28, Z19, Z19
	VPMINSD      Z29, Z19, Z19
	VPERMT2B     Z19, Z26, Z20
	VMOVDQU8     Y20, (R8)
	ADDQ         R9, R8
	VPMULDQ      64(R11), Z12, Z21
	VPSRLQ       $32, Z12, Z22
	VPMULDQ      Z24, Z22, Z22
	VPADDQ       192(R11), Z21, Z21
	VPADDQ       256(R11), Z22, Z22
	VPSRLVQ      320(R11), Z21, Z21
	VPSRLVQ      384(R11), Z22, Z22
	VPSLLQ       $32, Z22, Z22
	VPBLENDMD    Z22, Z21, K1, Z20
	VPSUBD       448(R11), Z20, Z20
	VPMAXSD      Z28, Z20, Z20
	VPMINSD      Z29, Z20, Z20
	VPMULDQ      576(R11), Z13, Z21
	VPSRLQ       $32, Z13, Z22
	VPMULDQ      Z25, Z22, Z22
	VPADDQ       704(R11), Z21, Z21
	VPADDQ       768(R11), Z22, Z22
	VPSRLVQ      832(R11), Z21, Z21
	VPSRLVQ      896(R11), Z22, Z22
	VPSLLQ       $32, Z22, Z22
	VPBLENDMD    Z22, Z21, K1, Z19
	VPSUBD       960(R11), Z19, Z19
	VPMAXSD      Z28, Z19, Z19
	VPMINSD      Z29, Z19, Z19
	VPERMT2B     Z19, Z26, Z20
	VMOVDQU8     Y20, (R8)
	ADDQ         R9, R8
	VPMULDQ      64(R11), Z14, Z21
	VPSRLQ       $32, Z14, Z22
	VPMULDQ      Z24, Z22, Z22
	VPADDQ       192(R11), Z21, Z21
	VPADDQ       256(R11), Z22, Z22
	VPSRLVQ      320(R11), Z21, Z21
	VPSRLVQ      384(R11), Z22, Z22
	VPSLLQ       $32, Z22, Z22
	VPBLENDMD    Z22, Z21, K1, Z20
	VPSUBD       448(R11), Z20, Z20
	VPMAXSD      Z28, Z20, Z20
	VPMINSD      Z29, Z20, Z20
	VPMULDQ      576(R11), Z15, Z21
	VPSRLQ       $32, Z15, Z22
	VPMULDQ      Z25, Z22, Z22
	VPADDQ       704(R11), Z21, Z21
	VPADDQ       768(R11), Z22, Z22
	VPSRLVQ      832(R11), Z21, Z21
	VPSRLVQ      896(R11), Z22, Z22
	VPSLLQ       $32, Z22, Z22
	VPBLENDMD    Z22, Z21, K1, Z19
	VPSUBD       960(R11), Z19, Z19
	VPMAXSD      Z28, Z19, Z19
	VPMINSD      Z29, Z19, Z19
	VPERMT2B     Z19, Z26, Z20
	VMOVDQU8     Y20, (R8)
	VZEROUPPER
	RET

// rqPack32 picks the low bytes of two vectors of 16 dwords into 32 bytes
// (VPERMT2B indices: 4i, then 64+4i).
DATA rqPack32<>+0(SB)/8, $0x1c1814100c080400
DATA rqPack32<>+8(SB)/8, $0x3c3834302c282420
DATA rqPack32<>+16(SB)/8, $0x5c5854504c484440
DATA rqPack32<>+24(SB)/8, $0x7c7874706c686460
DATA rqPack32<>+32(SB)/8, $0
DATA rqPack32<>+40(SB)/8, $0
DATA rqPack32<>+48(SB)/8, $0
DATA rqPack32<>+56(SB)/8, $0
GLOBL rqPack32<>(SB), RODATA|NOPTR, $64

// func gemmI8x8x16RQ(k4 int, a *uint8, lda int, b *int8, out *int8, ldo int, tab *int32, zp, lo, hi int32)
// gemmI8x8x32RQ for the first 16 channels of a panel only (a panel whose
// second half lies past the last channel).
TEXT ·gemmI8x8x16RQ(SB), NOSPLIT, $0-68
	MOVQ k4+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), DX
	MOVQ b+24(FP), DI
	LEAQ (SI)(DX*2), R10
	LEAQ (R10)(DX*2), R11
	LEAQ (R11)(DX*2), R12
	VPXORD Z0, Z0, Z0
	VPXORD Z2, Z2, Z2
	VPXORD Z4, Z4, Z4
	VPXORD Z6, Z6, Z6
	VPXORD Z8, Z8, Z8
	VPXORD Z10, Z10, Z10
	VPXORD Z12, Z12, Z12
	VPXORD Z14, Z14, Z14

rqloop816:
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
	VPDPBUSD Z16, Z19, Z2
	VPDPBUSD Z16, Z20, Z4
	VPDPBUSD Z16, Z21, Z6
	VPDPBUSD Z16, Z22, Z8
	VPDPBUSD Z16, Z23, Z10
	VPDPBUSD Z16, Z24, Z12
	VPDPBUSD Z16, Z25, Z14
	ADDQ $4, SI
	ADDQ $4, R10
	ADDQ $4, R11
	ADDQ $4, R12
	ADDQ $128, DI
	DECQ CX
	JNZ  rqloop816

	MOVL         zp+56(FP), AX
	VPBROADCASTD AX, Z27
	MOVL         lo+60(FP), AX
	VPBROADCASTD AX, Z28
	MOVL         hi+64(FP), AX
	VPBROADCASTD AX, Z29
	MOVL         $0xAAAA, AX
	KMOVW        AX, K1
	MOVQ         tab+48(FP), R11
	VPSRLQ       $32, 64(R11), Z24
	MOVQ         out+32(FP), R8
	MOVQ         ldo+40(FP), R9
	VPADDD       (R11), Z0, Z20
	VPMULDQ      64(R11), Z20, Z21
	VPSRLQ       $32, Z20, Z22
	VPMULDQ      Z24, Z22, Z22
	VPADDQ       192(R11), Z21, Z21
	VPADDQ       256(R11), Z22, Z22
	VPSRLVQ      320(R11), Z21, Z21
	VPSRLVQ      384(R11), Z22, Z22
	VPSLLQ       $32, Z22, Z22
	VPBLENDMD    Z22, Z21, K1, Z20
	VPSUBD       128(R11), Z20, Z20
	VPADDD       Z27, Z20, Z20
	VPMAXSD      Z28, Z20, Z20
	VPMINSD      Z29, Z20, Z20
	VPMOVDB      Z20, (R8)
	ADDQ         R9, R8
	VPADDD       (R11), Z2, Z20
	VPMULDQ      64(R11), Z20, Z21
	VPSRLQ       $32, Z20, Z22
	VPMULDQ      Z24, Z22, Z22
	VPADDQ       192(R11), Z21, Z21
	VPADDQ       256(R11), Z22, Z22
	VPSRLVQ      320(R11), Z21, Z21
	VPSRLVQ      384(R11), Z22, Z22
	VPSLLQ       $32, Z22, Z22
	VPBLENDMD    Z22, Z21, K1, Z20
	VPSUBD       128(R11), Z20, Z20
	VPADDD       Z27, Z20, Z20
	VPMAXSD      Z28, Z20, Z20
	VPMINSD      Z29, Z20, Z20
	VPMOVDB      Z20, (R8)
	ADDQ         R9, R8
	VPADDD       (R11), Z4, Z20
	VPMULDQ      64(R11), Z20, Z21
	VPSRLQ       $32, Z20, Z22
	VPMULDQ      Z24, Z22, Z22
	VPADDQ       192(R11), Z21, Z21
	VPADDQ       256(R11), Z22, Z22
	VPSRLVQ      320(R11), Z21, Z21
	VPSRLVQ      384(R11), Z22, Z22
	VPSLLQ       $32, Z22, Z22
	VPBLENDMD    Z22, Z21, K1, Z20
	VPSUBD       128(R11), Z20, Z20
	VPADDD       Z27, Z20, Z20
	VPMAXSD      Z28, Z20, Z20
	VPMINSD      Z29, Z20, Z20
	VPMOVDB      Z20, (R8)
	ADDQ         R9, R8
	VPADDD       (R11), Z6, Z20
	VPMULDQ      64(R11), Z20, Z21
	VPSRLQ       $32, Z20, Z22
	VPMULDQ      Z24, Z22, Z22
	VPADDQ       192(R11), Z21, Z21
	VPADDQ       256(R11), Z22, Z22
	VPSRLVQ      320(R11), Z21, Z21
	VPSRLVQ      384(R11), Z22, Z22
	VPSLLQ       $32, Z22, Z22
	VPBLENDMD    Z22, Z21, K1, Z20
	VPSUBD       128(R11), Z20, Z20
	VPADDD       Z27, Z20, Z20
	VPMAXSD      Z28, Z20, Z20
	VPMINSD      Z29, Z20, Z20
	VPMOVDB      Z20, (R8)
	ADDQ         R9, R8
	VPADDD       (R11), Z8, Z20
	VPMULDQ      64(R11), Z20, Z21
	VPSRLQ       $32, Z20, Z22
	VPMULDQ      Z24, Z22, Z22
	VPADDQ       192(R11), Z21, Z21
	VPADDQ       256(R11), Z22, Z22
	VPSRLVQ      320(R11), Z21, Z21
	VPSRLVQ      384(R11), Z22, Z22
	VPSLLQ       $32, Z22, Z22
	VPBLENDMD    Z22, Z21, K1, Z20
	VPSUBD       128(R11), Z20, Z20
	VPADDD       Z27, Z20, Z20
	VPMAXSD      Z28, Z20, Z20
	VPMINSD      Z29, Z20, Z20
	VPMOVDB      Z20, (R8)
	ADDQ         R9, R8
	VPADDD       (R11), Z10, Z20
	VPMULDQ      64(R11), Z20, Z21
	VPSRLQ       $32, Z20, Z22
	VPMULDQ      Z24, Z22, Z22
	VPADDQ       192(R11), Z21, Z21
	VPADDQ       256(R11), Z22, Z22
	VPSRLVQ      320(R11), Z21, Z21
	VPSRLVQ      384(R11), Z22, Z22
	VPSLLQ       $32, Z22, Z22
	VPBLENDMD    Z22, Z21, K1, Z20
	VPSUBD       128(R11), Z20, Z20
	VPADDD       Z27, Z20, Z20
	VPMAXSD      Z28, Z20, Z20
	VPMINSD      Z29, Z20, Z20
	VPMOVDB      Z20, (R8)
	ADDQ         R9, R8
	VPADDD       (R11), Z12, Z20
	VPMULDQ      64(R11), Z20, Z21
	VPSRLQ       $32, Z20, Z22
	VPMULDQ      Z24, Z22, Z22
	VPADDQ       192(R11), Z21, Z21
	VPADDQ       256(R11), Z22, Z22
	VPSRLVQ      320(R11), Z21, Z21
	VPSRLVQ      384(R11), Z22, Z22
	VPSLLQ       $32, Z22, Z22
	VPBLENDMD    Z22, Z21, K1, Z20
	VPSUBD       128(R11), Z20, Z20
	VPADDD       Z27, Z20, Z20
	VPMAXSD      Z28, Z20, Z20
	VPMINSD      Z29, Z20, Z20
	VPMOVDB      Z20, (R8)
	ADDQ         R9, R8
	VPADDD       (R11), Z14, Z20
	VPMULDQ      64(R11), Z20, Z21
	VPSRLQ       $32, Z20, Z22
	VPMULDQ      Z24, Z22, Z22
	VPADDQ       192(R11), Z21, Z21
	VPADDQ       256(R11), Z22, Z22
	VPSRLVQ      320(R11), Z21, Z21
	VPSRLVQ      384(R11), Z22, Z22
	VPSLLQ       $32, Z22, Z22
	VPBLENDMD    Z22, Z21, K1, Z20
	VPSUBD       128(R11), Z20, Z20
	VPADDD       Z27, Z20, Z20
	VPMAXSD      Z28, Z20, Z20
	VPMINSD      Z29, Z20, Z20
	VPMOVDB      Z20, (R8)
	VZEROUPPER
	RET

// func gemmI8x1x32(k4 int, a *uint8, b *int8, c *int32)
// One row times one panel (a matrix-vector product, as a fully connected
// layer at batch 1 runs): four k steps at a time into four pairs of
// accumulators so the VPDPBUSD chains overlap, summed at the end.
TEXT ·gemmI8x1x32(SB), NOSPLIT, $0-32
	MOVQ   k4+0(FP), CX
	MOVQ   a+8(FP), SI
	MOVQ   b+16(FP), DI
	MOVQ   c+24(FP), R8
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	MOVQ   CX, DX
	SHRQ   $2, DX
	ANDQ   $3, CX
	TESTQ  DX, DX
	JZ     gemv1

gemv4:
	VPBROADCASTD (SI), Z8
	VPBROADCASTD 4(SI), Z9
	VPBROADCASTD 8(SI), Z10
	VPBROADCASTD 12(SI), Z11
	VPDPBUSD     (DI), Z8, Z0
	VPDPBUSD     64(DI), Z8, Z1
	VPDPBUSD     128(DI), Z9, Z2
	VPDPBUSD     192(DI), Z9, Z3
	VPDPBUSD     256(DI), Z10, Z4
	VPDPBUSD     320(DI), Z10, Z5
	VPDPBUSD     384(DI), Z11, Z6
	VPDPBUSD     448(DI), Z11, Z7
	ADDQ         $16, SI
	ADDQ         $512, DI
	DECQ         DX
	JNZ          gemv4

gemv1:
	TESTQ CX, CX
	JZ    gemvdone

gemv1loop:
	VPBROADCASTD (SI), Z8
	VPDPBUSD     (DI), Z8, Z0
	VPDPBUSD     64(DI), Z8, Z1
	ADDQ         $4, SI
	ADDQ         $128, DI
	DECQ         CX
	JNZ          gemv1loop

gemvdone:
	VPADDD    Z2, Z0, Z0
	VPADDD    Z6, Z4, Z4
	VPADDD    Z4, Z0, Z0
	VPADDD    Z3, Z1, Z1
	VPADDD    Z7, Z5, Z5
	VPADDD    Z5, Z1, Z1
	VMOVDQU32 Z0, (R8)
	VMOVDQU32 Z1, 64(R8)
	VZEROUPPER
	RET
