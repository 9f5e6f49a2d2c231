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
