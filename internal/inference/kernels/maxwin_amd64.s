//go:build amd64

#include "textflag.h"

// func maxWindowAVX2(out, in *float32, n, c, inStride int, taps *int, ntaps int)
// For x < n, j < c (c a multiple of 8): out[x*c+j] = the fold over t < ntaps of
// in[x*inStride+taps[t]+j], starting from taps[0], each step VMAXPS with the
// running value first (it stays only where greater than the input). Channels go
// 32 at a time in Y0..Y3, then 8 at a time in Y0.
TEXT ·maxWindowAVX2(SB), NOSPLIT, $0-56
	MOVQ out+0(FP), DI
	MOVQ in+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ c+24(FP), R8
	SHLQ $2, R8               // c in bytes
	MOVQ inStride+32(FP), R9
	SHLQ $2, R9               // input pixel stride in bytes
	MOVQ taps+40(FP), R10
	MOVQ ntaps+48(FP), R11

pixel:
	XORQ BX, BX               // channel byte offset

blk32:
	LEAQ 128(BX), AX
	CMPQ AX, R8
	JGT  blk8
	LEAQ (SI)(BX*1), DX
	MOVQ (R10), AX
	VMOVUPS (DX)(AX*4), Y0
	VMOVUPS 32(DX)(AX*4), Y1
	VMOVUPS 64(DX)(AX*4), Y2
	VMOVUPS 96(DX)(AX*4), Y3
	MOVQ $1, R12

tap32:
	CMPQ R12, R11
	JGE  store32
	MOVQ (R10)(R12*8), AX
	VMAXPS (DX)(AX*4), Y0, Y0
	VMAXPS 32(DX)(AX*4), Y1, Y1
	VMAXPS 64(DX)(AX*4), Y2, Y2
	VMAXPS 96(DX)(AX*4), Y3, Y3
	INCQ R12
	JMP  tap32

store32:
	VMOVUPS Y0, (DI)(BX*1)
	VMOVUPS Y1, 32(DI)(BX*1)
	VMOVUPS Y2, 64(DI)(BX*1)
	VMOVUPS Y3, 96(DI)(BX*1)
	ADDQ $128, BX
	JMP  blk32

blk8:
	CMPQ BX, R8
	JGE  next
	LEAQ (SI)(BX*1), DX
	MOVQ (R10), AX
	VMOVUPS (DX)(AX*4), Y0
	MOVQ $1, R12

tap8:
	CMPQ R12, R11
	JGE  store8
	MOVQ (R10)(R12*8), AX
	VMAXPS (DX)(AX*4), Y0, Y0
	INCQ R12
	JMP  tap8

store8:
	VMOVUPS Y0, (DI)(BX*1)
	ADDQ $32, BX
	JMP  blk8

next:
	ADDQ R8, DI
	ADDQ R9, SI
	DECQ CX
	JNZ  pixel
	VZEROUPPER
	RET
