//go:build amd64

#include "textflag.h"

// AVX2 requantization and int8 depthwise kernels (see int8q.go for the
// arithmetic). One table block (R11) describes 8 channels; Y0 holds their
// int32 accumulators with the bias added. Constants: Y15 = 2^30 in every
// qword, Y14 = output zero point, Y13 = lower and Y12 = upper clamp.

// RQDOUBLE: MultiplyByQuantizedMultiplier. x <<= left; hi = (x*q + 2^30)
// >> 31 on 64-bit products of the even and odd lanes (the low dword of a
// logical shift is the arithmetic result); then a rounding right shift
// whose threshold is mask/2, one more for negative values.
#define RQDOUBLE \
	VMOVDQU  32(R11), Y1 \
	VPSLLVD  64(R11), Y0, Y0 \
	VPMULDQ  Y1, Y0, Y2 \
	VPSRLQ   $32, Y0, Y3 \
	VPSRLQ   $32, Y1, Y4 \
	VPMULDQ  Y4, Y3, Y3 \
	VPADDQ   Y15, Y2, Y2 \
	VPADDQ   Y15, Y3, Y3 \
	VPSRLQ   $31, Y2, Y2 \
	VPSRLQ   $31, Y3, Y3 \
	VPSLLQ   $32, Y3, Y3 \
	VPBLENDD $0xAA, Y3, Y2, Y0 \
	VMOVDQU  128(R11), Y1 \
	VPAND    Y1, Y0, Y2 \
	VPSRLD   $1, Y1, Y1 \
	VPSRAD   $31, Y0, Y3 \
	VPSUBD   Y3, Y1, Y1 \
	VPSRAVD  96(R11), Y0, Y0 \
	VPCMPGTD Y1, Y2, Y2 \
	VPSUBD   Y2, Y0, Y0

// RQSINGLE: (x*q + 2^(tot-1)) >> tot. The table's rounding constants carry
// 2^62 so the 64-bit sum is non-negative and a logical shift is exact; the
// 2^(62-tot) it adds to the result is subtracted (mod 2^32) at the end.
#define RQSINGLE \
	VMOVDQU  32(R11), Y1 \
	VPMULDQ  Y1, Y0, Y2 \
	VPSRLQ   $32, Y0, Y3 \
	VPSRLQ   $32, Y1, Y4 \
	VPMULDQ  Y4, Y3, Y3 \
	VPADDQ   96(R11), Y2, Y2 \
	VPADDQ   128(R11), Y3, Y3 \
	VPSRLVQ  160(R11), Y2, Y2 \
	VPSRLVQ  192(R11), Y3, Y3 \
	VPSLLQ   $32, Y3, Y3 \
	VPBLENDD $0xAA, Y3, Y2, Y0 \
	VPSUBD   64(R11), Y0, Y0

// RQFINISH adds the zero point, clamps and stores 8 bytes at (DI).
#define RQFINISH \
	VPADDD       Y14, Y0, Y0 \
	VPMAXSD      Y13, Y0, Y0 \
	VPMINSD      Y12, Y0, Y0 \
	VPACKSSDW    Y0, Y0, Y0 \
	VPACKSSWB    Y0, Y0, Y0 \
	VEXTRACTI128 $1, Y0, X1 \
	VPUNPCKLDQ   X1, X0, X0 \
	VMOVQ        X0, (DI)

// func requantAVX2(out *int8, acc *int32, tab *int32, blocks int, double bool, zp, lo, hi int32, rows, ldo, lda int)
// rows pixels: out and acc advance by ldo bytes and lda int32s.
TEXT ·requantAVX2(SB), NOSPLIT, $0-72
	MOVQ         $0x40000000, AX
	VMOVQ         AX, X15
	VPBROADCASTQ X15, Y15
	MOVL         zp+36(FP), AX
	VMOVQ         AX, X14
	VPBROADCASTD X14, Y14
	MOVL         lo+40(FP), AX
	VMOVQ         AX, X13
	VPBROADCASTD X13, Y13
	MOVL         hi+44(FP), AX
	VMOVQ         AX, X12
	VPBROADCASTD X12, Y12
	MOVQ         out+0(FP), DI
	MOVQ         acc+8(FP), SI
	MOVQ         tab+16(FP), R11
	MOVQ         blocks+24(FP), CX
	MOVBQZX      double+32(FP), DX
	MOVQ         rows+48(FP), R8
	MOVQ         out+0(FP), R9
	MOVQ         acc+8(FP), R10

rqrow:
	MOVQ R9, DI
	MOVQ R10, SI
	MOVQ tab+16(FP), R11
	MOVQ blocks+24(FP), CX

rqblock:
	VMOVDQU (SI), Y0
	VPADDD  (R11), Y0, Y0
	TESTQ   DX, DX
	JZ      rqsingle
	RQDOUBLE
	JMP     rqfinish

rqsingle:
	RQSINGLE

rqfinish:
	RQFINISH
	ADDQ $8, DI
	ADDQ $32, SI
	ADDQ $256, R11
	DECQ CX
	JNZ  rqblock
	ADDQ ldo+56(FP), R9
	MOVQ lda+64(FP), AX
	LEAQ (R10)(AX*4), R10
	DECQ R8
	JNZ  rqrow
	VZEROUPPER
	RET

// func dwI8AVX2(out *int8, ostride int, xs *int32, xstep int, taps *int, ntaps, n, blocks int, w *int32, tab *int32, double bool, zp, lo, hi int32)
// For each of n pixels and each 8-channel block: acc = bias + sum over the
// taps of VPMADDWD(weights, xs) (weights are 16-bit lanes with a zero high
// half, xs int32 values that fit in 16 bits, so each lane is x*w), then
// requantize and store 8 bytes. taps holds (xs byte offset, weight byte
// offset) pairs; xstep is in bytes.
TEXT ·dwI8AVX2(SB), NOSPLIT, $0-96
	MOVQ         $0x40000000, AX
	VMOVQ         AX, X15
	VPBROADCASTQ X15, Y15
	MOVL         zp+84(FP), AX
	VMOVQ         AX, X14
	VPBROADCASTD X14, Y14
	MOVL         lo+88(FP), AX
	VMOVQ         AX, X13
	VPBROADCASTD X13, Y13
	MOVL         hi+92(FP), AX
	VMOVQ         AX, X12
	VPBROADCASTD X12, Y12
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
	VMOVDQU (R11), Y0
	MOVQ    taps+32(FP), R12
	MOVQ    ntaps+40(FP), R13

dwtap:
	MOVQ     (R12), AX
	MOVQ     8(R12), DX
	VMOVDQU  (BX)(DX*1), Y1
	VPMADDWD (SI)(AX*1), Y1, Y1
	VPADDD   Y1, Y0, Y0
	ADDQ     $16, R12
	DECQ     R13
	JNZ      dwtap

	MOVBQZX double+80(FP), DX
	TESTQ   DX, DX
	JZ      dwsingle
	RQDOUBLE
	JMP     dwfinish

dwsingle:
	RQSINGLE

dwfinish:
	RQFINISH
	ADDQ $8, DI
	ADDQ $32, SI
	ADDQ $32, BX
	ADDQ $256, R11
	DECQ R10
	JNZ  dwblock

	ADDQ ostride+8(FP), R9
	ADDQ xstep+24(FP), CX
	DECQ R8
	JNZ  dwpixel
	VZEROUPPER
	RET

// func widenI8AVX2(dst *int32, src *int8, n int, zp int32)
// dst[i] = src[i] - zp for n a multiple of 8.
TEXT ·widenI8AVX2(SB), NOSPLIT, $0-28
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	SHRQ         $3, CX
	MOVL         zp+24(FP), AX
	VMOVQ         AX, X15
	VPBROADCASTD X15, Y15

widen:
	VPMOVSXBD (SI), Y0
	VPSUBD    Y15, Y0, Y0
	VMOVDQU   Y0, (DI)
	ADDQ      $8, SI
	ADDQ      $32, DI
	DECQ      CX
	JNZ       widen
	VZEROUPPER
	RET

// func xorI8AVX2(dst *uint8, src *int8, n int)
// dst[i] = src[i] ^ 0x80 for n a multiple of 32.
TEXT ·xorI8AVX2(SB), NOSPLIT, $0-24
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	SHRQ         $5, CX
	MOVL         $0x80808080, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15

xorloop:
	VPXOR   (SI), Y15, Y0
	VMOVDQU Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     xorloop
	VZEROUPPER
	RET

// func addI8AVX2(out, a, b *int8, n int, azp, bzp, am, bm, rnd, shift, zp, lo, hi int32)
// Quantized ADD of n (a multiple of 8) pairs in int32 lanes (the caller
// checks that the sums fit): ((a-azp)*am + (b-bzp)*bm + rnd) >> shift.
TEXT ·addI8AVX2(SB), NOSPLIT, $0-68
	MOVQ         out+0(FP), DI
	MOVQ         a+8(FP), SI
	MOVQ         b+16(FP), BX
	MOVQ         n+24(FP), CX
	SHRQ         $3, CX
	MOVL         azp+32(FP), AX
	VMOVQ        AX, X15
	VPBROADCASTD X15, Y15
	MOVL         bzp+36(FP), AX
	VMOVQ        AX, X14
	VPBROADCASTD X14, Y14
	MOVL         am+40(FP), AX
	VMOVQ        AX, X13
	VPBROADCASTD X13, Y13
	MOVL         bm+44(FP), AX
	VMOVQ        AX, X12
	VPBROADCASTD X12, Y12
	MOVL         rnd+48(FP), AX
	VMOVQ        AX, X11
	VPBROADCASTD X11, Y11
	MOVL         shift+52(FP), AX
	VMOVQ        AX, X10
	MOVL         zp+56(FP), AX
	VMOVQ        AX, X9
	VPBROADCASTD X9, Y9
	MOVL         lo+60(FP), AX
	VMOVQ        AX, X8
	VPBROADCASTD X8, Y8
	MOVL         hi+64(FP), AX
	VMOVQ        AX, X7
	VPBROADCASTD X7, Y7

addloop:
	VPMOVSXBD    (SI), Y0
	VPMOVSXBD    (BX), Y1
	VPSUBD       Y15, Y0, Y0
	VPSUBD       Y14, Y1, Y1
	VPMULLD      Y13, Y0, Y0
	VPMULLD      Y12, Y1, Y1
	VPADDD       Y1, Y0, Y0
	VPADDD       Y11, Y0, Y0
	VPSRAD       X10, Y0, Y0
	VPADDD       Y9, Y0, Y0
	VPMAXSD      Y8, Y0, Y0
	VPMINSD      Y7, Y0, Y0
	VPACKSSDW    Y0, Y0, Y0
	VPACKSSWB    Y0, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPUNPCKLDQ   X1, X0, X0
	VMOVQ        X0, (DI)
	ADDQ         $8, SI
	ADDQ         $8, BX
	ADDQ         $8, DI
	DECQ         CX
	JNZ          addloop
	VZEROUPPER
	RET

// func quantizeF32AVX2(out *int8, in *float32, n int, scale float32, zp int32)
// out[i] = round(in[i]/scale) + zp saturated to int8 for n a multiple of
// 8, rounding half away from zero, NaN giving zp (see QuantizeOne): the
// quotient is clamped to +-512, truncated, and moved one away from zero
// when the (exact) fraction left is at least one half.
TEXT ·quantizeF32AVX2(SB), NOSPLIT, $0-32
	MOVQ         out+0(FP), DI
	MOVQ         in+8(FP), SI
	MOVQ         n+16(FP), CX
	SHRQ         $3, CX
	MOVL         scale+24(FP), AX
	VMOVQ        AX, X15
	VPBROADCASTD X15, Y15
	MOVL         $0xc4000000, AX         // -512.0
	VMOVQ        AX, X14
	VPBROADCASTD X14, Y14
	MOVL         $0x44000000, AX         // 512.0
	VMOVQ        AX, X13
	VPBROADCASTD X13, Y13
	MOVL         $0x3f000000, AX         // 0.5
	VMOVQ        AX, X12
	VPBROADCASTD X12, Y12
	MOVL         $0xbf000000, AX         // -0.5
	VMOVQ        AX, X11
	VPBROADCASTD X11, Y11
	MOVL         zp+28(FP), AX
	VMOVQ        AX, X10
	VPBROADCASTD X10, Y10
	MOVL         $-128, AX
	VMOVQ        AX, X9
	VPBROADCASTD X9, Y9
	MOVL         $127, AX
	VMOVQ        AX, X8
	VPBROADCASTD X8, Y8

qloop:
	VMOVUPS      (SI), Y0
	VDIVPS       Y15, Y0, Y0
	VCMPPS       $3, Y0, Y0, Y7
	VMAXPS       Y14, Y0, Y0
	VMINPS       Y13, Y0, Y0
	VCVTTPS2DQ   Y0, Y1
	VCVTDQ2PS    Y1, Y2
	VSUBPS       Y2, Y0, Y2
	VCMPPS       $13, Y12, Y2, Y3
	VCMPPS       $2, Y11, Y2, Y4
	VPSUBD       Y3, Y1, Y1
	VPADDD       Y4, Y1, Y1
	VPADDD       Y10, Y1, Y1
	VPMAXSD      Y9, Y1, Y1
	VPMINSD      Y8, Y1, Y1
	VPBLENDVB    Y7, Y10, Y1, Y1
	VPACKSSDW    Y1, Y1, Y1
	VPACKSSWB    Y1, Y1, Y1
	VEXTRACTI128 $1, Y1, X2
	VPUNPCKLDQ   X2, X1, X1
	VMOVQ        X1, (DI)
	ADDQ         $32, SI
	ADDQ         $8, DI
	DECQ         CX
	JNZ          qloop
	VZEROUPPER
	RET

// func accumI8AVX2(acc *int32, src *int8, n int)
// acc[i] += src[i] for i < n, n a positive multiple of 16.
TEXT ·accumI8AVX2(SB), NOSPLIT, $0-24
	MOVQ acc+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $4, CX

accumloop:
	VPMOVSXBD (SI), Y0
	VPMOVSXBD 8(SI), Y1
	VPADDD    (DI), Y0, Y0
	VPADDD    32(DI), Y1, Y1
	VMOVDQU   Y0, (DI)
	VMOVDQU   Y1, 32(DI)
	ADDQ      $16, SI
	ADDQ      $64, DI
	DECQ      CX
	JNZ       accumloop
	VZEROUPPER
	RET
