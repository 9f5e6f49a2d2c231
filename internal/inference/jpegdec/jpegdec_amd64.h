// Bit reader macros shared by refine_amd64.s and first_amd64.s. Both keep the reader in the
// same registers: SI data position, R8 the last position eight bytes can be read from, R10
// accumulator, R11 bits in it, R12 the AC table's lookup table.

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

// DECODE looks the next code up (at least 32 bits buffered): CX the run, R9 the size, DI the
// bits left after the code. A code longer than the table's goes to the label slow.
#define DECODE \
	LEAQ	-9(R11), CX; \
	SHRXQ	CX, R10, CX; \
	ANDL	$511, CX; \
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
