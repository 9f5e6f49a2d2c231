//go:build amd64

#include "textflag.h"

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

// func gemmI8x2x16AVX2(k4 int, a *uint8, lda int, b *int8, c *int32, ldc int)
// The AVX2 int8 GEMM tile: 2 rows of a (unsigned) times 16 channels of one
// packed panel (b points at the panel's first or second 16 channels; a
// step of 4 k is 128 bytes). Weights are sign-extended to int16 and the 4
// activation bytes zero-extended and repeated, so VPMADDWD gives exact
// int32 sums of two products (no saturation, unlike VPMADDUBSW); each
// accumulator holds channel pairs (k0+k1, k2+k3) that VPHADDD folds at the
// end, VPERMQ putting the channels back in order.
TEXT ·gemmI8x2x16AVX2(SB), NOSPLIT, $0-48
	MOVQ k4+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), DX
	MOVQ b+24(FP), DI
	MOVQ c+32(FP), R8
	MOVQ ldc+40(FP), R9
	SHLQ $2, R9
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7

avx2loop:
	VPMOVSXBW    (DI), Y8
	VPMOVSXBW    16(DI), Y9
	VPMOVSXBW    32(DI), Y10
	VPMOVSXBW    48(DI), Y11
	VPBROADCASTD (SI), X12
	VPMOVZXBW    X12, Y12
	VPBROADCASTD (SI)(DX*1), X13
	VPMOVZXBW    X13, Y13
	VPMADDWD     Y8, Y12, Y14
	VPADDD       Y14, Y0, Y0
	VPMADDWD     Y9, Y12, Y14
	VPADDD       Y14, Y1, Y1
	VPMADDWD     Y10, Y12, Y14
	VPADDD       Y14, Y2, Y2
	VPMADDWD     Y11, Y12, Y14
	VPADDD       Y14, Y3, Y3
	VPMADDWD     Y8, Y13, Y14
	VPADDD       Y14, Y4, Y4
	VPMADDWD     Y9, Y13, Y14
	VPADDD       Y14, Y5, Y5
	VPMADDWD     Y10, Y13, Y14
	VPADDD       Y14, Y6, Y6
	VPMADDWD     Y11, Y13, Y14
	VPADDD       Y14, Y7, Y7
	ADDQ         $4, SI
	ADDQ         $128, DI
	DECQ         CX
	JNZ          avx2loop

	VPHADDD      Y1, Y0, Y0
	VPERMQ       $0xD8, Y0, Y0
	VPHADDD      Y3, Y2, Y2
	VPERMQ       $0xD8, Y2, Y2
	VMOVDQU      Y0, (R8)
	VMOVDQU      Y2, 32(R8)
	ADDQ         R9, R8
	VPHADDD      Y5, Y4, Y4
	VPERMQ       $0xD8, Y4, Y4
	VPHADDD      Y7, Y6, Y6
	VPERMQ       $0xD8, Y6, Y6
	VMOVDQU      Y4, (R8)
	VMOVDQU      Y6, 32(R8)
	VZEROUPPER
	RET
