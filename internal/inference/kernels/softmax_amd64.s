//go:build amd64

#include "textflag.h"

#define BCAST(bits, z) MOVL $bits, AX; VPBROADCASTD AX, z

// func expSumAVX512(y, x *float32, n int, m float32, sum *[8]float64)
// For i < n (a multiple of 16): y[i] = e^(x[i]-m), as exp32 computes it (the
// reduction and the polynomial with fused multiply-adds; inputs below -87
// give 0, NaN stays NaN), and the y[i] added up in float64, eight lanes
// written to sum.
TEXT ·expSumAVX512(SB), NOSPLIT, $0-40
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS m+24(FP), Z31
	BCAST(0x3fb8aa3b, Z30) // log2 e
	BCAST(0x4b400000, Z29) // 1.5·2^23
	BCAST(0x3f318000, Z28) // ln 2, high part
	BCAST(0xb95e8083, Z27) // ln 2, low part
	BCAST(0x39500d01, Z26) // 1/7!
	BCAST(0x3ab60b61, Z25) // 1/6!
	BCAST(0x3c088889, Z24) // 1/5!
	BCAST(0x3d2aaaab, Z23) // 1/4!
	BCAST(0x3e2aaaab, Z22) // 1/3!
	BCAST(0x3f000000, Z21) // 1/2
	BCAST(0x3f800000, Z20) // 1
	BCAST(0xc2ae0000, Z19) // -87
	MOVL $127, AX
	VPBROADCASTD AX, Z18
	VPXORD Z17, Z17, Z17   // zero
	VPXORD Z8, Z8, Z8      // sums of the low eight lanes
	VPXORD Z9, Z9, Z9      // and of the high eight
	SHRQ $4, CX
	JZ expsum_done
expsum_loop:
	VMOVUPS (SI), Z0
	VSUBPS Z31, Z0, Z0       // x - m
	VCMPPS $1, Z19, Z0, K1   // lanes below -87 (false for NaN)
	VMAXPS Z0, Z19, Z0       // max(-87, x); a NaN x stays
	VMOVAPS Z29, Z1
	VFMADD231PS Z30, Z0, Z1  // x·log2e + 1.5·2^23
	VSUBPS Z29, Z1, Z1       // n = round(x·log2e)
	VFNMADD231PS Z28, Z1, Z0 // r = x - n·ln2hi
	VFNMADD231PS Z27, Z1, Z0 //     - n·ln2lo
	VMOVAPS Z26, Z2
	VFMADD213PS Z25, Z0, Z2
	VFMADD213PS Z24, Z0, Z2
	VFMADD213PS Z23, Z0, Z2
	VFMADD213PS Z22, Z0, Z2
	VFMADD213PS Z21, Z0, Z2
	VFMADD213PS Z20, Z0, Z2
	VFMADD213PS Z20, Z0, Z2  // e^r
	VCVTPS2DQ Z1, Z3
	VPADDD Z18, Z3, Z3
	VPSLLD $23, Z3, Z3       // 2^n
	VMULPS Z3, Z2, Z2
	VMOVAPS Z17, K1, Z2      // 0 below -87
	VMOVUPS Z2, (DI)
	VCVTPS2PD Y2, Z4
	VADDPD Z4, Z8, Z8
	VEXTRACTF64X4 $1, Z2, Y5
	VCVTPS2PD Y5, Z5
	VADDPD Z5, Z9, Z9
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ expsum_loop
expsum_done:
	VADDPD Z9, Z8, Z8
	MOVQ sum+32(FP), AX
	VMOVUPD Z8, (AX)
	VZEROUPPER
	RET

// func scaleAVX512(y *float32, n int, s float32)
// y[i] *= s for i < n (a multiple of 16).
TEXT ·scaleAVX512(SB), NOSPLIT, $0-20
	MOVQ y+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS s+16(FP), Z0
	SHRQ $4, CX
	JZ scale_done
scale_loop:
	VMULPS (DI), Z0, Z1
	VMOVUPS Z1, (DI)
	ADDQ $64, DI
	DECQ CX
	JNZ scale_loop
scale_done:
	VZEROUPPER
	RET

// The scalars expSumAVX2 broadcasts: exp32's constants, then 127.
DATA softmaxc<>+0(SB)/4, $0x3fb8aa3b  // log2 e
DATA softmaxc<>+4(SB)/4, $0x4b400000  // 1.5·2^23
DATA softmaxc<>+8(SB)/4, $0x3f318000  // ln 2, high part
DATA softmaxc<>+12(SB)/4, $0xb95e8083 // ln 2, low part
DATA softmaxc<>+16(SB)/4, $0x39500d01 // 1/7!
DATA softmaxc<>+20(SB)/4, $0x3ab60b61 // 1/6!
DATA softmaxc<>+24(SB)/4, $0x3c088889 // 1/5!
DATA softmaxc<>+28(SB)/4, $0x3d2aaaab // 1/4!
DATA softmaxc<>+32(SB)/4, $0x3e2aaaab // 1/3!
DATA softmaxc<>+36(SB)/4, $0x3f000000 // 1/2
DATA softmaxc<>+40(SB)/4, $0x3f800000 // 1
DATA softmaxc<>+44(SB)/4, $0xc2ae0000 // -87
DATA softmaxc<>+48(SB)/4, $127
GLOBL softmaxc<>(SB), RODATA|NOPTR, $52

// func expSumAVX2(y, x *float32, n int, m float32, sum *[8]float64)
// expSumAVX512 on AVX2, eight floats a step: for i < n (a multiple of 8),
// y[i] = e^(x[i]-m) with expSumAVX512's operations (so the same y), the
// y[i] added up in float64 in eight lanes (four from each half of a step)
// written to sum.
TEXT ·expSumAVX2(SB), NOSPLIT, $0-40
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	LEAQ softmaxc<>(SB), AX
	VBROADCASTSS m+24(FP), Y15
	VBROADCASTSS 0(AX), Y14  // log2 e
	VBROADCASTSS 4(AX), Y13  // 1.5·2^23
	VBROADCASTSS 8(AX), Y12  // ln 2, high part
	VBROADCASTSS 12(AX), Y11 // ln 2, low part
	VBROADCASTSS 44(AX), Y10 // -87
	VPBROADCASTD 48(AX), Y9  // 127
	VBROADCASTSS 40(AX), Y6  // 1
	VXORPS Y8, Y8, Y8        // sums of the low four lanes
	VXORPS Y7, Y7, Y7        // and of the high four
	SHRQ $3, CX
	JZ expsum2_done
expsum2_loop:
	VMOVUPS (SI), Y0
	VSUBPS Y15, Y0, Y0       // x - m
	VCMPPS $1, Y10, Y0, Y5   // lanes below -87 (false for NaN)
	VMAXPS Y0, Y10, Y0       // max(-87, x); a NaN x stays
	VMOVAPS Y13, Y1
	VFMADD231PS Y14, Y0, Y1  // x·log2e + 1.5·2^23
	VSUBPS Y13, Y1, Y1       // n = round(x·log2e)
	VFNMADD231PS Y12, Y1, Y0 // r = x - n·ln2hi
	VFNMADD231PS Y11, Y1, Y0 //     - n·ln2lo
	VBROADCASTSS 16(AX), Y2
	VBROADCASTSS 20(AX), Y4
	VFMADD213PS Y4, Y0, Y2
	VBROADCASTSS 24(AX), Y4
	VFMADD213PS Y4, Y0, Y2
	VBROADCASTSS 28(AX), Y4
	VFMADD213PS Y4, Y0, Y2
	VBROADCASTSS 32(AX), Y4
	VFMADD213PS Y4, Y0, Y2
	VBROADCASTSS 36(AX), Y4
	VFMADD213PS Y4, Y0, Y2
	VFMADD213PS Y6, Y0, Y2
	VFMADD213PS Y6, Y0, Y2   // e^r
	VCVTPS2DQ Y1, Y3
	VPADDD Y9, Y3, Y3
	VPSLLD $23, Y3, Y3       // 2^n
	VMULPS Y3, Y2, Y2
	VANDNPS Y2, Y5, Y2       // 0 below -87
	VMOVUPS Y2, (DI)
	VCVTPS2PD X2, Y4
	VADDPD Y4, Y8, Y8
	VEXTRACTF128 $1, Y2, X3
	VCVTPS2PD X3, Y3
	VADDPD Y3, Y7, Y7
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ expsum2_loop
expsum2_done:
	MOVQ sum+32(FP), AX
	VMOVUPD Y8, (AX)
	VMOVUPD Y7, 32(AX)
	VZEROUPPER
	RET

// func scaleAVX2(y *float32, n int, s float32)
// y[i] *= s for i < n (a multiple of 8).
TEXT ·scaleAVX2(SB), NOSPLIT, $0-20
	MOVQ y+0(FP), DI
	MOVQ n+8(FP), CX
	VBROADCASTSS s+16(FP), Y0
	SHRQ $3, CX
	JZ scale2_done
scale2_loop:
	VMULPS (DI), Y0, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, DI
	DECQ CX
	JNZ scale2_loop
scale2_done:
	VZEROUPPER
	RET

// func maxAVX2(x *float32, n int) float32
// The largest of x[0..n) (n a positive multiple of 8) as VMAXPS finds it:
// a NaN may be passed over (softmax's exponentials pass it on).
TEXT ·maxAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VMOVUPS (SI), Y0
	VMOVAPS Y0, Y1
	ADDQ $32, SI
	SHRQ $3, CX
	DECQ CX
	JZ max2_fold
max2_loop:
	VMAXPS (SI), Y0, Y0
	ADDQ $32, SI
	DECQ CX
	JZ max2_fold
	VMAXPS (SI), Y1, Y1
	ADDQ $32, SI
	DECQ CX
	JNZ max2_loop
max2_fold:
	VMAXPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0x4e, X0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0xb1, X0, X1
	VMAXPS X1, X0, X0
	VMOVSS X0, ret+16(FP)
	VZEROUPPER
	RET
