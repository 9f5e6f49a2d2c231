#include "textflag.h"

// skipState offsets (refine_amd64.go; TestSkipStateLayout checks them).
#define S_DATA 0
#define S_LEN 8
#define S_POS 16
#define S_ACC 24
#define S_N 32
#define S_LUT 40
#define S_NZ 48
#define S_COUNT 56
#define S_BAND 64
#define S_EOBRUN 72
#define S_REM 80
#define S_DONE 88

// REFILL appends to the accumulator (R10, R11 bits valid) as many whole bytes as fit from the
// next eight at SI when they are all within the limit R8 and none is 0xFF (no stuffing, no
// marker), as bitReader.peek8 and its callers do; otherwise it jumps to fail. Clobbers CX, DX,
// R9.
#define REFILL(fail) \
	CMPQ	SI, R8; \
	JHI	fail; \
	MOVQ	(SI), CX; \
	BSWAPQ	CX; \
	MOVQ	CX, R9; \
	NOTQ	R9; \
	MOVQ	$0x0101010101010101, DX; \
	SUBQ	DX, R9; \
	ANDQ	CX, R9; \
	MOVQ	$0x8080808080808080, DX; \
	TESTQ	DX, R9; \
	JNE	fail; \
	MOVQ	$63, R9; \
	SUBQ	R11, R9; \
	SHRQ	$3, R9; \
	ADDQ	R9, SI; \
	SHLQ	$3, R9; \
	SHLXQ	R9, R10, R10; \
	ADDQ	R9, R11; \
	NEGQ	R9; \
	ADDQ	$64, R9; \
	SHRXQ	R9, CX, CX; \
	ORQ	CX, R10

// func refineSkipAsm(st *skipState) int
//
// Registers: SI data position, R8 last position eight bytes can be read from, R10 accumulator,
// R11 bits in it, R12 lookup table, R13 current block's mask, R14 end of the run, R15 current
// mask, AX rem (0 at a block's start), BX band; CX, DX, DI, R9 scratch.
TEXT ·refineSkipAsm(SB), NOSPLIT, $0-16
	MOVQ	st+0(FP), DI
	MOVQ	S_DATA(DI), R9
	MOVQ	S_POS(DI), SI
	ADDQ	R9, SI
	MOVQ	S_LEN(DI), R8
	LEAQ	-8(R9)(R8*1), R8
	MOVQ	S_ACC(DI), R10
	MOVQ	S_N(DI), R11
	MOVQ	S_LUT(DI), R12
	MOVQ	S_NZ(DI), R13
	MOVQ	S_COUNT(DI), R14
	LEAQ	(R13)(R14*8), R14
	MOVQ	S_BAND(DI), BX
	MOVQ	S_REM(DI), AX
	TESTQ	AX, AX
	JEQ	block
	MOVQ	(R13), R15
	JMP	sym

block:
	XORL	AX, AX
	CMPQ	R13, R14
	JCC	done
	MOVQ	(R13), R15
	MOVQ	st+0(FP), DI
	MOVQ	S_EOBRUN(DI), DX
	TESTQ	DX, DX
	JNE	eobblock
	MOVQ	BX, AX
	JMP	sym

	// A block inside an end-of-band run drops its correction bits; when they are not all
	// buffered, bitReader.skip does it (so the reader fills exactly where the Go code does).
eobblock:
	MOVQ	R15, R9
	ANDQ	BX, R9
	POPCNTQ	R9, R9
	CMPQ	R9, R11
	JHI	slow
	SUBQ	R9, R11
	DECQ	DX
	MOVQ	DX, S_EOBRUN(DI)
	ADDQ	$8, R13
	JMP	block

sym:
	CMPQ	R11, $32
	JCC	symhave
	REFILL(fill)

symhave:
	LEAQ	-9(R11), CX
	SHRXQ	CX, R10, CX
	ANDL	$511, CX
	MOVWLZX	(R12)(CX*2), CX // length<<8 | symbol
	TESTL	CX, CX
	JEQ	slow            // a code longer than lutBits
	MOVL	CX, R9
	SHRL	$8, R9
	MOVQ	R11, DI
	SUBQ	R9, DI          // DI: bits left after the code
	MOVL	CX, R9
	ANDL	$15, R9         // size
	SHRL	$4, CX
	ANDL	$15, CX         // run
	CMPL	R9, $1
	JNE	notone

	// The usual symbol: a new coefficient after r without history; its sign bit is dropped.
	DECQ	DI
	ANDNQ	AX, R15, R9     // zeros: rem without history
	MOVL	$1, DX
	SHLXQ	CX, DX, DX
	PDEPQ	R9, DX, DX      // the target: the (r+1)-th zero, 0 when there is none
	TESTQ	DX, DX
	JEQ	slow
	LEAQ	-1(DX), R9
	ANDQ	AX, R9
	ANDQ	R15, R9         // passed: coefficients with history before the target
	POPCNTQ	R9, R9
	SUBQ	R9, DI          // their correction bits
	JCS	slow
	ORQ	DX, R15
	LEAQ	-1(DX)(DX*1), DX
	ANDNQ	AX, DX, AX      // rem loses the target and what precedes it
	MOVQ	DI, R11
	TESTQ	AX, AX
	JNE	sym
	MOVQ	R15, (R13)
	ADDQ	$8, R13
	JMP	block

notone:
	TESTL	R9, R9
	JNE	slow            // size above 1: invalid in a refinement
	CMPL	CX, $15
	JEQ	zrl

	// End of band for this block and the next 2^r-1+extra ones; the rest of this one's band
	// takes its correction bits.
	MOVL	$1, DX
	SHLXQ	CX, DX, DX
	SUBQ	CX, DI
	SHRXQ	DI, R10, R9
	BZHIQ	CX, R9, R9
	LEAQ	-1(DX)(R9*1), DX
	MOVQ	R15, R9
	ANDQ	AX, R9
	POPCNTQ	R9, R9
	SUBQ	R9, DI
	JCS	slow
	MOVQ	DI, R11
	MOVQ	st+0(FP), DI
	MOVQ	DX, S_EOBRUN(DI)
	MOVQ	R15, (R13)
	ADDQ	$8, R13
	JMP	block

	// ZRL: sixteen coefficients without history, or the rest of the band.
zrl:
	ANDNQ	AX, R15, R9
	MOVL	$0x8000, DX
	PDEPQ	R9, DX, DX      // the 16th zero, 0 when there is none
	TESTQ	DX, DX
	JEQ	zrlall
	LEAQ	-1(DX), R9
	ANDQ	AX, R9
	ANDQ	R15, R9
	POPCNTQ	R9, R9
	SUBQ	R9, DI
	JCS	slow
	LEAQ	-1(DX)(DX*1), DX
	ANDNQ	AX, DX, AX
	JMP	zrlcommit

zrlall:
	MOVQ	R15, R9
	ANDQ	AX, R9
	POPCNTQ	R9, R9
	SUBQ	R9, DI
	JCS	slow
	XORL	AX, AX

zrlcommit:
	MOVQ	DI, R11
	TESTQ	AX, AX
	JNE	sym
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
	MOVQ	st+0(FP), DI
	MOVQ	S_DATA(DI), R9
	SUBQ	R9, SI
	MOVQ	SI, S_POS(DI)
	MOVQ	R10, S_ACC(DI)
	MOVQ	R11, S_N(DI)
	MOVQ	AX, S_REM(DI)
	MOVQ	S_NZ(DI), R9
	SUBQ	R9, R13
	SHRQ	$3, R13
	MOVQ	R13, S_DONE(DI)
	MOVQ	CX, ret+8(FP)
	RET
