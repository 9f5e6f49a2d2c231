//go:build amd64

#include "textflag.h"

// func sumRowsAVX2(out, in *float32, rows, c, n int)
// Channels [0, n) in blocks of 32 (four sums in Y0..Y3), then of 8 (Y0):
// each block's sums start from out, add the rows in order, and are stored
// back. in's rows are c floats apart.
TEXT ·sumRowsAVX2(SB), NOSPLIT, $0-40
	MOVQ out+0(FP), DI
	MOVQ in+8(FP), SI
	MOVQ c+24(FP), R9
	SHLQ $2, R9               // row stride in bytes
	MOVQ n+32(FP), R10
	SHLQ $2, R10
	ADDQ DI, R10              // R10 = end of the channels done here

sum32:
	LEAQ    128(DI), AX
	CMPQ    AX, R10
	JGT     sum8
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS 64(DI), Y2
	VMOVUPS 96(DI), Y3
	MOVQ    SI, BX
	MOVQ    rows+16(FP), CX

sum32row:
	VADDPS (BX), Y0, Y0
	VADDPS 32(BX), Y1, Y1
	VADDPS 64(BX), Y2, Y2
	VADDPS 96(BX), Y3, Y3
	ADDQ   R9, BX
	DECQ   CX
	JNZ    sum32row
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ    $128, DI
	ADDQ    $128, SI
	JMP     sum32

sum8:
	CMPQ    DI, R10
	JGE     sumdone
	VMOVUPS (DI), Y0
	MOVQ    SI, BX
	MOVQ    rows+16(FP), CX

sum8row:
	VADDPS (BX), Y0, Y0
	ADDQ   R9, BX
	DECQ   CX
	JNZ    sum8row
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	ADDQ    $32, SI
	JMP     sum8

sumdone:
	VZEROUPPER
	RET

// func rowsOpAVX2(dst, a, s *float32, rows, c, n, op int)
// dst = a * s (op 1) or a + s (op 0), row by row, for the first n floats of
// every row of c.
TEXT ·rowsOpAVX2(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ rows+24(FP), R8
	MOVQ c+32(FP), R9
	SHLQ $2, R9               // row stride in bytes
	MOVQ n+40(FP), R10
	SHRQ $3, R10              // vectors per row
	MOVQ op+48(FP), AX
	TESTQ AX, AX
	JZ   addrow

mulrow:
	MOVQ s+16(FP), DX
	XORQ BX, BX
	MOVQ R10, CX

mulvec:
	VMOVUPS (SI)(BX*1), Y0
	VMULPS  (DX)(BX*1), Y0, Y0
	VMOVUPS Y0, (DI)(BX*1)
	ADDQ    $32, BX
	DECQ    CX
	JNZ     mulvec
	ADDQ    R9, SI
	ADDQ    R9, DI
	DECQ    R8
	JNZ     mulrow
	VZEROUPPER
	RET

addrow:
	MOVQ s+16(FP), DX
	XORQ BX, BX
	MOVQ R10, CX

addvec:
	VMOVUPS (SI)(BX*1), Y0
	VADDPS  (DX)(BX*1), Y0, Y0
	VMOVUPS Y0, (DI)(BX*1)
	ADDQ    $32, BX
	DECQ    CX
	JNZ     addvec
	ADDQ    R9, SI
	ADDQ    R9, DI
	DECQ    R8
	JNZ     addrow
	VZEROUPPER
	RET
