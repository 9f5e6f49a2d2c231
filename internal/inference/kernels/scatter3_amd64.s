//go:build amd64

#include "textflag.h"

// func scatter3Asm(dst, src *float32, n, stride int)
// For i < n: the 12 bytes at src+12i go to dst+4*stride*i, as one 8-byte and
// one 4-byte move (general registers: the bits pass unchanged).
TEXT ·scatter3Asm(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ stride+24(FP), R8
	SHLQ $2, R8

loop:
	MOVQ (SI), AX
	MOVL 8(SI), BX
	MOVQ AX, (DI)
	MOVL BX, 8(DI)
	ADDQ $12, SI
	ADDQ R8, DI
	DECQ CX
	JNZ  loop
	RET
