//go:build amd64

#include "textflag.h"

// AVX-512 forms of the kernels in int8q_amd64.s: the same arithmetic on
// blocks of 16 channels (table blocks of 512 bytes, see Requant.table).
// Constants: Z31 = 2^30 in every qword, Z30 = output zero point, Z29 =
// lower and Z28 = upper clamp, K1 = the odd dwords.

#define RQDOUBLE512 \
	VMOVDQU32 64(R11), Z1 \
	VPSLLVD   128(R11), Z0, Z0 \
	VPMULDQ   Z1, Z0, Z2 \
	VPSRLQ    $32, Z0, Z3 \
	VPSRLQ    $32, Z1, Z4 \
	VPMULDQ   Z4, Z3, Z3 \
	VPADDQ    Z31, Z2, Z2 \
	VPADDQ    Z31, Z3, Z3 \
	VPSRLQ    $31, Z2, Z2 \
	VPSRLQ    $31, Z3, Z3 \
	VPSLLQ    $32, Z3, Z3 \
	VPBLENDMD Z3, Z2, K1, Z0 \
	VMOVDQU32 256(R11), Z1 \
	VPANDD    Z1, Z0, Z2 \
	VPSRLD    $1, Z1, Z1 \
	VPSRAD    $31, Z0, Z3 \
	VPSUBD    Z3, Z1, Z1 \
	VPSRAVD   192(R11), Z0, Z0 \
	VPSUBD    Z2, Z1, Z1 \
	VPSRAD    $31, Z1, Z1 \
	VPSUBD    Z1, Z0, Z0

#define RQSINGLE512 \
	VMOVDQU32 64(R11), Z1 \
	VPMULDQ   Z1, Z0, Z2 \
	VPSRLQ    $32, Z0, Z3 \
	VPSRLQ    $32, Z1, Z4 \
	VPMULDQ   Z4, Z3, Z3 \
	VPADDQ    192(R11), Z2, Z2 \
	VPADDQ    256(R11), Z3, Z3 \
	VPSRLVQ   320(R11), Z2, Z2 \
	VPSRLVQ   384(R11), Z3, Z3 \
	VPSLLQ    $32, Z3, Z3 \
	VPBLENDMD Z3, Z2, K1, Z0 \
	VPSUBD    128(R11), Z0, Z0

// RQSINGLE512Z is RQSINGLE512 for requant512: the odd channels'
// multipliers are read 4 bytes into their row (VPMULDQ takes the low dword
// of each qword), and the offset subtracted is net of the zero point (word
// block 7), so RQFINISHNZ adds none.
#define RQSINGLE512Z \
	VPMULDQ   64(R11), Z0, Z2 \
	VPSRLQ    $32, Z0, Z3 \
	VPMULDQ   68(R11), Z3, Z3 \
	VPADDQ    192(R11), Z2, Z2 \
	VPADDQ    256(R11), Z3, Z3 \
	VPSRLVQ   320(R11), Z2, Z2 \
	VPSRLVQ   384(R11), Z3, Z3 \
	VPSLLQ    $32, Z3, Z3 \
	VPBLENDMD Z3, Z2, K1, Z0 \
	VPSUBD    448(R11), Z0, Z0

#define RQFINISHNZ \
	VPMAXSD Z29, Z0, Z0 \
	VPMINSD Z28, Z0, Z0 \
	VPMOVDB Z0, (DI)

#define RQFINISH512 \
	VPADDD  Z30, Z0, Z0 \
	VPMAXSD Z29, Z0, Z0 \
	VPMINSD Z28, Z0, Z0 \
	VPMOVDB Z0, (DI)

// RQFASTS512 and RQFASTD512 rescale Z0 (16 channels) with the table
// block at R11 in Requant.tabF's form, single and double rounding: one
// 64-bit sum and one arithmetic shift per channel, the zero point folded
// into the sum; the odd channels' shift by tot-32 leaves their results in
// the high dwords, so one blend merges the halves. RQFASTD512 takes 2^31
// off the sums of negative products (Z27 = 2^31 in every qword). Both
// leave Z0 ready for CLAMPNZ; they use Z2, Z3 and K5, K6.
#define RQFASTS512 \
	VPMULDQ   64(R11), Z0, Z2 \
	VPSHUFD   $0xf5, Z0, Z3 \
	VPMULDQ   68(R11), Z3, Z3 \
	VPADDQ    128(R11), Z2, Z2 \
	VPADDQ    192(R11), Z3, Z3 \
	VPSRAVQ   256(R11), Z2, Z2 \
	VPSRAVQ   320(R11), Z3, Z3 \
	VPBLENDMD Z3, Z2, K1, Z0

#define RQFASTD512 \
	VPMULDQ   64(R11), Z0, Z2 \
	VPSHUFD   $0xf5, Z0, Z3 \
	VPMULDQ   68(R11), Z3, Z3 \
	VPMOVQ2M  Z2, K5 \
	VPMOVQ2M  Z3, K6 \
	VPADDQ    128(R11), Z2, Z2 \
	VPADDQ    192(R11), Z3, Z3 \
	VPSUBQ    Z27, Z2, K5, Z2 \
	VPSUBQ    Z27, Z3, K6, Z3 \
	VPSRAVQ   256(R11), Z2, Z2 \
	VPSRAVQ   320(R11), Z3, Z3 \
	VPBLENDMD Z3, Z2, K1, Z0

// RQFASTS512H and RQFASTD512H are RQFASTS512 and RQFASTD512 with the
// sums' high dwords gathered in channel order by one VPERMT2D (Z26 =
// rqHigh) and shifted by the int32 tot-32 of tabF's word 96, as RQF16
// (int8rqf_amd64.s) does: one instruction fewer and one multiply-port
// uop fewer.
#define RQFASTS512H \
	VPMULDQ   64(R11), Z0, Z2 \
	VPSHUFD   $0xf5, Z0, Z3 \
	VPMULDQ   68(R11), Z3, Z3 \
	VPADDQ    128(R11), Z2, Z2 \
	VPADDQ    192(R11), Z3, Z3 \
	VPERMT2D  Z3, Z26, Z2 \
	VPSRAVD   384(R11), Z2, Z0

#define RQFASTD512H \
	VPMULDQ   64(R11), Z0, Z2 \
	VPSHUFD   $0xf5, Z0, Z3 \
	VPMULDQ   68(R11), Z3, Z3 \
	VPMOVQ2M  Z2, K5 \
	VPMOVQ2M  Z3, K6 \
	VPADDQ    128(R11), Z2, Z2 \
	VPADDQ    192(R11), Z3, Z3 \
	VPSUBQ    Z27, Z2, K5, Z2 \
	VPSUBQ    Z27, Z3, K6, Z3 \
	VPERMT2D  Z3, Z26, Z2 \
	VPSRAVD   384(R11), Z2, Z0

// func requant512(out *int8, acc *int32, tab *int32, blocks int, mode uint8, zp, lo, hi int32, rows, ldo, lda int)
// rows pixels: out and acc advance by ldo bytes and lda int32s. mode as
// dw3x3I8x64VNNI's: bit 0 double rounding, bit 1 tab in tabF's form; and
// 6 for tabF single-rounded with the whole int8 range as clamp, which
// VPMOVSDB's saturation then applies.
TEXT ·requant512(SB), NOSPLIT, $0-72
	MOVQ         $0x40000000, AX
	VPBROADCASTQ AX, Z31
	MOVL         zp+36(FP), AX
	VPBROADCASTD AX, Z30
	MOVL         lo+40(FP), AX
	VPBROADCASTD AX, Z29
	MOVL         hi+44(FP), AX
	VPBROADCASTD AX, Z28
	MOVL         $0xAAAA, AX
	KMOVW        AX, K1
	MOVQ         out+0(FP), DI
	MOVQ         acc+8(FP), SI
	MOVQ         tab+16(FP), R11
	MOVQ         $0x80000000, AX
	VPBROADCASTQ AX, Z27
	MOVQ         blocks+24(FP), CX
	MOVBQZX      mode+32(FP), DX
	MOVQ         rows+48(FP), R8
	MOVQ         out+0(FP), R9
	MOVQ         acc+8(FP), R10
	VMOVDQU64    rqHigh<>(SB), Z26

rqrow:
	MOVQ R9, DI
	MOVQ R10, SI
	MOVQ tab+16(FP), R11
	MOVQ blocks+24(FP), CX

rqblock:
	VMOVDQU32 (SI), Z0
	VPADDD    (R11), Z0, Z0
	CMPQ      DX, $6
	JEQ       rqfastsat
	CMPQ      DX, $2
	JEQ       rqfasts
	CMPQ      DX, $3
	JEQ       rqfastd
	TESTQ     DX, DX
	JZ        rqsingle
	RQDOUBLE512
	JMP       rqfinish

rqfastsat:
	RQFASTS512H
	VPMOVSDB Z0, (DI)
	JMP      rqnext

rqfasts:
	RQFASTS512H
	RQFINISHNZ
	JMP rqnext

rqfastd:
	RQFASTD512H
	RQFINISHNZ
	JMP rqnext

rqsingle:
	RQSINGLE512Z
	RQFINISHNZ
	JMP rqnext

rqfinish:
	RQFINISH512

rqnext:
	ADDQ $16, DI
	ADDQ $64, SI
	ADDQ $512, R11
	DECQ CX
	JNZ  rqblock
	ADDQ ldo+56(FP), R9
	MOVQ lda+64(FP), AX
	LEAQ (R10)(AX*4), R10
	DECQ R8
	JNZ  rqrow
	VZEROUPPER
	RET

// func dwI8512(out *int8, ostride int, xs *int32, xstep int, taps *int, ntaps, n, blocks int, w *int32, tab *int32, double bool, zp, lo, hi int32)
TEXT ·dwI8512(SB), NOSPLIT, $0-96
	MOVQ         $0x40000000, AX
	VPBROADCASTQ AX, Z31
	MOVL         zp+84(FP), AX
	VPBROADCASTD AX, Z30
	MOVL         lo+88(FP), AX
	VPBROADCASTD AX, Z29
	MOVL         hi+92(FP), AX
	VPBROADCASTD AX, Z28
	MOVL         $0xAAAA, AX
	KMOVW        AX, K1
	MOVQ         out+0(FP), R9
	MOVQ         xs+16(FP), CX
	MOVQ         n+48(FP), R8

dwpixel:
	MOVQ R9, DI
	MOVQ CX, SI
	MOVQ tab+72(FP), R11
	MOVQ w+64(FP), BX
	MOVQ blocks+56(FP), R10

dwblock:
	VMOVDQU32 (R11), Z0
	MOVQ      taps+32(FP), R12
	MOVQ      ntaps+40(FP), R13

dwtap:
	MOVQ      (R12), AX
	MOVQ      8(R12), DX
	VMOVDQU32 (BX)(DX*1), Z1
	VPMADDWD  (SI)(AX*1), Z1, Z1
	VPADDD    Z1, Z0, Z0
	ADDQ      $16, R12
	DECQ      R13
	JNZ       dwtap

	MOVBQZX double+80(FP), DX
	TESTQ   DX, DX
	JZ      dwsingle
	RQDOUBLE512
	JMP     dwfinish

dwsingle:
	RQSINGLE512

dwfinish:
	RQFINISH512
	ADDQ $16, DI
	ADDQ $64, SI
	ADDQ $64, BX
	ADDQ $512, R11
	DECQ R10
	JNZ  dwblock

	ADDQ ostride+8(FP), R9
	ADDQ xstep+24(FP), CX
	DECQ R8
	JNZ  dwpixel
	VZEROUPPER
	RET

// The requantizations with one block's parameters held in registers:
// Z6 mult; double: Z7 left, Z8 right, Z9 mask; single: Z7 off, Z8 rndE,
// Z9 rndO, Z10 totE, Z11 totO.
#define RQDOUBLE512R \
	VPSLLVD   Z7, Z0, Z0 \
	VPMULDQ   Z6, Z0, Z2 \
	VPSRLQ    $32, Z0, Z3 \
	VPSRLQ    $32, Z6, Z4 \
	VPMULDQ   Z4, Z3, Z3 \
	VPADDQ    Z31, Z2, Z2 \
	VPADDQ    Z31, Z3, Z3 \
	VPSRLQ    $31, Z2, Z2 \
	VPSRLQ    $31, Z3, Z3 \
	VPSLLQ    $32, Z3, Z3 \
	VPBLENDMD Z3, Z2, K1, Z0 \
	VPANDD    Z9, Z0, Z2 \
	VPSRLD    $1, Z9, Z1 \
	VPSRAD    $31, Z0, Z3 \
	VPSUBD    Z3, Z1, Z1 \
	VPSRAVD   Z8, Z0, Z0 \
	VPSUBD    Z2, Z1, Z1 \
	VPSRAD    $31, Z1, Z1 \
	VPSUBD    Z1, Z0, Z0

#define RQSINGLE512R \
	VPMULDQ   Z6, Z0, Z2 \
	VPSRLQ    $32, Z0, Z3 \
	VPSRLQ    $32, Z6, Z4 \
	VPMULDQ   Z4, Z3, Z3 \
	VPADDQ    Z8, Z2, Z2 \
	VPADDQ    Z9, Z3, Z3 \
	VPSRLVQ   Z10, Z2, Z2 \
	VPSRLVQ   Z11, Z3, Z3 \
	VPSLLQ    $32, Z3, Z3 \
	VPBLENDMD Z3, Z2, K1, Z0 \
	VPSUBD    Z7, Z0, Z0

// func dw3x3I8512(out *int8, ostride int, r0, r1, r2 *int32, xstep, n, c int, w *int32, tab *int32, double bool, zp, lo, hi int32)
// n pixels of a 3x3 depthwise convolution whose windows lie inside the
// image, for all c channels (a multiple of 16): r0..r2 point at the first
// pixel's window rows (int32, c per pixel), xstep is the byte step between
// pixels. Channel block by channel block, the nine weight vectors and the
// block's rescale stay in registers while the pixels stream past.
TEXT ·dw3x3I8512(SB), NOSPLIT, $0-96
	MOVQ         $0x40000000, AX
	VPBROADCASTQ AX, Z31
	MOVL         zp+84(FP), AX
	VPBROADCASTD AX, Z30
	MOVL         lo+88(FP), AX
	VPBROADCASTD AX, Z29
	MOVL         hi+92(FP), AX
	VPBROADCASTD AX, Z28
	MOVL         $0xAAAA, AX
	KMOVW        AX, K1
	MOVQ         c+56(FP), R12
	SHLQ         $2, R12                 // 4c: the next pixel, or tap row
	LEAQ         (R12)(R12*1), R13       // 8c
	XORQ         BX, BX                  // the block's byte offset in xs

dw3block:
	MOVQ      w+64(FP), AX
	ADDQ      BX, AX
	VMOVDQU32 (AX), Z16
	VMOVDQU32 (AX)(R12*1), Z17
	VMOVDQU32 (AX)(R13*1), Z18
	ADDQ      R13, AX
	ADDQ      R12, AX
	VMOVDQU32 (AX), Z19
	VMOVDQU32 (AX)(R12*1), Z20
	VMOVDQU32 (AX)(R13*1), Z21
	ADDQ      R13, AX
	ADDQ      R12, AX
	VMOVDQU32 (AX), Z22
	VMOVDQU32 (AX)(R12*1), Z23
	VMOVDQU32 (AX)(R13*1), Z24
	MOVQ      tab+72(FP), AX
	LEAQ      (AX)(BX*8), AX
	VMOVDQU32 (AX), Z5
	VMOVDQU32 64(AX), Z6
	VMOVDQU32 128(AX), Z7
	VMOVDQU32 192(AX), Z8
	VMOVDQU32 256(AX), Z9
	VMOVDQU32 320(AX), Z10
	VMOVDQU32 384(AX), Z11
	MOVQ      r0+16(FP), SI
	ADDQ      BX, SI
	MOVQ      r1+24(FP), R10
	ADDQ      BX, R10
	MOVQ      r2+32(FP), R11
	ADDQ      BX, R11
	MOVQ      BX, DI
	SHRQ      $2, DI
	ADDQ      out+0(FP), DI
	MOVQ      n+48(FP), R8
	MOVBQZX   double+80(FP), DX

dw3pixel:
	VMOVDQA32 Z5, Z0
	VPMADDWD  (SI), Z16, Z12
	VPMADDWD  (SI)(R12*1), Z17, Z13
	VPMADDWD  (SI)(R13*1), Z18, Z14
	VPMADDWD  (R10), Z19, Z15
	VPADDD    Z12, Z0, Z0
	VPADDD    Z13, Z14, Z14
	VPMADDWD  (R10)(R12*1), Z20, Z12
	VPMADDWD  (R10)(R13*1), Z21, Z13
	VPADDD    Z15, Z0, Z0
	VPADDD    Z12, Z14, Z14
	VPMADDWD  (R11), Z22, Z15
	VPMADDWD  (R11)(R12*1), Z23, Z12
	VPADDD    Z13, Z0, Z0
	VPADDD    Z15, Z14, Z14
	VPMADDWD  (R11)(R13*1), Z24, Z13
	VPADDD    Z12, Z0, Z0
	VPADDD    Z13, Z14, Z14
	VPADDD    Z14, Z0, Z0
	TESTQ     DX, DX
	JZ        dw3single
	RQDOUBLE512R
	JMP       dw3finish

dw3single:
	RQSINGLE512R

dw3finish:
	RQFINISH512
	MOVQ xstep+40(FP), AX
	ADDQ AX, SI
	ADDQ AX, R10
	ADDQ AX, R11
	ADDQ ostride+8(FP), DI
	DECQ R8
	JNZ  dw3pixel

	ADDQ $64, BX
	CMPQ BX, R12
	JLT  dw3block
	VZEROUPPER
	RET

// func dw3x3I8x512(out *int8, ostride int, r0, r1, r2 *int8, xstep, n, c int, w *int32, tab *int32, double bool, zp, lo, hi int32)
// dw3x3I8512 reading the int8 activations themselves (sign-extended on
// load, c bytes per pixel): the table's bias has the input zero point
// folded in (bias - zp * sum of the nine weights), so no widened copy of
// the input is needed.
TEXT ·dw3x3I8x512(SB), NOSPLIT, $0-96
	MOVQ         $0x40000000, AX
	VPBROADCASTQ AX, Z31
	MOVL         zp+84(FP), AX
	VPBROADCASTD AX, Z30
	MOVL         lo+88(FP), AX
	VPBROADCASTD AX, Z29
	MOVL         hi+92(FP), AX
	VPBROADCASTD AX, Z28
	MOVL         $0xAAAA, AX
	KMOVW        AX, K1
	MOVQ         c+56(FP), R12           // c: the next pixel's bytes
	LEAQ         (R12)(R12*1), R13       // 2c
	XORQ         BX, BX                  // the block's first channel

dw3xblock:
	MOVQ      w+64(FP), AX
	LEAQ      (AX)(BX*4), AX
	VMOVDQU32 (AX), Z16
	VMOVDQU32 (AX)(R12*4), Z17
	VMOVDQU32 (AX)(R13*4), Z18
	LEAQ      (AX)(R13*4), AX
	LEAQ      (AX)(R12*4), AX
	VMOVDQU32 (AX), Z19
	VMOVDQU32 (AX)(R12*4), Z20
	VMOVDQU32 (AX)(R13*4), Z21
	LEAQ      (AX)(R13*4), AX
	LEAQ      (AX)(R12*4), AX
	VMOVDQU32 (AX), Z22
	VMOVDQU32 (AX)(R12*4), Z23
	VMOVDQU32 (AX)(R13*4), Z24
	MOVQ      BX, AX
	SHLQ      $5, AX
	ADDQ      tab+72(FP), AX
	VMOVDQU32 (AX), Z5
	VMOVDQU32 64(AX), Z6
	VMOVDQU32 128(AX), Z7
	VMOVDQU32 192(AX), Z8
	VMOVDQU32 256(AX), Z9
	VMOVDQU32 320(AX), Z10
	VMOVDQU32 384(AX), Z11
	MOVQ      r0+16(FP), SI
	ADDQ      BX, SI
	MOVQ      r1+24(FP), R10
	ADDQ      BX, R10
	MOVQ      r2+32(FP), R11
	ADDQ      BX, R11
	MOVQ      BX, DI
	ADDQ      out+0(FP), DI
	MOVQ      n+48(FP), R8
	MOVBQZX   double+80(FP), DX

dw3xpixel:
	VMOVDQA32 Z5, Z0
	VPMOVSXBD (SI), Z12
	VPMOVSXBD (SI)(R12*1), Z13
	VPMOVSXBD (SI)(R13*1), Z14
	VPMOVSXBD (R10), Z15
	VPMADDWD  Z12, Z16, Z12
	VPMADDWD  Z13, Z17, Z13
	VPMADDWD  Z14, Z18, Z14
	VPMADDWD  Z15, Z19, Z15
	VPADDD    Z12, Z0, Z0
	VPADDD    Z13, Z14, Z14
	VPADDD    Z15, Z0, Z0
	VPMOVSXBD (R10)(R12*1), Z12
	VPMOVSXBD (R10)(R13*1), Z13
	VPMOVSXBD (R11), Z15
	VPMADDWD  Z12, Z20, Z12
	VPMADDWD  Z13, Z21, Z13
	VPMADDWD  Z15, Z22, Z15
	VPADDD    Z12, Z0, Z0
	VPADDD    Z13, Z14, Z14
	VPADDD    Z15, Z0, Z0
	VPMOVSXBD (R11)(R12*1), Z12
	VPMOVSXBD (R11)(R13*1), Z13
	VPMADDWD  Z12, Z23, Z12
	VPMADDWD  Z13, Z24, Z13
	VPADDD    Z12, Z14, Z14
	VPADDD    Z13, Z0, Z0
	VPADDD    Z14, Z0, Z0
	TESTQ     DX, DX
	JZ        dw3xsingle
	RQDOUBLE512R
	JMP       dw3xfinish

dw3xsingle:
	RQSINGLE512R

dw3xfinish:
	RQFINISH512
	MOVQ xstep+40(FP), AX
	ADDQ AX, SI
	ADDQ AX, R10
	ADDQ AX, R11
	ADDQ ostride+8(FP), DI
	DECQ R8
	JNZ  dw3xpixel

	ADDQ $16, BX
	CMPQ BX, R12
	JLT  dw3xblock
	VZEROUPPER
	RET

// RQFASTS512R and RQFASTD512R are RQFASTS512 and RQFASTD512 on a tabF
// block held in registers: Z6 mult, Z25 the odd channels' mult moved to
// the even dwords, Z7/Z8 the even and odd sums' constants, Z9/Z10 their
// shifts.
#define RQFASTS512R \
	VPMULDQ   Z6, Z0, Z2 \
	VPSHUFD   $0xf5, Z0, Z3 \
	VPMULDQ   Z25, Z3, Z3 \
	VPADDQ    Z7, Z2, Z2 \
	VPADDQ    Z8, Z3, Z3 \
	VPSRAVQ   Z9, Z2, Z2 \
	VPSRAVQ   Z10, Z3, Z3 \
	VPBLENDMD Z3, Z2, K1, Z0

#define RQFASTD512R \
	VPMULDQ   Z6, Z0, Z2 \
	VPSHUFD   $0xf5, Z0, Z3 \
	VPMULDQ   Z25, Z3, Z3 \
	VPMOVQ2M  Z2, K5 \
	VPMOVQ2M  Z3, K6 \
	VPADDQ    Z7, Z2, Z2 \
	VPADDQ    Z8, Z3, Z3 \
	VPSUBQ    Z27, Z2, K5, Z2 \
	VPSUBQ    Z27, Z3, K6, Z3 \
	VPSRAVQ   Z9, Z2, Z2 \
	VPSRAVQ   Z10, Z3, Z3 \
	VPBLENDMD Z3, Z2, K1, Z0

// func dw3x3I8x512VNNI(out *int8, ostride int, r0, r1, r2 *int8, xstep, n, c int, w *int32, tab *int32, mode uint8, zp, lo, hi int32, nc int)
// (nc: the channels to compute, from the first; c is the pixel step;
// mode as dw3x3I8x64VNNI's.)
// dw3x3I8x512 with AVX-512 VNNI: VPDPWSSD multiplies and accumulates in one
// instruction where VPMADDWD and VPADDD took two (the weights' high
// halves are zero, so each dword lane adds one product, as before), into
// two accumulators.
TEXT ·dw3x3I8x512VNNI(SB), NOSPLIT, $0-104
	MOVQ         $0x40000000, AX
	VPBROADCASTQ AX, Z31
	MOVL         zp+84(FP), AX
	VPBROADCASTD AX, Z30
	MOVL         lo+88(FP), AX
	VPBROADCASTD AX, Z29
	MOVL         hi+92(FP), AX
	VPBROADCASTD AX, Z28
	MOVL         $0xAAAA, AX
	KMOVW        AX, K1
	MOVQ         $0x80000000, AX
	VPBROADCASTQ AX, Z27
	MOVQ         c+56(FP), R12           // c: the next pixel's bytes
	LEAQ         (R12)(R12*1), R13       // 2c
	XORQ         BX, BX                  // the block's first channel

dw3vblock:
	MOVQ      w+64(FP), AX
	LEAQ      (AX)(BX*4), AX
	VMOVDQU32 (AX), Z16
	VMOVDQU32 (AX)(R12*4), Z17
	VMOVDQU32 (AX)(R13*4), Z18
	LEAQ      (AX)(R13*4), AX
	LEAQ      (AX)(R12*4), AX
	VMOVDQU32 (AX), Z19
	VMOVDQU32 (AX)(R12*4), Z20
	VMOVDQU32 (AX)(R13*4), Z21
	LEAQ      (AX)(R13*4), AX
	LEAQ      (AX)(R12*4), AX
	VMOVDQU32 (AX), Z22
	VMOVDQU32 (AX)(R12*4), Z23
	VMOVDQU32 (AX)(R13*4), Z24
	MOVQ      BX, AX
	SHLQ      $5, AX
	ADDQ      tab+72(FP), AX
	VMOVDQU32 (AX), Z5
	VMOVDQU32 64(AX), Z6
	VMOVDQU32 128(AX), Z7
	VMOVDQU32 192(AX), Z8
	VMOVDQU32 256(AX), Z9
	VMOVDQU32 320(AX), Z10
	VMOVDQU32 384(AX), Z11
	VPSHUFD   $0xf5, Z6, Z25
	MOVQ      r0+16(FP), SI
	ADDQ      BX, SI
	MOVQ      r1+24(FP), R10
	ADDQ      BX, R10
	MOVQ      r2+32(FP), R11
	ADDQ      BX, R11
	MOVQ      BX, DI
	ADDQ      out+0(FP), DI
	MOVQ      n+48(FP), R8
	MOVBQZX   mode+80(FP), DX

dw3vpixel:
	VMOVDQA32 Z5, Z0
	VPXORD    Z14, Z14, Z14
	VPMOVSXBD (SI), Z12
	VPMOVSXBD (SI)(R12*1), Z13
	VPDPWSSD  Z16, Z12, Z0
	VPDPWSSD  Z17, Z13, Z14
	VPMOVSXBD (SI)(R13*1), Z12
	VPMOVSXBD (R10), Z13
	VPDPWSSD  Z18, Z12, Z0
	VPDPWSSD  Z19, Z13, Z14
	VPMOVSXBD (R10)(R12*1), Z12
	VPMOVSXBD (R10)(R13*1), Z13
	VPDPWSSD  Z20, Z12, Z0
	VPDPWSSD  Z21, Z13, Z14
	VPMOVSXBD (R11), Z12
	VPMOVSXBD (R11)(R12*1), Z13
	VPDPWSSD  Z22, Z12, Z0
	VPDPWSSD  Z23, Z13, Z14
	VPMOVSXBD (R11)(R13*1), Z12
	VPDPWSSD  Z24, Z12, Z0
	VPADDD    Z14, Z0, Z0
	CMPQ      DX, $2
	JEQ       dw3vfasts
	CMPQ      DX, $3
	JEQ       dw3vfastd
	TESTQ     DX, DX
	JZ        dw3vsingle
	RQDOUBLE512R
	JMP       dw3vfinish

dw3vfasts:
	RQFASTS512R
	RQFINISHNZ
	JMP dw3vnext

dw3vfastd:
	RQFASTD512R
	RQFINISHNZ
	JMP dw3vnext

dw3vsingle:
	RQSINGLE512R

dw3vfinish:
	RQFINISH512

dw3vnext:
	MOVQ xstep+40(FP), AX
	ADDQ AX, SI
	ADDQ AX, R10
	ADDQ AX, R11
	ADDQ ostride+8(FP), DI
	DECQ R8
	JNZ  dw3vpixel

	ADDQ $16, BX
	CMPQ BX, nc+96(FP)
	JLT  dw3vblock
	VZEROUPPER
	RET

// The int8 3x3 depthwise convolution on VPDPBUSD, 64 channels at a time.
//
// VPDPBUSD sums four byte products into each dword. Read straight from an
// HWC row, a dword's four bytes are four neighbouring channels, so each
// tap multiplies the 64 input bytes four times, by weight vectors that
// keep one byte of every dword (phase k: channel 4j+k in dword j, zeros
// elsewhere). Accumulator k then holds channels 4j+k, rescaled with a
// table permuted to that order (DWI8.FoldZP builds both), and the four
// results are merged back into channel order byte by byte. The input is
// int8; XOR 0x80 makes it the unsigned x+128 that VPDPBUSD takes, which
// the folded bias accounts for. No VPMOVSXBD widening is needed: per 16
// channels and pixel 9 VPDPBUSD and 2.25 XORs replace 9 widening loads
// and 9 VPDPWSSD.
//
// Registers: Z31 = 2^30 (RQDOUBLE512), Z30 zero point, Z29/Z28 clamp,
// K1 odd dwords, K2/K3/K4 bytes 1/2/3 of every dword, Z10 = 0x80 bytes;
// Z5..Z8 the accumulators, Z9 the input, Z20..Z23 the rescaled phases.

#define TAP(src, woff) \
	VPXORD   src, Z10, Z9 \
	VPDPBUSD woff(CX), Z9, Z5 \
	VPDPBUSD woff+64(CX), Z9, Z6 \
	VPDPBUSD woff+128(CX), Z9, Z7 \
	VPDPBUSD woff+192(CX), Z9, Z8

#define CLAMP(dst) \
	VPADDD    Z30, Z0, Z0 \
	VPMAXSD   Z29, Z0, Z0 \
	VPMINSD   Z28, Z0, dst

// CLAMPNZ follows RQSINGLE512Z (the zero point is in its offset).
#define CLAMPNZ(dst) \
	VPMAXSD   Z29, Z0, Z0 \
	VPMINSD   Z28, Z0, dst

// func dw3x3I8x64VNNI(out *int8, ostride int, r0, r1, r2 *int8, xstep, n, c, blocks int, w *int8, tab *int32, mode uint8, zp, lo, hi int32)
// n pixels of blocks*64 channels (the first ones of c per pixel) whose
// windows lie inside the image: r0..r2 point at the first pixel's window
// rows, xstep is the byte step between pixels, ostride between outputs.
// w holds per block 9 taps by 4 phases of 64 weight bytes; tab the
// permuted rescale, four 512-byte table blocks per channel block. mode
// bit 0 selects double rounding, bit 1 tab in Requant.tabF's form (else
// tab16's); with bit 1, bit 2 says the clamp is the whole int8 range
// (bit 3: the whole uint8 range, outputs x+128), which the saturating
// packs that merge the four phases then apply, so no min and max run.
// Bits 2 and 3 only go with bit 1.
TEXT ·dw3x3I8x64VNNI(SB), NOSPLIT, $0-104
	MOVQ         $0x40000000, AX
	VPBROADCASTQ AX, Z31
	MOVL         zp+92(FP), AX
	VPBROADCASTD AX, Z30
	MOVL         lo+96(FP), AX
	VPBROADCASTD AX, Z29
	MOVL         hi+100(FP), AX
	VPBROADCASTD AX, Z28
	MOVL         $0xAAAA, AX
	KMOVW        AX, K1
	MOVQ         $0x2222222222222222, AX
	KMOVQ        AX, K2
	MOVQ         $0x4444444444444444, AX
	KMOVQ        AX, K3
	MOVQ         $0x8888888888888888, AX
	KMOVQ        AX, K4
	MOVL         $0x80808080, AX
	VPBROADCASTD AX, Z10
	MOVQ         $0x80000000, AX
	VPBROADCASTQ AX, Z27
	MOVQ         c+56(FP), R13
	MOVBQZX      mode+88(FP), DX
	VMOVDQU64    dwqPackPerm<>(SB), Z26
	XORQ         BX, BX

dwqblock:
	MOVQ    BX, R10
	SHLQ    $5, R10
	ADDQ    tab+80(FP), R10
	IMUL3Q  $36, BX, CX
	ADDQ    w+72(FP), CX
	MOVQ    r0+16(FP), SI
	ADDQ    BX, SI
	MOVQ    r1+24(FP), R9
	ADDQ    BX, R9
	MOVQ    r2+32(FP), R12
	ADDQ    BX, R12
	MOVQ    out+0(FP), DI
	ADDQ    BX, DI
	MOVQ    n+48(FP), R8

dwqpixel:
	VMOVDQU32 (R10), Z5
	VMOVDQU32 512(R10), Z6
	VMOVDQU32 1024(R10), Z7
	VMOVDQU32 1536(R10), Z8
	TAP((SI), 0)
	TAP((SI)(R13*1), 256)
	TAP((SI)(R13*2), 512)
	TAP((R9), 768)
	TAP((R9)(R13*1), 1024)
	TAP((R9)(R13*2), 1280)
	TAP((R12), 1536)
	TAP((R12)(R13*1), 1792)
	TAP((R12)(R13*2), 2048)
	TESTQ     $4, DX
	JNZ       dwqpack
	CMPQ      DX, $2
	JEQ       dwqfasts
	CMPQ      DX, $3
	JEQ       dwqfastd
	TESTQ     DX, DX
	JZ        dwqsingle
	VMOVDQA32 Z5, Z0
	MOVQ      R10, R11
	RQDOUBLE512
	CLAMP(Z20)
	VMOVDQA32 Z6, Z0
	LEAQ      512(R10), R11
	RQDOUBLE512
	CLAMP(Z21)
	VMOVDQA32 Z7, Z0
	LEAQ      1024(R10), R11
	RQDOUBLE512
	CLAMP(Z22)
	VMOVDQA32 Z8, Z0
	LEAQ      1536(R10), R11
	RQDOUBLE512
	CLAMP(Z23)
	JMP       dwqmerge

dwqsingle:
	VMOVDQA32 Z5, Z0
	MOVQ      R10, R11
	RQSINGLE512Z
	CLAMPNZ(Z20)
	VMOVDQA32 Z6, Z0
	LEAQ      512(R10), R11
	RQSINGLE512Z
	CLAMPNZ(Z21)
	VMOVDQA32 Z7, Z0
	LEAQ      1024(R10), R11
	RQSINGLE512Z
	CLAMPNZ(Z22)
	VMOVDQA32 Z8, Z0
	LEAQ      1536(R10), R11
	RQSINGLE512Z
	CLAMPNZ(Z23)
	JMP       dwqmerge

dwqfasts:
	VMOVDQA32 Z5, Z0
	MOVQ      R10, R11
	RQFASTS512
	CLAMPNZ(Z20)
	VMOVDQA32 Z6, Z0
	LEAQ      512(R10), R11
	RQFASTS512
	CLAMPNZ(Z21)
	VMOVDQA32 Z7, Z0
	LEAQ      1024(R10), R11
	RQFASTS512
	CLAMPNZ(Z22)
	VMOVDQA32 Z8, Z0
	LEAQ      1536(R10), R11
	RQFASTS512
	CLAMPNZ(Z23)
	JMP       dwqmerge

dwqfastd:
	VMOVDQA32 Z5, Z0
	MOVQ      R10, R11
	RQFASTD512
	CLAMPNZ(Z20)
	VMOVDQA32 Z6, Z0
	LEAQ      512(R10), R11
	RQFASTD512
	CLAMPNZ(Z21)
	VMOVDQA32 Z7, Z0
	LEAQ      1024(R10), R11
	RQFASTD512
	CLAMPNZ(Z22)
	VMOVDQA32 Z8, Z0
	LEAQ      1536(R10), R11
	RQFASTD512
	CLAMPNZ(Z23)
	JMP       dwqmerge

dwqpack:
	TESTQ     $1, DX
	JNZ       dwqpackd
	VMOVDQA32 Z5, Z0
	MOVQ      R10, R11
	RQFASTS512
	VMOVDQA32 Z0, Z20
	VMOVDQA32 Z6, Z0
	LEAQ      512(R10), R11
	RQFASTS512
	VMOVDQA32 Z0, Z21
	VMOVDQA32 Z7, Z0
	LEAQ      1024(R10), R11
	RQFASTS512
	VMOVDQA32 Z0, Z22
	VMOVDQA32 Z8, Z0
	LEAQ      1536(R10), R11
	RQFASTS512
	VMOVDQA32 Z0, Z23
	JMP       dwqpackmerge

dwqpackd:
	VMOVDQA32 Z5, Z0
	MOVQ      R10, R11
	RQFASTD512
	VMOVDQA32 Z0, Z20
	VMOVDQA32 Z6, Z0
	LEAQ      512(R10), R11
	RQFASTD512
	VMOVDQA32 Z0, Z21
	VMOVDQA32 Z7, Z0
	LEAQ      1024(R10), R11
	RQFASTD512
	VMOVDQA32 Z0, Z22
	VMOVDQA32 Z8, Z0
	LEAQ      1536(R10), R11
	RQFASTD512
	VMOVDQA32 Z0, Z23

dwqpackmerge:
	VPACKSSDW Z21, Z20, Z20
	VPACKSSDW Z23, Z22, Z22
	TESTQ     $8, DX
	JNZ       dwqpacku
	VPACKSSWB Z22, Z20, Z20
	JMP       dwqpackperm

dwqpacku:
	VPACKUSWB Z22, Z20, Z20

dwqpackperm:
	VPERMB    Z20, Z26, Z20
	VMOVDQU8  Z20, (DI)
	JMP       dwqadvance

dwqmerge:
	VPSLLD    $8, Z21, Z21
	VPBLENDMB Z21, Z20, K2, Z20
	VPSLLD    $16, Z22, Z22
	VPBLENDMB Z22, Z20, K3, Z20
	VPSLLD    $24, Z23, Z23
	VPBLENDMB Z23, Z20, K4, Z20
	VMOVDQU8  Z20, (DI)

dwqadvance:
	MOVQ      xstep+40(FP), AX
	ADDQ      AX, SI
	ADDQ      AX, R9
	ADDQ      AX, R12
	ADDQ      ostride+8(FP), DI
	DECQ      R8
	JNZ       dwqpixel

	ADDQ $64, BX
	MOVQ blocks+64(FP), AX
	SHLQ $6, AX
	CMPQ BX, AX
	JLT  dwqblock
	VZEROUPPER
	RET

// dwqPackPerm puts the bytes of the packed phases (VPACKSSDW of phases 0
// and 1 and of 2 and 3, then VPACKSSWB: per 16-byte lane L, byte 4k+i is
// phase k's dword 4L+i, channel 16L+4i+k) back in channel order: output
// byte o takes byte 16(o/16) + 4(o%4) + (o%16)/4.
DATA dwqPackPerm<>+0(SB)/8, $0x0d0905010c080400
DATA dwqPackPerm<>+8(SB)/8, $0x0f0b07030e0a0602
DATA dwqPackPerm<>+16(SB)/8, $0x1d1915111c181410
DATA dwqPackPerm<>+24(SB)/8, $0x1f1b17131e1a1612
DATA dwqPackPerm<>+32(SB)/8, $0x2d2925212c282420
DATA dwqPackPerm<>+40(SB)/8, $0x2f2b27232e2a2622
DATA dwqPackPerm<>+48(SB)/8, $0x3d3935313c383430
DATA dwqPackPerm<>+56(SB)/8, $0x3f3b37333e3a3632
GLOBL dwqPackPerm<>(SB), RODATA|NOPTR, $64

// rqHigh is rqfHigh (int8rqf_amd64.s): the VPERMT2D index of the even and
// the odd channels' high dwords in channel order.
DATA rqHigh<>+0(SB)/8, $0x0000001100000001
DATA rqHigh<>+8(SB)/8, $0x0000001300000003
DATA rqHigh<>+16(SB)/8, $0x0000001500000005
DATA rqHigh<>+24(SB)/8, $0x0000001700000007
DATA rqHigh<>+32(SB)/8, $0x0000001900000009
DATA rqHigh<>+40(SB)/8, $0x0000001b0000000b
DATA rqHigh<>+48(SB)/8, $0x0000001d0000000d
DATA rqHigh<>+56(SB)/8, $0x0000001f0000000f
GLOBL rqHigh<>(SB), RODATA|NOPTR, $64
