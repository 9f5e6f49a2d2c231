//go:build amd64

#include "textflag.h"

#include "i8avx2_amd64.h"

// DWPAIR adds two taps of 16 channels to Y0 (channels 0-7) and Y1 (8-15):
// their int8 inputs at A and B are interleaved byte by byte (a0 b0 a1 b1
// ...), sign-extended to int16 and multiplied by the weights at OFF(BX),
// laid out the same way, with VPMADDWD, which gives each channel's
// a*wa + b*wb exactly in int32.
#define DWPAIR(A, B, OFF) \
	VMOVDQU    A, X8 \
	VMOVDQU    B, X9 \
	VPUNPCKLBW X9, X8, X10 \
	VPUNPCKHBW X9, X8, X11 \
	VPMOVSXBW  X10, Y10 \
	VPMOVSXBW  X11, Y11 \
	VPMADDWD   OFF(BX), Y10, Y10 \
	VPMADDWD   OFF+32(BX), Y11, Y11 \
	VPADDD     Y10, Y0, Y0 \
	VPADDD     Y11, Y1, Y1

// RQG16 rescales Y as RQF16 (below) does, with dwRQTable's blend table
// (DWI8.rqG) at OFF(R11): y = (Y+bias)<<left; the odd channels are moved
// to the even words (VPSHUFD) rather than shifted there, so that each
// qword of y holds the sign of its odd channel in bit 63 and each of the
// moved copy that of its even channel; VBLENDVPD picks K or K-n by those
// signs (three instructions fewer than masking n and subtracting it). The
// result has the zero point but no clamp: PACK16C clamps on 16 bits.
// Y8..Y11 are temporaries.
#define RQG16(Y, OFF) \
	VPADDD   OFF(R11), Y, Y \
	VPSLLVD  OFF+32(R11), Y, Y \
	RQG16TAIL(Y, OFF)

// RQG16NL is RQG16 for tables whose left shifts are all 0.
#define RQG16NL(Y, OFF) \
	VPADDD OFF(R11), Y, Y \
	RQG16TAIL(Y, OFF)

#define RQG16TAIL(Y, OFF) \
	VPSHUFD   $0xB1, Y, Y9 \
	VPMULDQ   OFF+64(R11), Y, Y8 \
	VPMULDQ   OFF+96(R11), Y9, Y10 \
	VMOVDQU   OFF+128(R11), Y11 \
	VBLENDVPD Y9, OFF+192(R11), Y11, Y11 \
	VPADDQ    Y11, Y8, Y8 \
	VMOVDQU   OFF+160(R11), Y11 \
	VBLENDVPD Y, OFF+224(R11), Y11, Y11 \
	VPADDQ    Y11, Y10, Y10 \
	VPSRLVQ   OFF+256(R11), Y8, Y8 \
	VPSRLVQ   OFF+288(R11), Y10, Y10 \
	VPSLLQ    $32, Y10, Y10 \
	VPBLENDD  $0xAA, Y10, Y8, Y \
	VPADDD    OFF+320(R11), Y, Y

// PACK16C is PACK16 for values not yet clamped: the clamp to [lo, hi]
// (Y14, Y15: lo and hi in every word) on the 16 words VPACKSSDW
// saturates them to, which gives the same bytes as clamping the dwords,
// lo and hi lying inside int16. PACK16CU stores unsigned bytes.
#define PACK16C(YA, YB, XA, DST) \
	VPACKSSDW    YB, YA, YA \
	VPMAXSW      Y14, YA, YA \
	VPMINSW      Y15, YA, YA \
	VPERMQ       $0xD8, YA, YA \
	VEXTRACTI128 $1, YA, X8 \
	VPACKSSWB    X8, XA, XA \
	VMOVDQU      XA, DST

#define PACK16CU(YA, YB, XA, DST) \
	VPACKSSDW    YB, YA, YA \
	VPMAXSW      Y14, YA, YA \
	VPMINSW      Y15, YA, YA \
	VPERMQ       $0xD8, YA, YA \
	VEXTRACTI128 $1, YA, X8 \
	VPACKUSWB    X8, XA, XA \
	VMOVDQU      XA, DST

// WORDCLAMP16 sets Y14 and Y15 to lo and hi (the int32 arguments at LO and
// HI) in every word, for PACK16C.
#define WORDCLAMP16(LO, HI) \
	MOVL         LO, AX \
	VMOVD        AX, X14 \
	VPBROADCASTW X14, Y14 \
	MOVL         HI, AX \
	VMOVD        AX, X15 \
	VPBROADCASTW X15, Y15

// func dw3x3I8AVX2(out *int8, ostride int, r0, r1, r2 *int8, xstep, n, c int, w *int16, tab *int32, tstep int, mode uint8, unsigned bool, zp, lo, hi int32)
// The int8 3x3 depthwise convolution of n pixels whose windows lie inside
// the rows r0, r1, r2 (each pixel xstep bytes on from the one before, a
// tap's channels c bytes on from the tap to its left), c a multiple of
// 16: for each pixel and each 16 channels, the 9 taps in 5 pairs (the
// last pairs tap 8 with itself and zero weights; w: per block of 16
// channels, 5 pairs of 32 int16s, DWI8.w2), then the rescale of the
// raw input's rescale (DWI8.fold, bias net of the zero point; mode 0 the
// single rounding and 1 the double with tab Requant.tab8's, 3 and 4 RQG16
// and RQG16NL with tab dwRQTable's blend table; tstep bytes of tab per
// block of 16 channels) and 16 bytes stored at out, pixels ostride bytes
// apart; unsigned stores x+128 (the rescale's clamp then lies in [0,
// 255]).
TEXT ·dw3x3I8AVX2(SB), NOSPLIT, $0-104
	MOVL         lo+96(FP), AX
	VMOVD        AX, X12
	VPBROADCASTD X12, Y12
	MOVL         hi+100(FP), AX
	VMOVD        AX, X13
	VPBROADCASTD X13, Y13
	MOVL         zp+92(FP), AX
	VMOVD        AX, X14
	VPBROADCASTD X14, Y14
	MOVQ         $0x40000000, AX
	VMOVQ        AX, X15
	VPBROADCASTQ X15, Y15
	CMPB         mode+88(FP), $3
	JB           dwpre
	WORDCLAMP16(lo+96(FP), hi+100(FP))

dwpre:
	MOVQ         out+0(FP), R8
	MOVQ         r0+16(FP), SI
	MOVQ         r1+24(FP), DI
	MOVQ         r2+32(FP), R10
	MOVQ         n+48(FP), CX
	MOVQ         c+56(FP), DX

dwpix:
	MOVQ SI, AX
	MOVQ DI, R14
	MOVQ R10, R9
	MOVQ R8, R13
	MOVQ w+64(FP), BX
	MOVQ tab+72(FP), R11
	MOVQ DX, R12
	SHRQ $4, R12

dwblk:
	VPXOR  Y0, Y0, Y0
	VPXOR  Y1, Y1, Y1
	DWPAIR((AX), (AX)(DX*1), 0)
	DWPAIR((AX)(DX*2), (R14), 64)
	DWPAIR((R14)(DX*1), (R14)(DX*2), 128)
	DWPAIR((R9), (R9)(DX*1), 192)
	DWPAIR((R9)(DX*2), (R9)(DX*2), 256)
	CMPB    mode+88(FP), $1
	JA      dwblend
	JE      dwdouble
	RQS16(Y0, 0)
	RQS16(Y1, 256)
	JMP     dwstore

dwdouble:
	RQD16(Y0, 0)
	RQD16(Y1, 256)

dwstore:
	CMPB    unsigned+89(FP), $0
	JNE     dwstoreu
	PACK16(Y0, Y1, X0, (R13))
	JMP     dwnext

dwstoreu:
	PACK16U(Y0, Y1, X0, (R13))
	JMP     dwnext

dwblend:
	CMPB    mode+88(FP), $4
	JE      dwblendnl
	RQG16(Y0, 0)
	RQG16(Y1, 352)
	JMP     dwstorec

dwblendnl:
	RQG16NL(Y0, 0)
	RQG16NL(Y1, 352)

dwstorec:
	CMPB    unsigned+89(FP), $0
	JNE     dwstorecu
	PACK16C(Y0, Y1, X0, (R13))
	JMP     dwnext

dwstorecu:
	PACK16CU(Y0, Y1, X0, (R13))

dwnext:
	ADDQ $16, AX
	ADDQ $16, R14
	ADDQ $16, R9
	ADDQ $16, R13
	ADDQ $320, BX
	ADDQ tstep+80(FP), R11
	DECQ R12
	JNZ  dwblk

	ADDQ xstep+40(FP), SI
	ADDQ xstep+40(FP), DI
	ADDQ xstep+40(FP), R10
	ADDQ ostride+8(FP), R8
	DECQ CX
	JNZ  dwpix
	VZEROUPPER
	RET

// DWCOL sign-extends 16 channels of two rows of one column, the int8s at A
// and B interleaved byte by byte, to int16 pairs in Y6 (channels 0-7) and
// Y7 (8-15).
#define DWCOL(A, B) \
	VMOVDQU    A, X8 \
	VMOVDQU    B, X9 \
	VPUNPCKLBW X9, X8, X10 \
	VPUNPCKHBW X9, X8, X11 \
	VPMOVSXBW  X10, Y6 \
	VPMOVSXBW  X11, Y7

// DWMADD adds Y6, Y7 times the weight pair at OFF(BX) to the accumulators
// YL (channels 0-7) and YH (8-15); DWMSET sets them to it.
#define DWMADD(OFF, YL, YH) \
	VPMADDWD OFF(BX), Y6, Y8 \
	VPADDD   Y8, YL, YL \
	VPMADDWD OFF+32(BX), Y7, Y9 \
	VPADDD   Y9, YH, YH

#define DWMSET(OFF, YL, YH) \
	VPMADDWD OFF(BX), Y6, YL \
	VPMADDWD OFF+32(BX), Y7, YH

// DWSTEP takes column x (SI, DI, R10: rows 0, 1, 2; DX = c) into the
// accumulators of pixels x-2 (Y0, Y1: its right column), x-1 (Y2, Y3: its
// middle) and x (Y4, Y5: its left, set): rows 0 and 1 of column x
// together, then row 2 of columns x and x+1 (taps 6, 7 of pixel x, tap 8
// of pixel x-1); then moves on a column.
#define DWSTEP \
	DWCOL((SI), (DI)) \
	DWMADD(128, Y0, Y1) \
	DWMADD(64, Y2, Y3) \
	DWMSET(0, Y4, Y5) \
	DWCOL((R10), (R10)(DX*1)) \
	DWMADD(256, Y2, Y3) \
	DWMADD(192, Y4, Y5) \
	ADDQ DX, SI \
	ADDQ DX, DI \
	ADDQ DX, R10

// DWSHIFT moves the accumulators on a pixel: x-1's to x-2's, x's to x-1's.
#define DWSHIFT \
	VMOVDQA Y2, Y0 \
	VMOVDQA Y3, Y1 \
	VMOVDQA Y4, Y2 \
	VMOVDQA Y5, Y3

// RQF16 rescales Y in the double rounding as one floor of the 64-bit
// product (dwRQTable, its block of 8 channels at OFF(R11)): y =
// (Y+bias)<<left, times M in the even and the odd channels, plus K less n
// where y < 0, shifted right by 31+rs; the low words, plus the zero point
// word, clamped. Y8..Y10 are temporaries.
#define RQF16(Y, OFF) \
	VPADDD   OFF(R11), Y, Y \
	VPSLLVD  OFF+32(R11), Y, Y \
	VPSRLQ   $32, Y, Y9 \
	VPMULDQ  OFF+64(R11), Y, Y8 \
	VPMULDQ  OFF+96(R11), Y9, Y10 \
	VPSRAD   $31, Y9, Y9 \
	VPSRAD   $31, Y, Y \
	VPAND    OFF+192(R11), Y, Y \
	VPAND    OFF+224(R11), Y9, Y9 \
	VPADDQ   OFF+128(R11), Y8, Y8 \
	VPADDQ   OFF+160(R11), Y10, Y10 \
	VPSUBQ   Y, Y8, Y8 \
	VPSUBQ   Y9, Y10, Y10 \
	VPSRLVQ  OFF+256(R11), Y8, Y8 \
	VPSRLVQ  OFF+288(R11), Y10, Y10 \
	VPSLLQ   $32, Y10, Y10 \
	VPBLENDD $0xAA, Y10, Y8, Y \
	VPADDD   OFF+320(R11), Y, Y \
	VPMAXSD  Y12, Y, Y \
	VPMINSD  Y13, Y, Y

// DWCPIXELS is dw3x3I8AVX2Cols' pixel loop of one block for one rescale
// (RQ, RQG16 or RQG16NL) and store (PACK, PACK16C or PACK16CU), the
// prologue's two columns done, AX = ostride, N the pixel count's
// argument and OFF2 the table offset of channels 8-15: one taken branch a
// pixel, where the loop below it, for every mode, tests the mode and the
// store on each pixel. The last pixel (CX = 0 on entry to last) adds only
// its right column's rows 0 and 1. It ends at fin.
#define DWCPIXELS(RQ, PACK, N, OFF2, col, last, fin) \
	MOVQ N, CX \
	DECQ CX \
	JZ   last \
col: \
	DWSTEP \
	RQ(Y0, 0) \
	RQ(Y1, OFF2) \
	PACK(Y0, Y1, X0, (R13)) \
	ADDQ AX, R13 \
	DWSHIFT \
	DECQ CX \
	JNZ  col \
last: \
	DWCOL((SI), (DI)) \
	DWMADD(128, Y0, Y1) \
	RQ(Y0, 0) \
	RQ(Y1, OFF2) \
	PACK(Y0, Y1, X0, (R13)) \
	JMP  fin

// func dw3x3I8AVX2Cols(out *int8, ostride int, r0, r1, r2 *int8, n, c int, w *int16, tab *int32, mode uint8, unsigned bool, zp, lo, hi int32)
// dw3x3I8AVX2 at stride 1 (xstep = c), the same sums in another order:
// per block of 16 channels, one pass over the n+2 columns. Column x's rows
// 0 and 1, interleaved and sign-extended once, meet the weight pairs
// (0,3), (1,4), (2,5) of pixels x, x-1, x-2, and row 2 of columns x and
// x+1 the pairs (6,7) of pixel x and (none,8) of pixel x-1 (w: DWI8.w2c).
// Pixel x-2 is then complete, rescaled and stored. Columns 0 and 1
// complete no pixel (their x-2 and x-1 sums are dropped), and the last
// column n+1 only adds its rows 0 and 1 to pixel n-1 (row 2 of column n+2
// lies outside the window). mode: 0 the single rounding, 1 the double
// (tab: Requant.tab8), 2 the double in one step (tab: dwRQTable), 3 and
// 4 that with blends, RQG16 and RQG16NL (tab: dwRQTable's blend table).
TEXT ·dw3x3I8AVX2Cols(SB), NOSPLIT, $0-88
	MOVL         lo+80(FP), AX
	VMOVD        AX, X12
	VPBROADCASTD X12, Y12
	MOVL         hi+84(FP), AX
	VMOVD        AX, X13
	VPBROADCASTD X13, Y13
	MOVL         zp+76(FP), AX
	VMOVD        AX, X14
	VPBROADCASTD X14, Y14
	MOVQ         $0x40000000, AX
	VMOVQ        AX, X15
	VPBROADCASTQ X15, Y15
	MOVQ         out+0(FP), R8
	MOVQ         c+48(FP), DX
	MOVQ         w+56(FP), BX
	MOVQ         tab+64(FP), R11
	MOVQ         DX, R12
	SHRQ         $4, R12
	XORQ         R14, R14
	MOVQ         $512, R9
	CMPB         mode+72(FP), $2
	JB           dwcstride
	MOVQ         $704, R9
	JE           dwcstride
	WORDCLAMP16(lo+80(FP), hi+84(FP))

dwcstride:

dwcblk:
	MOVQ  r0+16(FP), SI
	MOVQ  r1+24(FP), DI
	MOVQ  r2+32(FP), R10
	ADDQ  R14, SI
	ADDQ  R14, DI
	ADDQ  R14, R10
	MOVQ  R8, R13
	DWSTEP
	DWSHIFT
	DWSTEP
	DWSHIFT
	CMPB  mode+72(FP), $3
	JB    dwcany
	MOVQ  ostride+8(FP), AX
	JA    dwctight4
	CMPB  unsigned+73(FP), $0
	JNE   dwctight3u
	DWCPIXELS(RQG16, PACK16C, n+40(FP), 352, dwct3col, dwct3last, dwcblkend)

dwctight3u:
	DWCPIXELS(RQG16, PACK16CU, n+40(FP), 352, dwct3ucol, dwct3ulast, dwcblkend)

dwctight4:
	CMPB unsigned+73(FP), $0
	JNE  dwctight4u
	DWCPIXELS(RQG16NL, PACK16C, n+40(FP), 352, dwct4col, dwct4last, dwcblkend)

dwctight4u:
	DWCPIXELS(RQG16NL, PACK16CU, n+40(FP), 352, dwct4ucol, dwct4ulast, dwcblkend)

dwcany:
	MOVQ  n+40(FP), CX
	DECQ  CX

dwccol:
	TESTQ CX, CX
	JZ    dwclast
	DWSTEP
	JMP   dwcfin

dwclast:
	DWCOL((SI), (DI))
	DWMADD(128, Y0, Y1)

dwcfin:
	CMPB mode+72(FP), $1
	JA   dwcfast
	JE   dwcdouble
	RQS16(Y0, 0)
	RQS16(Y1, 256)
	JMP  dwcstore

dwcdouble:
	RQD16(Y0, 0)
	RQD16(Y1, 256)
	JMP  dwcstore

dwcfast:
	CMPB mode+72(FP), $3
	JA   dwcblendnl
	JE   dwcblend
	RQF16(Y0, 0)
	RQF16(Y1, 352)

dwcstore:
	CMPB unsigned+73(FP), $0
	JNE  dwcstoreu
	PACK16(Y0, Y1, X0, (R13))
	JMP  dwcnext

dwcstoreu:
	PACK16U(Y0, Y1, X0, (R13))
	JMP  dwcnext

dwcblend:
	RQG16(Y0, 0)
	RQG16(Y1, 352)
	JMP dwcstorec

dwcblendnl:
	RQG16NL(Y0, 0)
	RQG16NL(Y1, 352)

dwcstorec:
	CMPB unsigned+73(FP), $0
	JNE  dwcstorecu
	PACK16C(Y0, Y1, X0, (R13))
	JMP  dwcnext

dwcstorecu:
	PACK16CU(Y0, Y1, X0, (R13))

dwcnext:
	ADDQ ostride+8(FP), R13
	DWSHIFT
	DECQ CX
	JNS  dwccol

dwcblkend:
	ADDQ $16, R14
	ADDQ $16, R8
	ADDQ $320, BX
	ADDQ R9, R11
	DECQ R12
	JNZ  dwcblk
	VZEROUPPER
	RET

// DWSPIXELS is dw3x3I8AVX2S2's pixel loop of one block (CX pixels, AX =
// ostride) for one rescale (RQ; OFF2 the table offset of channels 8-15)
// and store (PACK), one taken branch a pixel; it ends at fin.
#define DWSPIXELS(RQ, PACK, OFF2, pix, fin) \
pix: \
	DWCOL((SI)(DX*1), (DI)(DX*1)) \
	DWMADD(0, Y0, Y1) \
	DWCOL((SI)(DX*2), (DI)(DX*2)) \
	DWMADD(64, Y0, Y1) \
	DWMSET(128, Y2, Y3) \
	DWCOL((R10)(DX*1), (R10)(DX*2)) \
	DWMADD(192, Y0, Y1) \
	DWMADD(256, Y2, Y3) \
	RQ(Y0, 0) \
	RQ(Y1, OFF2) \
	PACK(Y0, Y1, X0, (R13)) \
	VMOVDQA Y2, Y0 \
	VMOVDQA Y3, Y1 \
	ADDQ    R9, SI \
	ADDQ    R9, DI \
	ADDQ    R9, R10 \
	ADDQ    AX, R13 \
	DECQ    CX \
	JNZ     pix \
	JMP     fin

// func dw3x3I8AVX2S2(out *int8, ostride int, r0, r1, r2 *int8, n, c int, w *int16, tab *int32, tstep int, mode uint8, unsigned bool, lo, hi int32)
// dw3x3I8AVX2 at stride 2 (xstep = 2c) with the rescale of modes 0 (tab:
// Requant.tab8), 3 and 4 (tab: dwRQTable's blend table), tstep bytes of
// tab per block of 16 channels, per block of 16 channels one pass
// over the row: pixel p's window has columns 2p, 2p+1, 2p+2, and column
// 2p+2 is pixel p+1's left one. A step takes columns 2p+1 and 2p+2, three
// interleaved pairs of rows (rows 0 and 1 of each column, row 2 of both)
// instead of dw3x3I8AVX2's five: they meet the weight pairs (1,4), (2,5),
// (7,8) of pixel p (Y0, Y1), then complete, rescaled and stored, and
// (0,3), (none,6) of pixel p+1 (Y2, Y3, set) (w: DWI8.w2s, in that
// order). Pixel 0's left column comes before the loop, its row 2 paired
// with itself under (none,6). The last step's sums for pixel n are
// dropped; it reads no column past 2n.
TEXT ·dw3x3I8AVX2S2(SB), NOSPLIT, $0-92
	WORDCLAMP16(lo+84(FP), hi+88(FP))
	MOVL         lo+84(FP), AX
	VMOVD        AX, X12
	VPBROADCASTD X12, Y12
	MOVL         hi+88(FP), AX
	VMOVD        AX, X13
	VPBROADCASTD X13, Y13
	MOVQ out+0(FP), R8
	MOVQ c+48(FP), DX
	MOVQ w+56(FP), BX
	MOVQ tab+64(FP), R11
	MOVQ DX, R12
	SHRQ $4, R12
	XORQ R14, R14
	LEAQ (DX)(DX*1), R9

dwsblk:
	MOVQ r0+16(FP), SI
	MOVQ r1+24(FP), DI
	MOVQ r2+32(FP), R10
	ADDQ R14, SI
	ADDQ R14, DI
	ADDQ R14, R10
	MOVQ R8, R13
	DWCOL((SI), (DI))
	DWMSET(128, Y0, Y1)
	DWCOL((R10), (R10))
	DWMADD(256, Y0, Y1)
	MOVQ n+40(FP), CX
	MOVQ ostride+8(FP), AX
	CMPB mode+80(FP), $0
	JE   dwss
	CMPB mode+80(FP), $4
	JE   dwsnl
	CMPB unsigned+81(FP), $0
	JNE  dwsu
	DWSPIXELS(RQG16, PACK16C, 352, dwsp3, dwsnext)

dwsu:
	DWSPIXELS(RQG16, PACK16CU, 352, dwsp3u, dwsnext)

dwsnl:
	CMPB unsigned+81(FP), $0
	JNE  dwsnlu
	DWSPIXELS(RQG16NL, PACK16C, 352, dwsp4, dwsnext)

dwsnlu:
	DWSPIXELS(RQG16NL, PACK16CU, 352, dwsp4u, dwsnext)

dwss:
	CMPB unsigned+81(FP), $0
	JNE  dwssu
	DWSPIXELS(RQS16, PACK16, 256, dwsp0, dwsnext)

dwssu:
	DWSPIXELS(RQS16, PACK16U, 256, dwsp0u, dwsnext)

dwsnext:
	ADDQ $16, R14
	ADDQ $16, R8
	ADDQ $320, BX
	ADDQ tstep+72(FP), R11
	DECQ R12
	JNZ  dwsblk
	VZEROUPPER
	RET
