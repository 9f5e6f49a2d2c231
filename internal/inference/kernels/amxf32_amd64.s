//go:build amd64

#include "textflag.h"

// The bf16x3 float GEMM on AMX BF16 tiles (see amxf32.go). Go's assembler
// has no AMX mnemonics, so the tile instructions are spelled as bytes with
// their registers fixed (the encodings checked against GNU as):
//
//	LDTILECFG (AX)                       C4 E2 78 49 00
//	TILELOADD tmm4, d(AX)(DX*1)          C4 E2 7B 4B 24 10 / 64 10 40 / A4 10 d32
//	TILELOADD tmm5, d(R10)(DX*1)         C4 C2 7B 4B 2C 12 / 6C 12 40 / AC 12 d32
//	TILELOADD tmm6, d(SI)(R8*1)          C4 A2 7B 4B 34 06 / B4 06 d32
//	TILELOADD tmm7, d+64(SI)(R8*1)       C4 A2 7B 4B 7C 06 40 / BC 06 d32
//	TDPBF16PS tmm0, tmm4, tmm6           C4 E2 4A 5C C4
//	TDPBF16PS tmm1, tmm4, tmm7           C4 E2 42 5C CC
//	TDPBF16PS tmm2, tmm5, tmm6           C4 E2 4A 5C D5
//	TDPBF16PS tmm3, tmm5, tmm7           C4 E2 42 5C DD
//	TILESTORED d(R9|R12)(R11*1), tmm0-3  as in int8amx_amd64.s
//
// The configuration is amxConfig (every tile 16 rows of 64 bytes), loaded
// only on a thread whose tiles are not configured yet (XINUSE bit 17, as
// int8amx_amd64.s does). tmm4/tmm5 hold one piece of 16 split activation
// rows each (32 k as bf16), tmm6/tmm7 one piece of a panel's 16 and 16
// channels (16 rows of pairs of k), tmm0..tmm3 the fp32 sums of 32 rows by
// 32 channels (16 rows for bf3Gemm16: tmm0, tmm1).
//
// A split activation row holds, for each k block of 32, the pieces hi,
// mid, lo of 64 bytes each (192 bytes a block); a panel's k block holds
// its pieces hi, mid, lo of 2048 bytes each (6144 bytes a block). Per
// block the six products run as hi*lo, hi*hi, hi*mid, mid*mid, mid*hi,
// lo*hi, the order that reloads the fewest tiles (seven pairs of loads).

#define LDTILECFG_AX BYTE $0xC4; BYTE $0xE2; BYTE $0x78; BYTE $0x49; BYTE $0x00
#define XGETBV BYTE $0x0F; BYTE $0x01; BYTE $0xD0
#define TILEZERO_0 BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xC0
#define TILEZERO_1 BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xC8
#define TILEZERO_2 BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xD0
#define TILEZERO_3 BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x49; BYTE $0xD8

// A pieces: hi at 0, mid at 64, lo at 128.
#define LOAD_A0_HI BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x4B; BYTE $0x24; BYTE $0x10
#define LOAD_A0_MID BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x4B; BYTE $0x64; BYTE $0x10; BYTE $0x40
#define LOAD_A0_LO BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x4B; BYTE $0xA4; BYTE $0x10; BYTE $0x80; BYTE $0x00; BYTE $0x00; BYTE $0x00
#define LOAD_A1_HI BYTE $0xC4; BYTE $0xC2; BYTE $0x7B; BYTE $0x4B; BYTE $0x2C; BYTE $0x12
#define LOAD_A1_MID BYTE $0xC4; BYTE $0xC2; BYTE $0x7B; BYTE $0x4B; BYTE $0x6C; BYTE $0x12; BYTE $0x40
#define LOAD_A1_LO BYTE $0xC4; BYTE $0xC2; BYTE $0x7B; BYTE $0x4B; BYTE $0xAC; BYTE $0x12; BYTE $0x80; BYTE $0x00; BYTE $0x00; BYTE $0x00

// B pieces: hi at 0, mid at 2048, lo at 4096; the second 16 channels 64
// bytes on.
#define LOAD_B0_HI BYTE $0xC4; BYTE $0xA2; BYTE $0x7B; BYTE $0x4B; BYTE $0x34; BYTE $0x06
#define LOAD_B1_HI BYTE $0xC4; BYTE $0xA2; BYTE $0x7B; BYTE $0x4B; BYTE $0x7C; BYTE $0x06; BYTE $0x40
#define LOAD_B0_MID BYTE $0xC4; BYTE $0xA2; BYTE $0x7B; BYTE $0x4B; BYTE $0xB4; BYTE $0x06; BYTE $0x00; BYTE $0x08; BYTE $0x00; BYTE $0x00
#define LOAD_B1_MID BYTE $0xC4; BYTE $0xA2; BYTE $0x7B; BYTE $0x4B; BYTE $0xBC; BYTE $0x06; BYTE $0x40; BYTE $0x08; BYTE $0x00; BYTE $0x00
#define LOAD_B0_LO BYTE $0xC4; BYTE $0xA2; BYTE $0x7B; BYTE $0x4B; BYTE $0xB4; BYTE $0x06; BYTE $0x00; BYTE $0x10; BYTE $0x00; BYTE $0x00
#define LOAD_B1_LO BYTE $0xC4; BYTE $0xA2; BYTE $0x7B; BYTE $0x4B; BYTE $0xBC; BYTE $0x06; BYTE $0x40; BYTE $0x10; BYTE $0x00; BYTE $0x00

#define DP_00 BYTE $0xC4; BYTE $0xE2; BYTE $0x4A; BYTE $0x5C; BYTE $0xC4
#define DP_01 BYTE $0xC4; BYTE $0xE2; BYTE $0x42; BYTE $0x5C; BYTE $0xCC
#define DP_10 BYTE $0xC4; BYTE $0xE2; BYTE $0x4A; BYTE $0x5C; BYTE $0xD5
#define DP_11 BYTE $0xC4; BYTE $0xE2; BYTE $0x42; BYTE $0x5C; BYTE $0xDD

#define STORE_00 BYTE $0xC4; BYTE $0x82; BYTE $0x7A; BYTE $0x4B; BYTE $0x04; BYTE $0x19
#define STORE_01 BYTE $0xC4; BYTE $0x82; BYTE $0x7A; BYTE $0x4B; BYTE $0x4C; BYTE $0x19; BYTE $0x40
#define STORE_10 BYTE $0xC4; BYTE $0x82; BYTE $0x7A; BYTE $0x4B; BYTE $0x14; BYTE $0x1C
#define STORE_11 BYTE $0xC4; BYTE $0x82; BYTE $0x7A; BYTE $0x4B; BYTE $0x5C; BYTE $0x1C; BYTE $0x40

#define DP4 DP_00; DP_01; DP_10; DP_11
#define DP2 DP_00; DP_01

// PF16(o) prefetches 16 cache lines (1 KB) of the panel's block two ahead
// (12288 bytes on), from offset o of it: six of them cover the block.
#define PF16(o) \
	PREFETCHT0 (12288+o)(SI); PREFETCHT0 (12288+o+64)(SI); PREFETCHT0 (12288+o+128)(SI); PREFETCHT0 (12288+o+192)(SI); \
	PREFETCHT0 (12288+o+256)(SI); PREFETCHT0 (12288+o+320)(SI); PREFETCHT0 (12288+o+384)(SI); PREFETCHT0 (12288+o+448)(SI); \
	PREFETCHT0 (12288+o+512)(SI); PREFETCHT0 (12288+o+576)(SI); PREFETCHT0 (12288+o+640)(SI); PREFETCHT0 (12288+o+704)(SI); \
	PREFETCHT0 (12288+o+768)(SI); PREFETCHT0 (12288+o+832)(SI); PREFETCHT0 (12288+o+896)(SI); PREFETCHT0 (12288+o+960)(SI)

// func bf3Gemm32(cfg *byte, kb int, a *uint16, lda int, b *uint16, pstride, np int, c *float32, ldc int)
// 32 split rows of a (lda bytes apart, kb blocks each) times np panels of
// b (pstride bytes apart) into c (ldc bytes between rows; panel p at
// column 32p), fp32 sums.
TEXT ·bf3Gemm32(SB), NOSPLIT, $0-72
	MOVL $1, CX
	XGETBV
	TESTL $0x20000, AX
	JNZ  configured
	MOVQ cfg+0(FP), AX
	LDTILECFG_AX

configured:
	MOVQ lda+24(FP), DX
	MOVQ b+32(FP), DI
	MOVQ pstride+40(FP), BX
	MOVQ np+48(FP), R13
	MOVQ c+56(FP), R9
	MOVQ ldc+64(FP), R11
	MOVQ $128, R8
	LEAQ (R9)(R11*8), R12
	LEAQ (R12)(R11*8), R12

panel:
	TILEZERO_0
	TILEZERO_1
	TILEZERO_2
	TILEZERO_3
	MOVQ kb+8(FP), CX
	MOVQ a+16(FP), AX
	LEAQ (AX)(DX*8), R10
	LEAQ (R10)(DX*8), R10
	MOVQ DI, SI

block:
	LOAD_A0_HI
	LOAD_A1_HI
	LOAD_B0_LO
	LOAD_B1_LO
	DP4
	PF16(0)
	LOAD_B0_HI
	LOAD_B1_HI
	DP4
	PF16(1024)
	LOAD_B0_MID
	LOAD_B1_MID
	DP4
	PF16(2048)
	LOAD_A0_MID
	LOAD_A1_MID
	DP4
	PF16(3072)
	LOAD_B0_HI
	LOAD_B1_HI
	DP4
	PF16(4096)
	LOAD_A0_LO
	LOAD_A1_LO
	DP4
	PF16(5120)
	ADDQ $192, AX
	ADDQ $192, R10
	ADDQ $6144, SI
	DECQ CX
	JNZ  block

	STORE_00
	STORE_01
	STORE_10
	STORE_11
	ADDQ $128, R9
	ADDQ $128, R12
	ADDQ BX, DI
	DECQ R13
	JNZ  panel
	RET

// func bf3Gemm16(cfg *byte, kb int, a *uint16, lda int, b *uint16, pstride, np int, c *float32, ldc int)
// bf3Gemm32 for 16 rows.
TEXT ·bf3Gemm16(SB), NOSPLIT, $0-72
	MOVL $1, CX
	XGETBV
	TESTL $0x20000, AX
	JNZ  configured
	MOVQ cfg+0(FP), AX
	LDTILECFG_AX

configured:
	MOVQ lda+24(FP), DX
	MOVQ b+32(FP), DI
	MOVQ pstride+40(FP), BX
	MOVQ np+48(FP), R13
	MOVQ c+56(FP), R9
	MOVQ ldc+64(FP), R11
	MOVQ $128, R8

panel:
	TILEZERO_0
	TILEZERO_1
	MOVQ kb+8(FP), CX
	MOVQ a+16(FP), AX
	MOVQ DI, SI

block:
	LOAD_A0_HI
	LOAD_B0_LO
	LOAD_B1_LO
	DP2
	PF16(0)
	LOAD_B0_HI
	LOAD_B1_HI
	DP2
	PF16(1024)
	LOAD_B0_MID
	LOAD_B1_MID
	DP2
	PF16(2048)
	LOAD_A0_MID
	DP2
	PF16(3072)
	LOAD_B0_HI
	LOAD_B1_HI
	DP2
	PF16(4096)
	LOAD_A0_LO
	DP2
	PF16(5120)
	ADDQ $192, AX
	ADDQ $6144, SI
	DECQ CX
	JNZ  block

	STORE_00
	STORE_01
	ADDQ $128, R9
	ADDQ BX, DI
	DECQ R13
	JNZ  panel
	RET

// VCVTNEPS2BF16 (AVX512_BF16, round to nearest even) is also missing
// from Go's assembler: CVT_a_b converts the 16 floats of Za into 16 bf16
// in Yb (encodings checked against GNU as).
#define CVT_0_1 BYTE $0x62; BYTE $0xF2; BYTE $0x7E; BYTE $0x48; BYTE $0x72; BYTE $0xC8
#define CVT_3_4 BYTE $0x62; BYTE $0xF2; BYTE $0x7E; BYTE $0x48; BYTE $0x72; BYTE $0xE3
#define CVT_6_7 BYTE $0x62; BYTE $0xF2; BYTE $0x7E; BYTE $0x48; BYTE $0x72; BYTE $0xFE
#define CVT_8_9 BYTE $0x62; BYTE $0x52; BYTE $0x7E; BYTE $0x48; BYTE $0x72; BYTE $0xC8
#define CVT_11_12 BYTE $0x62; BYTE $0x52; BYTE $0x7E; BYTE $0x48; BYTE $0x72; BYTE $0xE3
#define CVT_14_15 BYTE $0x62; BYTE $0x52; BYTE $0x7E; BYTE $0x48; BYTE $0x72; BYTE $0xFE

// SPLIT_0 splits the 16 floats of Z0: hi in Y1, mid in Y4, lo in Y7 (Z2,
// Z5 the pieces widened back, Z3 = x-hi and Z6 = x-hi-mid, exact in
// fp32). SPLIT_8 does the same for Z8 into Y9, Y12, Y15.
#define SPLIT_0 \
	CVT_0_1; \
	VPMOVZXWD Y1, Z2; \
	VPSLLD $16, Z2, Z2; \
	VSUBPS Z2, Z0, Z3; \
	CVT_3_4; \
	VPMOVZXWD Y4, Z5; \
	VPSLLD $16, Z5, Z5; \
	VSUBPS Z5, Z3, Z6; \
	CVT_6_7

#define SPLIT_8 \
	CVT_8_9; \
	VPMOVZXWD Y9, Z10; \
	VPSLLD $16, Z10, Z10; \
	VSUBPS Z10, Z8, Z11; \
	CVT_11_12; \
	VPMOVZXWD Y12, Z13; \
	VPSLLD $16, Z13, Z13; \
	VSUBPS Z13, Z11, Z14; \
	CVT_14_15

// func bf3Split(rows, kfull int, a *float32, lda int, masks uint32, dst *uint16, ldd int)
// Splits rows of a (lda bytes apart) into dst (ldd bytes apart): kfull
// whole blocks of 32 k, then, when masks is not 0, one block whose k are
// the set bits of masks (low half the first 16), zeros elsewhere.
TEXT ·bf3Split(SB), NOSPLIT, $0-56
	MOVQ  rows+0(FP), R8
	MOVQ  a+16(FP), SI
	MOVQ  dst+40(FP), DI
	MOVL  masks+32(FP), AX
	KMOVW AX, K1
	SHRL  $16, AX
	KMOVW AX, K2

row:
	MOVQ  kfull+8(FP), R10
	MOVQ  SI, R11
	MOVQ  DI, R12
	TESTQ R10, R10
	JZ    tail

full:
	VMOVUPS (R11), Z0
	VMOVUPS 64(R11), Z8
	SPLIT_0
	SPLIT_8
	VMOVDQU Y1, (R12)
	VMOVDQU Y9, 32(R12)
	VMOVDQU Y4, 64(R12)
	VMOVDQU Y12, 96(R12)
	VMOVDQU Y7, 128(R12)
	VMOVDQU Y15, 160(R12)
	ADDQ $128, R11
	ADDQ $192, R12
	DECQ R10
	JNZ  full

tail:
	MOVL  masks+32(FP), AX
	TESTL AX, AX
	JZ    next
	VMOVUPS.Z (R11), K1, Z0
	VMOVUPS.Z 64(R11), K2, Z8
	SPLIT_0
	SPLIT_8
	VMOVDQU Y1, (R12)
	VMOVDQU Y9, 32(R12)
	VMOVDQU Y4, 64(R12)
	VMOVDQU Y12, 96(R12)
	VMOVDQU Y7, 128(R12)
	VMOVDQU Y15, 160(R12)

next:
	ADDQ lda+24(FP), SI
	ADDQ ldd+48(FP), DI
	DECQ R8
	JNZ  row
	VZEROUPPER
	RET

// func bf3Epilogue(n int, src, bias, res, dst *float32, lo, hi float32)
// dst[j] = min(max(src[j] + bias[j] (+ res[j] when res is not nil), lo), hi)
// for j in [0, n).
TEXT ·bf3Epilogue(SB), NOSPLIT, $0-48
	MOVQ n+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ bias+16(FP), BX
	MOVQ res+24(FP), DX
	MOVQ dst+32(FP), DI
	VBROADCASTSS lo+40(FP), Z30
	VBROADCASTSS hi+44(FP), Z31

loop:
	CMPQ CX, $16
	JLT  tail
	VMOVUPS (SI), Z0
	VADDPS  (BX), Z0, Z0
	TESTQ   DX, DX
	JZ      nores
	VADDPS  (DX), Z0, Z0
	ADDQ    $64, DX

nores:
	VMAXPS  Z30, Z0, Z0
	VMINPS  Z31, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, SI
	ADDQ    $64, BX
	ADDQ    $64, DI
	SUBQ    $16, CX
	JMP     loop

tail:
	TESTQ CX, CX
	JZ    done
	MOVL  $1, AX
	SHLL  CX, AX
	DECL  AX
	KMOVW AX, K1
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z (BX), K1, Z1
	VADDPS    Z1, Z0, Z0
	TESTQ     DX, DX
	JZ        tailnores
	VMOVUPS.Z (DX), K1, Z1
	VADDPS    Z1, Z0, Z0

tailnores:
	VMAXPS  Z30, Z0, Z0
	VMINPS  Z31, Z0, Z0
	VMOVUPS Z0, K1, (DI)

done:
	VZEROUPPER
	RET

// The half-panel kernels: the first 16 channels of one panel only, for a
// last panel whose second half is all padding (N of 40, 80, 112, ...).
#define DP_0_5_6 BYTE $0xC4; BYTE $0xE2; BYTE $0x4A; BYTE $0x5C; BYTE $0xC5
#define LOAD_A5_MID BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x4B; BYTE $0x6C; BYTE $0x10; BYTE $0x40
#define LOAD_A5_LO BYTE $0xC4; BYTE $0xE2; BYTE $0x7B; BYTE $0x4B; BYTE $0xAC; BYTE $0x10; BYTE $0x80; BYTE $0x00; BYTE $0x00; BYTE $0x00

// func bf3Half32(cfg *byte, kb int, a *uint16, lda int, b *uint16, c *float32, ldc int)
// 32 split rows times the first half of the panel b into c (16 floats a
// row, ldc bytes apart): tmm4/tmm5 one piece of rows 0-15/16-31, tmm6 one
// piece of the half, tmm0/tmm2 the sums.
TEXT ·bf3Half32(SB), NOSPLIT, $0-56
	MOVL $1, CX
	XGETBV
	TESTL $0x20000, AX
	JNZ  configured
	MOVQ cfg+0(FP), AX
	LDTILECFG_AX

configured:
	MOVQ lda+24(FP), DX
	MOVQ b+32(FP), SI
	MOVQ c+40(FP), R9
	MOVQ ldc+48(FP), R11
	MOVQ $128, R8
	LEAQ (R9)(R11*8), R12
	LEAQ (R12)(R11*8), R12
	TILEZERO_0
	TILEZERO_2
	MOVQ kb+8(FP), CX
	MOVQ a+16(FP), AX
	LEAQ (AX)(DX*8), R10
	LEAQ (R10)(DX*8), R10

block:
	LOAD_A0_HI
	LOAD_A1_HI
	LOAD_B0_LO
	DP_00
	DP_10
	LOAD_B0_MID
	DP_00
	DP_10
	LOAD_A0_MID
	LOAD_A1_MID
	DP_00
	DP_10
	LOAD_B0_HI
	DP_00
	DP_10
	LOAD_A0_HI
	LOAD_A1_HI
	DP_00
	DP_10
	LOAD_A0_LO
	LOAD_A1_LO
	DP_00
	DP_10
	ADDQ $192, AX
	ADDQ $192, R10
	ADDQ $6144, SI
	DECQ CX
	JNZ  block

	STORE_00
	STORE_10
	RET

// func bf3Half16(cfg *byte, kb int, a *uint16, lda int, b *uint16, c *float32, ldc int)
// bf3Half32 for 16 rows: tmm4 their hi piece, tmm5 mid then lo, tmm0 the
// sums.
TEXT ·bf3Half16(SB), NOSPLIT, $0-56
	MOVL $1, CX
	XGETBV
	TESTL $0x20000, AX
	JNZ  configured
	MOVQ cfg+0(FP), AX
	LDTILECFG_AX

configured:
	MOVQ lda+24(FP), DX
	MOVQ b+32(FP), SI
	MOVQ c+40(FP), R9
	MOVQ ldc+48(FP), R11
	MOVQ $128, R8
	TILEZERO_0
	MOVQ kb+8(FP), CX
	MOVQ a+16(FP), AX

block:
	LOAD_A0_HI
	LOAD_A5_MID
	LOAD_B0_LO
	DP_00
	LOAD_B0_MID
	DP_00
	DP_0_5_6
	LOAD_B0_HI
	DP_0_5_6
	DP_00
	LOAD_A5_LO
	DP_0_5_6
	ADDQ $192, AX
	ADDQ $6144, SI
	DECQ CX
	JNZ  block

	STORE_00
	RET
