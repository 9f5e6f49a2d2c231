//go:build amd64

#include "textflag.h"

// func dwTapAVX2(out, in, w *float32, n, c, inStride int)
// out[x*c+j] += in[x*inStride+j] * w[j] for x < n, j < c; c is a multiple of 8.
TEXT ·dwTapAVX2(SB), NOSPLIT, $0-48
	MOVQ out+0(FP), DI
	MOVQ in+8(FP), SI
	MOVQ w+16(FP), BX
	MOVQ n+24(FP), CX
	MOVQ c+32(FP), R8
	MOVQ inStride+40(FP), R9
	SHLQ $2, R9
	MOVQ R8, R11
	SHLQ $2, R11              // c in bytes
	SUBQ R11, R9              // in advance after a pixel, minus what the inner loop walked
	SHRQ $3, R8               // c/8 vectors per pixel

pixel:
	MOVQ R8, R10
	MOVQ BX, AX

chan:
	VMOVUPS     (SI), Y0
	VMOVUPS     (DI), Y1
	VFMADD231PS (AX), Y0, Y1
	VMOVUPS     Y1, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	ADDQ        $32, AX
	DECQ        R10
	JNZ         chan

	ADDQ R9, SI
	DECQ CX
	JNZ  pixel
	VZEROUPPER
	RET

// func clampAVX2(p *float32, n int, lo, hi float32)
TEXT ·clampAVX2(SB), NOSPLIT, $0-24
	MOVQ         p+0(FP), DI
	MOVQ         n+8(FP), CX
	SHRQ         $3, CX
	VBROADCASTSS lo+16(FP), Y14
	VBROADCASTSS hi+20(FP), Y15

clamp:
	VMOVUPS (DI), Y0
	VMAXPS  Y14, Y0, Y0
	VMINPS  Y15, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	DECQ    CX
	JNZ     clamp
	VZEROUPPER
	RET

// func hardSwishAVX2(p *float32, n int)
// p[i] = p[i] * min(max(p[i]+3, 0), 6) / 6 for n floats (a multiple of 8).
TEXT ·hardSwishAVX2(SB), NOSPLIT, $0-16
	MOVQ         p+0(FP), DI
	MOVQ         n+8(FP), CX
	SHRQ         $3, CX
	MOVL         $0x40400000, AX // 3.0
	VMOVD        AX, X13         // VEX: a legacy-SSE MOVD here cost ~170 ns a call on Zen 3
	VBROADCASTSS X13, Y13
	MOVL         $0x40c00000, AX // 6.0
	VMOVD        AX, X12
	VBROADCASTSS X12, Y12
	VXORPS       Y11, Y11, Y11

hswish:
	VMOVUPS (DI), Y0
	VADDPS  Y13, Y0, Y1
	VMAXPS  Y11, Y1, Y1
	VMINPS  Y12, Y1, Y1
	VMULPS  Y0, Y1, Y1
	VDIVPS  Y12, Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ    $32, DI
	DECQ    CX
	JNZ     hswish
	VZEROUPPER
	RET

// func vecMulAVX2(dst, a, b *float32, n int)
// dst[i] = a[i] * b[i] for n floats (a multiple of 8).
TEXT ·vecMulAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $3, CX

vmul:
	VMOVUPS (SI), Y0
	VMULPS  (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	DECQ    CX
	JNZ     vmul
	VZEROUPPER
	RET

// func vecAddAVX2(dst, a, b *float32, n int)
// dst[i] = a[i] + b[i] for n floats (a multiple of 8).
TEXT ·vecAddAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	SHRQ $3, CX

vadd:
	VMOVUPS (SI), Y0
	VADDPS  (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	DECQ    CX
	JNZ     vadd
	VZEROUPPER
	RET
