//go:build amd64

#include "textflag.h"

// func hardSwishTileAVX2(p *float32, ld, rows, n int)
// p[i*ld+j] = x*min(max(x+3, 0), 6)/6 for rows i and the first n floats of
// each (n a multiple of 8): hardSwishAVX2's instructions, one call for the
// whole tile. Y13 = 3, Y12 = 6, Y11 = 0.
TEXT ·hardSwishTileAVX2(SB), NOSPLIT, $0-32
	MOVQ         p+0(FP), DI
	MOVQ         ld+8(FP), R9
	SHLQ         $2, R9
	MOVQ         rows+16(FP), R8
	MOVQ         n+24(FP), R10
	SHRQ         $3, R10
	MOVL         $0x40400000, AX // 3.0
	VMOVD        AX, X13
	VBROADCASTSS X13, Y13
	MOVL         $0x40c00000, AX // 6.0
	VMOVD        AX, X12
	VBROADCASTSS X12, Y12
	VXORPS       Y11, Y11, Y11

tilerow:
	MOVQ DI, SI
	MOVQ R10, CX

tilevec:
	VMOVUPS (SI), Y0
	VADDPS  Y13, Y0, Y1
	VMAXPS  Y11, Y1, Y1
	VMINPS  Y12, Y1, Y1
	VMULPS  Y0, Y1, Y1
	VDIVPS  Y12, Y1, Y1
	VMOVUPS Y1, (SI)
	ADDQ    $32, SI
	DECQ    CX
	JNZ     tilevec
	ADDQ    R9, DI
	DECQ    R8
	JNZ     tilerow
	VZEROUPPER
	RET
