//go:build amd64

#include "textflag.h"

#include "i8avx2_amd64.h"

// The AVX2 int8 GEMM tiles with the requantization fused in: the K loop
// of gemmI16x4x16AVX2 (4 widened activation rows times 16 channels of
// W16, VPMADDWD and VPADDD into Y0..Y7: row r's channels 0-7 in Y(2r),
// 8-15 in Y(2r+1)), then each accumulator is rescaled with the tab8 block
// of its 8 channels (R11: the tile's first block, the next 256 bytes on),
// clamped and packed, and each row's bytes stored at once.

// func gemmI16x4x16RQAVX2(kp int, a *uint16, lda int, b *int16, out *int8, ldo int, tab *int32, double bool, zp, lo, hi int32)
// kp is the number of k pairs, lda the bytes between activation rows, b
// the tile's 16 channels of W16 (a step of 2 k is 128 bytes), out the
// first row's first byte (rows ldo bytes apart), tab the tab8 block of the
// tile's first channel.
TEXT ·gemmI16x4x16RQAVX2(SB), NOSPLIT, $0-72
	MOVQ kp+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), DX
	MOVQ b+24(FP), DI
	LEAQ (SI)(DX*2), R10
	I16X4X16ZERO

rqavx2loop:
	I16X4X16STEP
	DECQ CX
	JNZ  rqavx2loop

	MOVQ         tab+48(FP), R11
	MOVQ         out+32(FP), R8
	MOVQ         ldo+40(FP), R9
	MOVL         lo+64(FP), AX
	VMOVD        AX, X12
	VPBROADCASTD X12, Y12
	MOVL         hi+68(FP), AX
	VMOVD        AX, X13
	VPBROADCASTD X13, Y13
	MOVBQZX      double+56(FP), AX
	TESTQ        AX, AX
	JNZ          rqavx2double
	RQS16(Y0, 0)
	RQS16(Y1, 256)
	RQS16(Y2, 0)
	RQS16(Y3, 256)
	RQS16(Y4, 0)
	RQS16(Y5, 256)
	RQS16(Y6, 0)
	RQS16(Y7, 256)
	JMP          rqavx2store

rqavx2double:
	MOVL         zp+60(FP), AX
	VMOVD        AX, X14
	VPBROADCASTD X14, Y14
	MOVQ         $0x40000000, AX
	VMOVQ        AX, X15
	VPBROADCASTQ X15, Y15
	RQD16(Y0, 0)
	RQD16(Y1, 256)
	RQD16(Y2, 0)
	RQD16(Y3, 256)
	RQD16(Y4, 0)
	RQD16(Y5, 256)
	RQD16(Y6, 0)
	RQD16(Y7, 256)

rqavx2store:
	PACK16(Y0, Y1, X0, (R8))
	ADDQ R9, R8
	PACK16(Y2, Y3, X2, (R8))
	ADDQ R9, R8
	PACK16(Y4, Y5, X4, (R8))
	ADDQ R9, R8
	PACK16(Y6, Y7, X6, (R8))
	VZEROUPPER
	RET

// PACK32 stores the 32 clamped channels of YA, YB, YC, YD (8 each) as
// bytes at (R8) and moves R8 to the next row: the packs leave the dwords
// of the four in the order a0 b0 c0 d0 a1 b1 c1 d1 (4 bytes each), which
// VPERMD with Y11 = rq3x32Perm puts back in channel order.
#define PACK32(YA, YB, YC, YD) \
	VPACKSSDW YB, YA, YA \
	VPACKSSDW YD, YC, YC \
	VPACKSSWB YC, YA, YA \
	VPERMD    YA, Y11, YA \
	VMOVDQU   YA, (R8) \
	ADDQ      R9, R8

// RQROWS and RQROWD rescale one row's 32 channels (tab8 blocks at 0, 256,
// 512, 768) in the single and the double rounding and store them.
#define RQROWS(YA, YB, YC, YD) \
	RQS16(YA, 0) \
	RQS16(YB, 256) \
	RQS16(YC, 512) \
	RQS16(YD, 768) \
	VMOVDQU rq3x32Perm<>(SB), Y11 \
	PACK32(YA, YB, YC, YD)

#define RQROWD(YA, YB, YC, YD) \
	RQD16(YA, 0) \
	RQD16(YB, 256) \
	RQD16(YC, 512) \
	RQD16(YD, 768) \
	VMOVDQU rq3x32Perm<>(SB), Y11 \
	PACK32(YA, YB, YC, YD)

// UBMAC adds row Y12's (4 activation bytes, broadcast) products with the
// 32 weight bytes at OFF(DI) (8 channels by 4 k) into ACC: VPMADDUBSW's
// pair sums (Y13), widened and added by VPMADDWD with ones (Y15).
#define UBMAC(OFF, ACC) \
	VPMADDUBSW OFF(DI), Y12, Y13 \
	VPMADDWD   Y15, Y13, Y13 \
	VPADDD     Y13, ACC, ACC

// RQ3X32STEP is one k pair of gemmI16x3x32RQAVX2 (without moving SI
// and DI).
#define RQ3X32STEP \
	VPBROADCASTD (SI), Y12 \
	VPMADDWD     (DI), Y12, Y14 \
	VPADDD       Y14, Y0, Y0 \
	VPMADDWD     32(DI), Y12, Y15 \
	VPADDD       Y15, Y1, Y1 \
	VPMADDWD     64(DI), Y12, Y14 \
	VPADDD       Y14, Y2, Y2 \
	VPMADDWD     96(DI), Y12, Y15 \
	VPADDD       Y15, Y3, Y3 \
	VPBROADCASTD (SI)(DX*1), Y13 \
	VPMADDWD     (DI), Y13, Y14 \
	VPADDD       Y14, Y4, Y4 \
	VPMADDWD     32(DI), Y13, Y15 \
	VPADDD       Y15, Y5, Y5 \
	VPMADDWD     64(DI), Y13, Y14 \
	VPADDD       Y14, Y6, Y6 \
	VPMADDWD     96(DI), Y13, Y15 \
	VPADDD       Y15, Y7, Y7 \
	VPBROADCASTD (SI)(DX*2), Y12 \
	VPMADDWD     (DI), Y12, Y14 \
	VPADDD       Y14, Y8, Y8 \
	VPMADDWD     32(DI), Y12, Y15 \
	VPADDD       Y15, Y9, Y9 \
	VPMADDWD     64(DI), Y12, Y14 \
	VPADDD       Y14, Y10, Y10 \
	VPMADDWD     96(DI), Y12, Y15 \
	VPADDD       Y15, Y11, Y11

// func gemmI16x3x32RQAVX2(kp int, a *uint16, lda int, b *int16, out *int8, ldo int, tab *int32, double bool, zp, lo, hi int32, pf *int16)
// gemmI16x4x16RQAVX2 on 3 rows by a whole 32-channel panel: Y0..Y11
// accumulate row r's channels 8j..8j+7 in Y(4r+j). Each step broadcasts
// one row's k pair at a time and multiplies it with the panel's four
// blocks of weights straight from memory, so three broadcasts (not four)
// feed twelve VPMADDWDs (not eight). For the rescale the third row's
// accumulators go to the stack, freeing the registers the macros use.
TEXT ·gemmI16x3x32RQAVX2(SB), NOSPLIT, $128-80
	MOVQ  kp+0(FP), CX
	MOVQ  pf+72(FP), R12
	MOVQ  a+8(FP), SI
	MOVQ  lda+16(FP), DX
	MOVQ  b+24(FP), DI
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	VPXOR Y8, Y8, Y8
	VPXOR Y9, Y9, Y9
	VPXOR Y10, Y10, Y10
	VPXOR Y11, Y11, Y11

	TESTQ R12, R12
	JNZ   rq3x32pf

rq3x32loop:
	RQ3X32STEP
	ADDQ $4, SI
	ADDQ $128, DI
	DECQ CX
	JNZ  rq3x32loop
	JMP  rq3x32done

	// The same steps, each touching the two lines of the next panel's
	// step at R12 (PREFETCHT1: into L2, not L1, which holds this panel).
rq3x32pf:
	RQ3X32STEP
	PREFETCHT1 (R12)
	PREFETCHT1 64(R12)
	ADDQ       $4, SI
	ADDQ       $128, DI
	ADDQ       $128, R12
	DECQ       CX
	JNZ        rq3x32pf

rq3x32done:

	VMOVDQU      Y8, 0(SP)
	VMOVDQU      Y9, 32(SP)
	VMOVDQU      Y10, 64(SP)
	VMOVDQU      Y11, 96(SP)
	MOVQ         tab+48(FP), R11
	MOVQ         out+32(FP), R8
	MOVQ         ldo+40(FP), R9
	MOVL         lo+64(FP), AX
	VMOVD        AX, X12
	VPBROADCASTD X12, Y12
	MOVL         hi+68(FP), AX
	VMOVD        AX, X13
	VPBROADCASTD X13, Y13
	MOVBQZX      double+56(FP), AX
	TESTQ        AX, AX
	JNZ          rq3x32double
	RQROWS(Y0, Y1, Y2, Y3)
	RQROWS(Y4, Y5, Y6, Y7)
	VMOVDQU      0(SP), Y0
	VMOVDQU      32(SP), Y1
	VMOVDQU      64(SP), Y2
	VMOVDQU      96(SP), Y3
	RQROWS(Y0, Y1, Y2, Y3)
	VZEROUPPER
	RET

rq3x32double:
	MOVL         zp+60(FP), AX
	VMOVD        AX, X14
	VPBROADCASTD X14, Y14
	MOVQ         $0x40000000, AX
	VMOVQ        AX, X15
	VPBROADCASTQ X15, Y15
	RQROWD(Y0, Y1, Y2, Y3)
	RQROWD(Y4, Y5, Y6, Y7)
	VMOVDQU      0(SP), Y0
	VMOVDQU      32(SP), Y1
	VMOVDQU      64(SP), Y2
	VMOVDQU      96(SP), Y3
	RQROWD(Y0, Y1, Y2, Y3)
	VZEROUPPER
	RET

// rq3x32Perm: the VPERMD indices of PACK32.
DATA rq3x32Perm<>+0(SB)/4, $0
DATA rq3x32Perm<>+4(SB)/4, $4
DATA rq3x32Perm<>+8(SB)/4, $1
DATA rq3x32Perm<>+12(SB)/4, $5
DATA rq3x32Perm<>+16(SB)/4, $2
DATA rq3x32Perm<>+20(SB)/4, $6
DATA rq3x32Perm<>+24(SB)/4, $3
DATA rq3x32Perm<>+28(SB)/4, $7
GLOBL rq3x32Perm<>(SB), RODATA|NOPTR, $32

// func gemmI16x2x32RQAVX2(kp int, a *uint16, lda int, b *int16, out *int8, ldo int, tab *int32, double bool, zp, lo, hi int32)
// gemmI16x3x32RQAVX2 on 2 rows with the panel's four weight vectors of a
// step in registers (Y8..Y11): 6 loads, not 15, feed 8 VPMADDWDs. Y0..Y7
// accumulate row r's channels 8j..8j+7 in Y(4r+j).
TEXT ·gemmI16x2x32RQAVX2(SB), NOSPLIT, $0-72
	MOVQ  kp+0(FP), CX
	MOVQ  a+8(FP), SI
	MOVQ  lda+16(FP), DX
	MOVQ  b+24(FP), DI
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7

rq2x32loop:
	VMOVDQU      (DI), Y8
	VMOVDQU      32(DI), Y9
	VMOVDQU      64(DI), Y10
	VMOVDQU      96(DI), Y11
	VPBROADCASTD (SI), Y12
	VPBROADCASTD (SI)(DX*1), Y13
	VPMADDWD     Y8, Y12, Y14
	VPADDD       Y14, Y0, Y0
	VPMADDWD     Y9, Y12, Y15
	VPADDD       Y15, Y1, Y1
	VPMADDWD     Y10, Y12, Y14
	VPADDD       Y14, Y2, Y2
	VPMADDWD     Y11, Y12, Y15
	VPADDD       Y15, Y3, Y3
	VPMADDWD     Y8, Y13, Y14
	VPADDD       Y14, Y4, Y4
	VPMADDWD     Y9, Y13, Y15
	VPADDD       Y15, Y5, Y5
	VPMADDWD     Y10, Y13, Y14
	VPADDD       Y14, Y6, Y6
	VPMADDWD     Y11, Y13, Y15
	VPADDD       Y15, Y7, Y7
	ADDQ         $4, SI
	ADDQ         $128, DI
	DECQ         CX
	JNZ          rq2x32loop

	MOVQ         tab+48(FP), R11
	MOVQ         out+32(FP), R8
	MOVQ         ldo+40(FP), R9
	MOVL         lo+64(FP), AX
	VMOVD        AX, X12
	VPBROADCASTD X12, Y12
	MOVL         hi+68(FP), AX
	VMOVD        AX, X13
	VPBROADCASTD X13, Y13
	CMPB         double+56(FP), $0
	JNE          rq2x32double
	RQROWS(Y0, Y1, Y2, Y3)
	RQROWS(Y4, Y5, Y6, Y7)
	VZEROUPPER
	RET

rq2x32double:
	MOVL         zp+60(FP), AX
	VMOVD        AX, X14
	VPBROADCASTD X14, Y14
	MOVQ         $0x40000000, AX
	VMOVQ        AX, X15
	VPBROADCASTQ X15, Y15
	RQROWD(Y0, Y1, Y2, Y3)
	RQROWD(Y4, Y5, Y6, Y7)
	VZEROUPPER
	RET

// HFOLD folds two accumulators of pair sums (YA: channels 0-3, YB: 4-7,
// each channel's two sums side by side) into one of 8 channels in order.
#define HFOLD(YA, YB) \
	VPHADDD YB, YA, YA \
	VPERMQ  $0xD8, YA, YA

// RQ2X16STEP is one step of 4 k of gemmI8x2x16RQAVX2 (without moving
// SI and DI).
#define RQ2X16STEP \
	VPMOVSXBW    (DI), Y8 \
	VPMOVSXBW    16(DI), Y9 \
	VPMOVSXBW    32(DI), Y10 \
	VPMOVSXBW    48(DI), Y11 \
	VPBROADCASTQ (SI), Y12 \
	VPBROADCASTQ (SI)(DX*1), Y13 \
	VPMADDWD     Y8, Y12, Y14 \
	VPADDD       Y14, Y0, Y0 \
	VPMADDWD     Y9, Y12, Y15 \
	VPADDD       Y15, Y1, Y1 \
	VPMADDWD     Y10, Y12, Y14 \
	VPADDD       Y14, Y2, Y2 \
	VPMADDWD     Y11, Y12, Y15 \
	VPADDD       Y15, Y3, Y3 \
	VPMADDWD     Y8, Y13, Y14 \
	VPADDD       Y14, Y4, Y4 \
	VPMADDWD     Y9, Y13, Y15 \
	VPADDD       Y15, Y5, Y5 \
	VPMADDWD     Y10, Y13, Y14 \
	VPADDD       Y14, Y6, Y6 \
	VPMADDWD     Y11, Y13, Y15 \
	VPADDD       Y15, Y7, Y7

// func gemmI8x2x16RQAVX2(k4 int, a *uint16, lda int, b *int8, out *int8, ldo int, tab *int32, double bool, zp, lo, hi int32, pf *int8)
// The fused tile on the int8 weights (PackedI8.Data, half the bytes of
// W16) for few rows against many weights, where reading the weights from
// memory is the cost: 2 rows (widened, lda bytes apart) by 16 channels (b:
// the half panel's first 16-byte group of a step; a step of 4 k is 128
// bytes). Each step sign-extends the 4 groups of 4 channels by 4 k
// (VPMOVSXBW) and VPMADDWDs them with a row's 4 activations repeated
// (VPBROADCASTQ), giving each channel's two pair sums side by side;
// Y(4r+g) accumulates row r's group g, folded by HFOLD before the rescale.
TEXT ·gemmI8x2x16RQAVX2(SB), NOSPLIT, $0-80
	MOVQ  k4+0(FP), CX
	MOVQ  pf+72(FP), R12
	MOVQ  a+8(FP), SI
	MOVQ  lda+16(FP), DX
	MOVQ  b+24(FP), DI
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7

	TESTQ R12, R12
	JNZ   rq2x16pf

rq2x16loop:
	RQ2X16STEP
	ADDQ $8, SI
	ADDQ $128, DI
	DECQ CX
	JNZ  rq2x16loop
	JMP  rq2x16done

	// The same steps, each touching the line of the next half panel's
	// step at R12.
rq2x16pf:
	RQ2X16STEP
	PREFETCHT1 (R12)
	ADDQ       $8, SI
	ADDQ       $128, DI
	ADDQ       $128, R12
	DECQ       CX
	JNZ        rq2x16pf

rq2x16done:

	HFOLD(Y0, Y1)
	HFOLD(Y2, Y3)
	HFOLD(Y4, Y5)
	HFOLD(Y6, Y7)
	MOVQ         tab+48(FP), R11
	MOVQ         out+32(FP), R8
	MOVQ         ldo+40(FP), R9
	MOVL         lo+64(FP), AX
	VMOVD        AX, X12
	VPBROADCASTD X12, Y12
	MOVL         hi+68(FP), AX
	VMOVD        AX, X13
	VPBROADCASTD X13, Y13
	CMPB         double+56(FP), $0
	JNE          rq2x16double
	RQS16(Y0, 0)
	RQS16(Y2, 256)
	RQS16(Y4, 0)
	RQS16(Y6, 256)
	JMP          rq2x16store

rq2x16double:
	MOVL         zp+60(FP), AX
	VMOVD        AX, X14
	VPBROADCASTD X14, Y14
	MOVQ         $0x40000000, AX
	VMOVQ        AX, X15
	VPBROADCASTQ X15, Y15
	RQD16(Y0, 0)
	RQD16(Y2, 256)
	RQD16(Y4, 0)
	RQD16(Y6, 256)

rq2x16store:
	PACK16(Y0, Y2, X0, (R8))
	ADDQ R9, R8
	PACK16(Y4, Y6, X4, (R8))
	VZEROUPPER
	RET

// func gemmI16x4x8RQAVX2(kp int, a *uint16, lda int, b *int16, out *int8, ldo int, tab *int32, double bool, zp, lo, hi int32)
// gemmI16x4x16RQAVX2 on the first 8 channels of its 16 (a block of 8
// that ends the output's channels): Y0, Y2, Y4, Y6 accumulate rows 0..3,
// one weight vector per step, and each row's 8 bytes are stored.
TEXT ·gemmI16x4x8RQAVX2(SB), NOSPLIT, $0-72
	MOVQ  kp+0(FP), CX
	MOVQ  a+8(FP), SI
	MOVQ  lda+16(FP), DX
	MOVQ  b+24(FP), DI
	LEAQ  (SI)(DX*2), R10
	VPXOR Y0, Y0, Y0
	VPXOR Y2, Y2, Y2
	VPXOR Y4, Y4, Y4
	VPXOR Y6, Y6, Y6

rq4x8loop:
	VMOVDQU      (DI), Y8
	VPBROADCASTD (SI), Y10
	VPBROADCASTD (SI)(DX*1), Y11
	VPBROADCASTD (R10), Y12
	VPBROADCASTD (R10)(DX*1), Y13
	VPMADDWD     Y8, Y10, Y10
	VPADDD       Y10, Y0, Y0
	VPMADDWD     Y8, Y11, Y11
	VPADDD       Y11, Y2, Y2
	VPMADDWD     Y8, Y12, Y12
	VPADDD       Y12, Y4, Y4
	VPMADDWD     Y8, Y13, Y13
	VPADDD       Y13, Y6, Y6
	ADDQ         $4, SI
	ADDQ         $4, R10
	ADDQ         $128, DI
	DECQ         CX
	JNZ          rq4x8loop

	MOVQ         tab+48(FP), R11
	MOVQ         out+32(FP), R8
	MOVQ         ldo+40(FP), R9
	MOVL         lo+64(FP), AX
	VMOVD        AX, X12
	VPBROADCASTD X12, Y12
	MOVL         hi+68(FP), AX
	VMOVD        AX, X13
	VPBROADCASTD X13, Y13
	CMPB         double+56(FP), $0
	JNE          rq4x8double
	RQS16(Y0, 0)
	RQS16(Y2, 0)
	RQS16(Y4, 0)
	RQS16(Y6, 0)
	JMP          rq4x8store

rq4x8double:
	MOVL         zp+60(FP), AX
	VMOVD        AX, X14
	VPBROADCASTD X14, Y14
	MOVQ         $0x40000000, AX
	VMOVQ        AX, X15
	VPBROADCASTQ X15, Y15
	RQD16(Y0, 0)
	RQD16(Y2, 0)
	RQD16(Y4, 0)
	RQD16(Y6, 0)

rq4x8store:
	PACK8(Y0, X0, (R8))
	ADDQ R9, R8
	PACK8(Y2, X2, (R8))
	ADDQ R9, R8
	PACK8(Y4, X4, (R8))
	ADDQ R9, R8
	PACK8(Y6, X6, (R8))
	VZEROUPPER
	RET

// UB3X32STEP is one step of 4 k of gemmU8x3x32UBRQAVX2 (without moving
// SI and DI).
#define UB3X32STEP \
	VPBROADCASTD (SI), Y12 \
	UBMAC(0, Y0) \
	UBMAC(32, Y1) \
	UBMAC(64, Y2) \
	UBMAC(96, Y3) \
	VPBROADCASTD (SI)(DX*1), Y12 \
	UBMAC(0, Y4) \
	UBMAC(32, Y5) \
	UBMAC(64, Y6) \
	UBMAC(96, Y7) \
	VPBROADCASTD (SI)(DX*2), Y12 \
	UBMAC(0, Y8) \
	UBMAC(32, Y9) \
	UBMAC(64, Y10) \
	UBMAC(96, Y11)

// func gemmU8x3x32UBRQAVX2(k4 int, a *uint8, lda int, b *int8, out *int8, ldo int, tab *int32, double bool, zp, lo, hi int32, pf *int8)
// gemmI16x3x32RQAVX2 on the unsigned activation bytes as they are (3 rows
// lda bytes apart) and the int8 panel (PackedI8.Data, b its first byte),
// k4 steps of 4 k, with VPMADDUBSW: each row's 4 bytes of a step,
// broadcast, times the panel's four 32-byte blocks (8 channels by 4 k)
// give each channel's two pair sums in 16 bits, which VPMADDWD with ones
// adds into the int32 accumulators Y(4r+j) (row r, channels 8j..8j+7).
// VPMADDUBSW saturates a pair sum past the int16 range; it cannot here
// only if every pair of k (2i, 2i+1) of the three rows sums to at most 255
// (then |a0*w0 + a1*w1| <= 255*128): the caller checks the rows
// (pairsFitRowsU8). The rescale is gemmI16x3x32RQAVX2's; a non-nil pf is
// the next panel's first byte, prefetched into L2 as the tile goes.
TEXT ·gemmU8x3x32UBRQAVX2(SB), NOSPLIT, $128-80
	MOVQ         pf+72(FP), R12
	MOVQ         k4+0(FP), CX
	MOVQ         a+8(FP), SI
	MOVQ         lda+16(FP), DX
	MOVQ         b+24(FP), DI
	MOVL         $0x00010001, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15
	VPXOR        Y0, Y0, Y0
	VPXOR        Y1, Y1, Y1
	VPXOR        Y2, Y2, Y2
	VPXOR        Y3, Y3, Y3
	VPXOR        Y4, Y4, Y4
	VPXOR        Y5, Y5, Y5
	VPXOR        Y6, Y6, Y6
	VPXOR        Y7, Y7, Y7
	VPXOR        Y8, Y8, Y8
	VPXOR        Y9, Y9, Y9
	VPXOR        Y10, Y10, Y10
	VPXOR        Y11, Y11, Y11

	TESTQ R12, R12
	JNZ   ub3x32pf

ub3x32loop:
	UB3X32STEP
	ADDQ $4, SI
	ADDQ $128, DI
	DECQ CX
	JNZ  ub3x32loop
	JMP  ub3x32done

	// The same steps, each touching the two lines of the next panel's
	// step at R12.
ub3x32pf:
	UB3X32STEP
	PREFETCHT1 (R12)
	PREFETCHT1 64(R12)
	ADDQ       $4, SI
	ADDQ       $128, DI
	ADDQ       $128, R12
	DECQ       CX
	JNZ        ub3x32pf

ub3x32done:

	VMOVDQU      Y8, 0(SP)
	VMOVDQU      Y9, 32(SP)
	VMOVDQU      Y10, 64(SP)
	VMOVDQU      Y11, 96(SP)
	MOVQ         tab+48(FP), R11
	MOVQ         out+32(FP), R8
	MOVQ         ldo+40(FP), R9
	MOVL         lo+64(FP), AX
	VMOVD        AX, X12
	VPBROADCASTD X12, Y12
	MOVL         hi+68(FP), AX
	VMOVD        AX, X13
	VPBROADCASTD X13, Y13
	MOVBQZX      double+56(FP), AX
	TESTQ        AX, AX
	JNZ          ub3x32double
	RQROWS(Y0, Y1, Y2, Y3)
	RQROWS(Y4, Y5, Y6, Y7)
	VMOVDQU      0(SP), Y0
	VMOVDQU      32(SP), Y1
	VMOVDQU      64(SP), Y2
	VMOVDQU      96(SP), Y3
	RQROWS(Y0, Y1, Y2, Y3)
	VZEROUPPER
	RET

ub3x32double:
	MOVL         zp+60(FP), AX
	VMOVD        AX, X14
	VPBROADCASTD X14, Y14
	MOVQ         $0x40000000, AX
	VMOVQ        AX, X15
	VPBROADCASTQ X15, Y15
	RQROWD(Y0, Y1, Y2, Y3)
	RQROWD(Y4, Y5, Y6, Y7)
	VMOVDQU      0(SP), Y0
	VMOVDQU      32(SP), Y1
	VMOVDQU      64(SP), Y2
	VMOVDQU      96(SP), Y3
	RQROWD(Y0, Y1, Y2, Y3)
	VZEROUPPER
	RET

// func pairsFitRowsU8(rows, kp int, a *uint8, lda int, fit *bool)
// Sets fit[i] to whether every pair of bytes (2j, 2j+1) of row i (kp
// bytes, kp a positive multiple of 4, rows lda bytes apart from a) sums to
// at most 255: VPMADDUBSW with ones gives the pair sums in 16 bits (at
// most 510, exact), compared with 255; 16 bytes at a time, then a last 8
// and 4 (loaded alone, the rest of the vector zero).
TEXT ·pairsFitRowsU8(SB), NOSPLIT, $0-40
	MOVQ         rows+0(FP), BX
	MOVQ         kp+8(FP), DX
	MOVQ         a+16(FP), R8
	MOVQ         lda+24(FP), R9
	MOVQ         fit+32(FP), DI
	MOVL         $0x01010101, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, X15
	MOVL         $0x00FF00FF, AX
	VMOVD        AX, X14
	VPBROADCASTD X14, X14

fitrow:
	MOVQ  R8, SI
	MOVQ  DX, CX
	VPXOR X0, X0, X0
	SHRQ  $4, CX
	JZ    fittail8

fit16:
	VMOVDQU    (SI), X1
	VPMADDUBSW X15, X1, X1
	VPCMPGTW   X14, X1, X1
	VPOR       X1, X0, X0
	ADDQ       $16, SI
	DECQ       CX
	JNZ        fit16

fittail8:
	TESTQ $8, DX
	JZ    fittail4
	VMOVQ      (SI), X1
	VPMADDUBSW X15, X1, X1
	VPCMPGTW   X14, X1, X1
	VPOR       X1, X0, X0
	ADDQ       $8, SI

fittail4:
	TESTQ $4, DX
	JZ    fitnext
	VMOVD      (SI), X1
	VPMADDUBSW X15, X1, X1
	VPCMPGTW   X14, X1, X1
	VPOR       X1, X0, X0

fitnext:
	VPTEST X0, X0
	SETEQ  (DI)
	INCQ   DI
	ADDQ   R9, R8
	DECQ   BX
	JNZ    fitrow
	RET

// func pairsFitRowsU8W(rows, kp int, a *uint8, lda int, negm *int8, fit *bool)
// Sets fit[i] to whether a0*m0 + a1*m1 <= 32767 for every pair of bytes
// (2j, 2j+1) of row i (kp bytes, kp a positive multiple of 4, rows lda
// bytes apart from a), m the largest |w| at each k (negm holds -m, kp
// bytes, so that -128 fits a byte): VPMADDUBSW of the row with negm gives
// -(a0*m0 + a1*m1), saturated at -32768, which marks a sum of 32768 or
// more: a row that may not fit; 16 bytes at a
// time, then a last 8 and 4 (both operands loaded alone). It stops after
// the miss-th row that does not fit (miss >= 1), leaving the flags of
// the rows after it as they were.
TEXT ·pairsFitRowsU8W(SB), NOSPLIT, $0-56
	MOVQ         rows+0(FP), BX
	MOVQ         kp+8(FP), DX
	MOVQ         a+16(FP), R8
	MOVQ         lda+24(FP), R9
	MOVQ         negm+32(FP), R10
	MOVQ         fit+40(FP), DI
	MOVQ         miss+48(FP), R12
	MOVL         $0x80008000, AX
	VMOVD        AX, X14
	VPBROADCASTD X14, X14

fitwrow:
	MOVQ  R8, SI
	MOVQ  R10, R11
	MOVQ  DX, CX
	VPXOR X0, X0, X0
	SHRQ  $4, CX
	JZ    fitwtail8

fitw16:
	VMOVDQU    (SI), X1
	VPMADDUBSW (R11), X1, X1
	VPCMPEQW   X14, X1, X1
	VPOR       X1, X0, X0
	ADDQ       $16, SI
	ADDQ       $16, R11
	DECQ       CX
	JNZ        fitw16

fitwtail8:
	TESTQ $8, DX
	JZ    fitwtail4
	VMOVQ      (SI), X1
	VMOVQ      (R11), X2
	VPMADDUBSW X2, X1, X1
	VPCMPEQW   X14, X1, X1
	VPOR       X1, X0, X0
	ADDQ       $8, SI
	ADDQ       $8, R11

fitwtail4:
	TESTQ $4, DX
	JZ    fitwnext
	VMOVD      (SI), X1
	VMOVD      (R11), X2
	VPMADDUBSW X2, X1, X1
	VPCMPEQW   X14, X1, X1
	VPOR       X1, X0, X0

fitwnext:
	VPTEST X0, X0
	SETEQ  (DI)
	JEQ    fitwok
	DECQ   R12
	JZ     fitwdone

fitwok:
	INCQ DI
	ADDQ R9, R8
	DECQ BX
	JNZ  fitwrow

fitwdone:
	RET
