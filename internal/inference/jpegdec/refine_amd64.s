#include "textflag.h"
#include "jpegdec_amd64.h"

// refineState offsets (refine_amd64.go; TestRefineStateLayout checks them).
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
#define S_END 96
#define S_KEPT 104
#define S_COEF 112
#define S_P1 120
#define S_AL 124
#define S_KNZ 128
#define S_KREM 136
#define S_UNZIG 144

// DECODERUN is DECODE that also loads 1<<run into DX from the table beside the lookup table
// (huffTable.runBit), in parallel with the lookup, for the usual symbol's PDEP.
#define DECODERUN \
	LEAQ	-9(R11), CX; \
	SHRXQ	CX, R10, CX; \
	ANDL	$511, CX; \
	MOVWLZX	1024(R12)(CX*2), DX; \
	MOVWLZX	(R12)(CX*2), CX; \
	TESTL	CX, CX; \
	JEQ	slow; \
	MOVL	CX, R9; \
	SHRL	$8, R9; \
	MOVQ	R11, DI; \
	SUBQ	R9, DI; \
	MOVL	CX, R9; \
	ANDL	$15, R9; \
	SHRL	$4, CX; \
	ANDL	$15, CX

// func refineAsm(st *refineState) int
//
// Registers: R14 st, SI data position, R8 last position eight bytes can be read from, R10
// accumulator, R11 bits in it, R12 lookup table, R13 current block's mask, R15 current mask,
// AX rem (0 at a block's start), BX the current kept block's coefficients; CX, DX, DI, R9
// scratch.
TEXT ·refineAsm(SB), NOSPLIT, $0-16
	MOVQ	st+0(FP), R14
	MOVQ	S_DATA(R14), R9
	MOVQ	S_POS(R14), SI
	ADDQ	R9, SI
	MOVQ	S_LEN(R14), R8
	LEAQ	-8(R9)(R8*1), R8
	MOVQ	S_ACC(R14), R10
	MOVQ	S_N(R14), R11
	MOVQ	S_LUT(R14), R12
	MOVQ	S_NZ(R14), R13
	MOVQ	S_COUNT(R14), CX
	LEAQ	(R13)(CX*8), CX
	MOVQ	CX, S_END(R14)
	MOVQ	S_REM(R14), AX
	TESTQ	AX, AX
	JEQ	block
	// Resume the first block between two symbols.
	MOVQ	(R13), R15
	MOVQ	S_KEPT(R14), R9
	TESTQ	R9, R9
	JEQ	sym
	MOVLQSX	(R9), CX
	TESTL	CX, CX
	JLT	sym
	MOVQ	S_COEF(R14), BX
	SHLQ	$7, CX
	ADDQ	CX, BX
	JMP	ksym

block:
	XORL	AX, AX
	CMPQ	R13, S_END(R14)
	JCC	done
	MOVQ	(R13), R15
	MOVQ	S_KEPT(R14), R9
	TESTQ	R9, R9
	JEQ	skipblock
	MOVQ	R13, CX
	SUBQ	S_NZ(R14), CX
	SHRQ	$1, CX
	MOVLQSX	(R9)(CX*1), CX
	TESTL	CX, CX
	JGE	keptblock

skipblock:
	MOVQ	S_EOBRUN(R14), DX
	TESTQ	DX, DX
	JNE	eobblock
	MOVQ	S_BAND(R14), AX
	JMP	sym

	// A block inside an end-of-band run drops its correction bits; when they are not all
	// buffered, bitReader.skip does it (so the reader fills exactly where the Go code does).
eobblock:
	MOVQ	R15, R9
	ANDQ	S_BAND(R14), R9
	POPCNTQ	R9, R9
	CMPQ	R9, R11
	JHI	slow
	SUBQ	R9, R11
	DECQ	DX
	MOVQ	DX, S_EOBRUN(R14)
	ADDQ	$8, R13
	JMP	block

	// ---- Blocks that are not kept: only the mask and the bit position change. ----
sym:
	CMPQ	R11, $32
	JCC	symhave
	REFILL(fill)

symhave:
	DECODERUN
	CMPL	R9, $1
	JNE	notone

	// The usual symbol: a new coefficient after r without history; its sign bit is dropped.
	DECQ	DI
	ANDNQ	AX, R15, R9     // zeros: rem without history
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
	MOVQ	DX, S_EOBRUN(R14)
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

	// ---- Kept blocks: the same symbols, with new coefficients and corrections written. ----
keptblock:
	MOVQ	S_COEF(R14), BX
	SHLQ	$7, CX
	ADDQ	CX, BX
	MOVQ	S_EOBRUN(R14), DX
	TESTQ	DX, DX
	JNE	keob
	MOVQ	S_BAND(R14), AX
	JMP	ksym

	// Inside an end-of-band run: the coefficients with history take their corrections.
keob:
	MOVQ	R15, R9
	ANDQ	S_BAND(R14), R9
	POPCNTQ	R9, CX
	CMPQ	CX, R11
	JHI	slow
	SUBQ	CX, R11
	DECQ	DX
	MOVQ	DX, S_EOBRUN(R14)
	JMP	corr

ksym:
	CMPQ	R11, $32
	JCC	ksymhave
	REFILL(fill)

ksymhave:
	DECODERUN
	CMPL	R9, $1
	JNE	knotone

	// The usual symbol: the target becomes ±p1 by its sign bit.
	DECQ	DI
	ANDNQ	AX, R15, R9
	PDEPQ	R9, DX, DX
	TESTQ	DX, DX
	JEQ	slow
	LEAQ	-1(DX), R9
	ANDQ	AX, R9
	ANDQ	R15, R9
	POPCNTQ	R9, CX
	SUBQ	CX, DI
	JCS	slow
	// Committed: the sign bit is bit DI+CX of the accumulator.
	ADDQ	DI, CX
	SHRXQ	CX, R10, CX
	ANDL	$1, CX
	LEAL	-1(CX)(CX*1), CX // ±1
	MOVL	S_AL(R14), R11
	SHLXL	R11, CX, R11     // ±p1
	TZCNTQ	DX, CX
	MOVBLZX	S_UNZIG(R14)(CX*1), CX
	MOVW	R11, (BX)(CX*2)
	ORQ	DX, R15
	LEAQ	-1(DX)(DX*1), DX
	ANDNQ	AX, DX, AX
	MOVQ	DI, R11
	JMP	corr

knotone:
	TESTL	R9, R9
	JNE	slow
	CMPL	CX, $15
	JEQ	kzrl

	// End of band: the rest of this block's band still takes its corrections.
	MOVL	$1, DX
	SHLXQ	CX, DX, DX
	SUBQ	CX, DI
	SHRXQ	DI, R10, R9
	BZHIQ	CX, R9, R9
	LEAQ	-1(DX)(R9*1), DX
	MOVQ	R15, R9
	ANDQ	AX, R9
	POPCNTQ	R9, CX
	SUBQ	CX, DI
	JCS	slow
	MOVQ	DI, R11
	MOVQ	DX, S_EOBRUN(R14)
	XORL	AX, AX
	JMP	corr

kzrl:
	ANDNQ	AX, R15, R9
	MOVL	$0x8000, DX
	PDEPQ	R9, DX, DX
	TESTQ	DX, DX
	JEQ	kzrlall
	LEAQ	-1(DX), R9
	ANDQ	AX, R9
	ANDQ	R15, R9
	POPCNTQ	R9, CX
	SUBQ	CX, DI
	JCS	slow
	LEAQ	-1(DX)(DX*1), DX
	ANDNQ	AX, DX, AX
	MOVQ	DI, R11
	JMP	corr

kzrlall:
	MOVQ	R15, R9
	ANDQ	AX, R9
	POPCNTQ	R9, CX
	SUBQ	CX, DI
	JCS	slow
	XORL	AX, AX
	MOVQ	DI, R11

	// Corrections: R9 holds the coefficients (zig-zag bits) whose bits were just consumed,
	// the first one's highest, ending at bit R11 of the accumulator. A correction adds p1
	// away from zero to a coefficient whose bit p1 is still clear. rem and the mask are kept
	// in st meanwhile; AX holds the bits, the last coefficient's lowest.
corr:
	MOVQ	AX, S_KREM(R14)
	MOVQ	R15, S_KNZ(R14)
	SHRXQ	R11, R10, AX
	TESTQ	R9, R9
	JEQ	corrdone

corrloop:
	BSRQ	R9, CX
	BTRQ	CX, R9
	MOVBLZX	S_UNZIG(R14)(CX*1), CX
	MOVWLSX	(BX)(CX*2), DX
	MOVL	DX, DI
	ANDL	S_P1(R14), DI
	XORL	S_P1(R14), DI    // p1 when the bit is still clear, else 0
	SHRQ	$1, AX           // CF: this coefficient's correction bit
	SBBL	R15, R15
	ANDL	R15, DI
	MOVL	DX, R15
	SARL	$31, R15
	XORL	R15, DI
	SUBL	R15, DI          // negated for a negative coefficient
	ADDL	DI, DX
	MOVW	DX, (BX)(CX*2)
	TESTQ	R9, R9
	JNE	corrloop

corrdone:
	MOVQ	S_KREM(R14), AX
	MOVQ	S_KNZ(R14), R15
	TESTQ	AX, AX
	JNE	ksym
	MOVQ	R15, (R13)
	ADDQ	$8, R13
	JMP	block

	// ---- Stops. ----
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
	MOVQ	S_DATA(R14), R9
	SUBQ	R9, SI
	MOVQ	SI, S_POS(R14)
	MOVQ	R10, S_ACC(R14)
	MOVQ	R11, S_N(R14)
	MOVQ	AX, S_REM(R14)
	MOVQ	S_NZ(R14), R9
	SUBQ	R9, R13
	SHRQ	$3, R13
	MOVQ	R13, S_DONE(R14)
	MOVQ	CX, ret+8(FP)
	RET
