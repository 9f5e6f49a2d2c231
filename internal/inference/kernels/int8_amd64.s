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
