//go:build amd64

#include "textflag.h"

// The AMX int8 tiles. Go's assembler has no AMX mnemonics, so each
// instruction is spelled as its bytes, with the registers fixed:
//
//	LDTILECFG (AX)                         C4 E2 78 49 00
//	XGETBV                                 0F 01 D0
//	TILEZERO tmm0..tmm3                    C4 E2 7B 49 C0/C8/D0/D8
//	TILELOADD tmm4, (AX)(DX*1)             C4 E2 7B 4B 24 10
//	TILELOADD tmm5, (R10)(DX*1)            C4 C2 7B 4B 2C 12
//	TILELOADD tmm6, (SI)(R8*1)             C4 A2 7B 4B 34 06
//	TILELOADD tmm7, 64(SI)(R8*1)           C4 A2 7B 4B 7C 06 40
//	TDPBUSD tmm0, tmm4, tmm6               C4 E2 49 5E C4
//	TDPBUSD tmm1, tmm4, tmm7               C4 E2 41 5E CC
//	TDPBUSD tmm2, tmm5, tmm6               C4 E2 49 5E D5
//	TDPBUSD tmm3, tmm5, tmm7               C4 E2 41 5E DD
//	TILESTORED (R9)(R11*1), tmm0           C4 82 7A 4B 04 19
//	TILESTORED 64(R9)(R11*1), tmm1         C4 82 7A 4B 4C 19 40
//	TILESTORED (R12)(R11*1), tmm2          C4 82 7A 4B 14 1C
//	TILESTORED 64(R12)(R11*1), tmm3        C4 82 7A 4B 5C 1C 40
//
// Loading the configuration costs about 250 ns here (more than a 16-row
// block of 64 k), so the tiles stay configured on the thread between
// calls: XGETBV with ECX=1 reads XINUSE, whose bit 17 (TILECFG) tells
// whether this thread's tiles are configured, and only an unconfigured
// thread loads amxConfig, the only configuration this program uses.
//
// The configuration (amxConfig) makes every tile 16 rows of 64 bytes:
// tmm4/tmm5 hold 16 activation rows by 64 k (unsigned), tmm6/tmm7 16
// groups of 4 k by 16 channels (signed; a PackedI8 panel's two halves,
// 128 bytes per group of 4 k), tmm0..tmm3 16 rows by 16 channels of int32.

#define LDTILECFG_AX BYTE $0xC4; BYTE $0xE2; BYTE $0x78; BYTE $0x49; BYTE $0x00
#define XGETBV BYTE $0x0F; BYTE $0x01; BYTE $0xD0
#define TILEZERO_0 BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xC0
#define TILEZERO_1 BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xC8
#define TILEZERO_2 BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xD0
#define TILEZERO_3 BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xD8
#define LOAD_A0 BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x4B; BYTE $0x24; BYTE $0x10
#define LOAD_A1 BYTE $0xC4; BYTE $0xC2; BYTE $0x7B; BYTE $0x4B; BYTE $0x2C; BYTE $0x12
#define LOAD_B0 BYTE $0xC4; BYTE $0xA2; BYTE $0x7B; BYTE $0x4B; BYTE $0x34; BYTE $0x06
#define LOAD_B1 BYTE $0xC4; BYTE $0xA2; BYTE $0x7B; BYTE $0x4B; BYTE $0x7C; BYTE $0x06; BYTE $0x40
#define DP_00 BYTE $0xC4; BYTE $0xE2; BYTE $0x49; BYTE $0x5E; BYTE $0xC4
#define DP_01 BYTE $0xC4; BYTE $0xE2; BYTE $0x41; BYTE $0x5E; BYTE $0xCC
#define DP_10 BYTE $0xC4; BYTE $0xE2; BYTE $0x49; BYTE $0x5E; BYTE $0xD5
#define DP_11 BYTE $0xC4; BYTE $0xE2; BYTE $0x41; BYTE $0x5E; BYTE $0xDD
#define STORE_00 BYTE $0xC4; BYTE $0x82; BYTE $0x7A; BYTE $0x4B; BYTE $0x04; BYTE $0x19
#define STORE_01 BYTE $0xC4; BYTE $0x82; BYTE $0x7A; BYTE $0x4B; BYTE $0x4C; BYTE $0x19; BYTE $0x40
#define STORE_10 BYTE $0xC4; BYTE $0x82; BYTE $0x7A; BYTE $0x4B; BYTE $0x14; BYTE $0x1C
#define STORE_11 BYTE $0xC4; BYTE $0x82; BYTE $0x7A; BYTE $0x4B; BYTE $0x5C; BYTE $0x1C; BYTE $0x40

// func amxGemm32(cfg *byte, k64 int, a *uint8, lda int, b *int8, pstride, np int, c *int32, ldc int)
// 32 rows of a (lda bytes apart, k64*64 bytes each) times np panels of b
// (pstride bytes apart, each k64*16 groups of 4 k by 32 channels) into
// c (ldc bytes between rows; panel p at column 32p), exact int32 sums.
TEXT ·amxGemm32(SB), NOSPLIT, $0-72
	MOVL $1, CX
	XGETBV
	TESTL $0x20000, AX
	JNZ  cfg32
	MOVL $1, CX
	XGETBV
	TESTL $0x20000, AX
	JNZ  cfg16
	MOVQ cfg+0(FP), AX
	LDTILECFG_AX

cfg16:

cfg32:
	MOVQ lda+24(FP), DX
	MOVQ b+32(FP), DI
	MOVQ pstride+40(FP), BX
	MOVQ np+48(FP), R13
	MOVQ c+56(FP), R9
	MOVQ ldc+64(FP), R11
	MOVQ $128, R8
	LEAQ (R9)(R11*8), R12
	LEAQ (R12)(R11*8), R12

panel32:
	TILEZERO_0
	TILEZERO_1
	TILEZERO_2
	TILEZERO_3
	MOVQ k64+8(FP), CX
	MOVQ a+16(FP), AX
	LEAQ (AX)(DX*8), R10
	LEAQ (R10)(DX*8), R10
	MOVQ DI, SI

k32:
	LOAD_A0
	LOAD_A1
	LOAD_B0
	LOAD_B1
	DP_00
	DP_01
	DP_10
	DP_11
	ADDQ $64, AX
	ADDQ $64, R10
	ADDQ $2048, SI
	DECQ CX
	JNZ  k32

	STORE_00
	STORE_01
	STORE_10
	STORE_11
	ADDQ $128, R9
	ADDQ $128, R12
	ADDQ BX, DI
	DECQ R13
	JNZ  panel32
	RET

// func amxGemm16(cfg *byte, k64 int, a *uint8, lda int, b *int8, pstride, np int, c *int32, ldc int)
// amxGemm32 for 16 rows.
TEXT ·amxGemm16(SB), NOSPLIT, $0-72
	MOVQ cfg+0(FP), AX
	LDTILECFG_AX
	MOVQ lda+24(FP), DX
	MOVQ b+32(FP), DI
	MOVQ pstride+40(FP), BX
	MOVQ np+48(FP), R13
	MOVQ c+56(FP), R9
	MOVQ ldc+64(FP), R11
	MOVQ $128, R8

panel16:
	TILEZERO_0
	TILEZERO_1
	MOVQ k64+8(FP), CX
	MOVQ a+16(FP), AX
	MOVQ DI, SI

k16:
	LOAD_A0
	LOAD_B0
	LOAD_B1
	DP_00
	DP_01
	ADDQ $64, AX
	ADDQ $2048, SI
	DECQ CX
	JNZ  k16

	STORE_00
	STORE_01
	ADDQ $128, R9
	ADDQ BX, DI
	DECQ R13
	JNZ  panel16
	RET

