//go:build amd64

#include "textflag.h"

// func poolTapAVX2(out, in *float32, n, c, inStride int, isMax bool)
// For x < n, j < c (c a multiple of 8): out[x*c+j] = max(out[x*c+j], in[x*inStride+j])
// when isMax (VMAXPS: the input value wins unless the output is greater), else the sum.
TEXT ·poolTapAVX2(SB), NOSPLIT, $0-41
	MOVQ out+0(FP), DI
	MOVQ in+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ c+24(FP), R8
	MOVQ inStride+32(FP), R9
	MOVBLZX isMax+40(FP), BX
	SHLQ $2, R9
	MOVQ R8, R11
	SHLQ $2, R11              // c in bytes
	SUBQ R11, R9              // input advance after a pixel, minus what the inner loop walked
	SHRQ $3, R8               // c/8 vectors per pixel
	TESTQ BX, BX
	JZ   addpixel

maxpixel:
	MOVQ R8, R10

maxchan:
	VMOVUPS (DI), Y1
	VMAXPS  (SI), Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    R10
	JNZ     maxchan
	ADDQ R9, SI
	DECQ CX
	JNZ  maxpixel
	VZEROUPPER
	RET

addpixel:
	MOVQ R8, R10

addchan:
	VMOVUPS (DI), Y1
	VADDPS  (SI), Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    R10
	JNZ     addchan
	ADDQ R9, SI
	DECQ CX
	JNZ  addpixel
	VZEROUPPER
	RET
