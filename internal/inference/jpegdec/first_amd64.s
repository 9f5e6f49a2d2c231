#include "textflag.h"
#include "jpegdec_amd64.h"

// firstState offsets (refine_amd64.go; TestFirstStateLayout checks them).
#define F_DATA 0
#define F_LEN 8
#define F_POS 16
#define F_ACC 24
#define F_N 32
#define F_LUT 40
#define F_NZ 48
#define F_COUNT 56
#define F_SS 64
#define F_SE 72
#define F_EOBRUN 80
#define F_K 88
#define F_DONE 96
#define F_END 104
#define F_KEPT 112
#define F_COEF 120
#define F_AL 128
#define F_UNZIG 136

// func firstAsm(st *firstState) int
//
// Registers: R14 st, the bit reader as in jpegdec_amd64.h, R13 current block's mask, R15
// current mask, AX the next zig-zag index k (0 at a block's start), BX the current block's
// coefficients (0 when it is not kept); CX, DX, DI, R9 scratch.
TEXT ·firstAsm(SB), NOSPLIT, $0-16
	MOVQ	st+0(FP), R14
	MOVQ	F_DATA(R14), R9
	MOVQ	F_POS(R14), SI
	ADDQ	R9, SI
	MOVQ	F_LEN(R14), R8
	LEAQ	-8(R9)(R8*1), R8
	MOVQ	F_ACC(R14), R10
	MOVQ	F_N(R14), R11
	MOVQ	F_LUT(R14), R12
	MOVQ	F_NZ(R14), R13
	MOVQ	F_COUNT(R14), CX
	LEAQ	(R13)(CX*8), CX
	MOVQ	CX, F_END(R14)
	MOVQ	F_K(R14), AX
	TESTQ	AX, AX
	JEQ	block
	// Resume the first block between two symbols.
	MOVQ	(R13), R15
	CALL	keptcoef<>(SB)
	JMP	sym

block:
	XORL	AX, AX
	MOVQ	F_END(R14), CX
	CMPQ	R13, CX
	JCC	done
	MOVQ	F_EOBRUN(R14), DX
	TESTQ	DX, DX
	JEQ	fresh
	// Blocks inside an end-of-band run have nothing in this scan: pass up to the run's end.
	SUBQ	R13, CX
	SHRQ	$3, CX
	CMPQ	DX, CX
	CMOVQCS	DX, CX          // min(eobrun, blocks left)
	SUBQ	CX, DX
	MOVQ	DX, F_EOBRUN(R14)
	LEAQ	(R13)(CX*8), R13
	JMP	block

fresh:
	MOVQ	(R13), R15
	CALL	keptcoef<>(SB)
	MOVQ	F_SS(R14), AX

sym:
	CMPQ	AX, F_SE(R14)
	JHI	blockend
	CMPQ	R11, $32
	JCC	symhave
	REFILL(fill)

symhave:
	DECODE
	TESTL	R9, R9
	JEQ	eobzrl
	LEAQ	(AX)(CX*1), DX  // k + r
	CMPQ	DX, F_SE(R14)
	JHI	slow            // past the band: the Go code reports it (from the symbol's start)
	MOVQ	DX, AX
	BTSQ	AX, R15
	SUBQ	R9, DI          // the value's bits
	TESTQ	BX, BX
	JEQ	next
	// The value: size bits, sign-extended as JPEG's EXTEND does, shifted by al.
	SHRXQ	DI, R10, CX
	BZHIQ	R9, CX, CX
	MOVL	$1, DX
	SHLXL	R9, DX, DX      // 2^size
	MOVL	DX, R9
	SHRL	$1, R9          // 2^(size-1)
	NEGL	DX
	CMPL	CX, R9
	LEAL	1(CX)(DX*1), R9
	CMOVLCS	R9, CX          // below 2^(size-1): negative
	MOVL	F_AL(R14), R9
	SHLXL	R9, CX, CX
	MOVBLZX	F_UNZIG(R14)(AX*1), R9
	MOVW	CX, (BX)(R9*2)

next:
	MOVQ	DI, R11
	INCQ	AX
	JMP	sym

eobzrl:
	CMPL	CX, $15
	JEQ	zrl
	// End of band for this block and the next 2^r-1+extra ones.
	SUBQ	CX, DI
	SHRXQ	DI, R10, R9
	BZHIQ	CX, R9, R9
	MOVL	$1, DX
	SHLXQ	CX, DX, DX
	LEAQ	-1(DX)(R9*1), DX
	MOVQ	DX, F_EOBRUN(R14)
	MOVQ	DI, R11
	JMP	blockend

zrl:
	ADDQ	$16, AX
	MOVQ	DI, R11
	JMP	sym

blockend:
	MOVQ	R15, (R13)
	ADDQ	$8, R13
	JMP	block

fill:
	MOVL	$1, CX
	JMP	stop

slow:
	MOVL	$2, CX
	JMP	stop

done:
	XORL	CX, CX

stop:
	TESTQ	AX, AX
	JEQ	nostore
	MOVQ	R15, (R13)    // a block stopped between symbols keeps its mask so far

nostore:
	MOVQ	F_DATA(R14), R9
	SUBQ	R9, SI
	MOVQ	SI, F_POS(R14)
	MOVQ	R10, F_ACC(R14)
	MOVQ	R11, F_N(R14)
	MOVQ	AX, F_K(R14)
	MOVQ	F_NZ(R14), R9
	SUBQ	R9, R13
	SHRQ	$3, R13
	MOVQ	R13, F_DONE(R14)
	MOVQ	CX, ret+8(FP)
	RET

// keptcoef sets BX to the coefficients of the block at R13 when it is kept, else to 0.
// Clobbers CX, R9.
TEXT keptcoef<>(SB), NOSPLIT|NOFRAME, $0-0
	XORL	BX, BX
	MOVQ	F_KEPT(R14), R9
	TESTQ	R9, R9
	JEQ	kcdone
	MOVQ	R13, CX
	SUBQ	F_NZ(R14), CX
	SHRQ	$1, CX
	MOVLQSX	(R9)(CX*1), CX
	TESTL	CX, CX
	JLT	kcdone
	MOVQ	F_COEF(R14), BX
	SHLQ	$7, CX
	ADDQ	CX, BX

kcdone:
	RET
