//go:build amd64

#include "textflag.h"

// The int8 3x3 depthwise convolution on rows in T4 form (int8t4.go): per
// group of four pixels and per channel c, one dword holds the four
// pixels' bytes of channel c (as x+128). One VPDPBUSD then multiplies
// three horizontal taps of 16 channels at once: a dword of pixels
// (x..x+3) times the weights (w0, w1, w2, 0) is output x's row sum, times
// (0, w0, w1, w2) output x+1's, and VPSHRDD by 16 bits of two
// neighbouring groups gives the dwords of pixels x+2..x+5. Four outputs of
// 16 channels take 12 VPDPBUSD and 3 VPSHRDD (stride 1; 12 and 6 at
// stride 2) where the 64-channel kernel took 36 VPDPBUSD per 16 channels'
// four outputs.
//
// Registers: Z0..Z3 the accumulators of the quad's four outputs, Z4..Z7
// the activation dwords, Z8/Z9 scratch, Z10..Z15 the group's weights (row
// r: (w0,w1,w2,0) in Z10+2r, (0,w0,w1,w2) in Z11+2r), Z19 the bias,
// Z20..Z24 the tabF rescale (mult even, mult odd, constant even, constant
// odd, the int32 shifts tot-32), Z25 t4High, Z26 t4PackPerm, Z27 2^31 in every qword,
// Z28/Z29 the upper/lower clamp.

// T4ROW1 adds one kernel row's products at stride 1: the group at (r)
// and the next one R10 bytes on.
#define T4ROW1(r, wa, wb) \
	VMOVDQU32 (r), Z4 \
	VPSHRDD   $16, (r)(R10*1), Z4, Z5 \
	VPDPBUSD  wa, Z4, Z0 \
	VPDPBUSD  wb, Z4, Z1 \
	VPDPBUSD  wa, Z5, Z2 \
	VPDPBUSD  wb, Z5, Z3

// T4ROW2 adds one kernel row's products at stride 2: outputs 2j read the
// groups at (r) and R10 on, outputs 2j+1 the halves between them.
#define T4ROW2(r, wa) \
	VMOVDQU32 (r), Z4 \
	VMOVDQU32 (r)(R10*1), Z6 \
	VPSHRDD   $16, Z6, Z4, Z5 \
	VPSHRDD   $16, (r)(R10*2), Z6, Z7 \
	VPDPBUSD  wa, Z4, Z0 \
	VPDPBUSD  wa, Z5, Z1 \
	VPDPBUSD  wa, Z6, Z2 \
	VPDPBUSD  wa, Z7, Z3

// T4RQS and T4RQD are RQFASTS512 and RQFASTD512 (int8q512_amd64.s) with
// the table block in registers and the sums' high dwords gathered by one
// VPERMT2D (Z25 = t4High) and shifted by the int32 tot-32 (Z24), as
// RQF16 (int8rqf_amd64.s) does.
#define T4RQS(acc) \
	VPMULDQ   Z20, acc, Z8 \
	VPSHUFD   $0xf5, acc, Z9 \
	VPMULDQ   Z21, Z9, Z9 \
	VPADDQ    Z22, Z8, Z8 \
	VPADDQ    Z23, Z9, Z9 \
	VPERMT2D  Z9, Z25, Z8 \
	VPSRAVD   Z24, Z8, acc

#define T4RQD(acc) \
	VPMULDQ   Z20, acc, Z8 \
	VPSHUFD   $0xf5, acc, Z9 \
	VPMULDQ   Z21, Z9, Z9 \
	VPMOVQ2M  Z8, K5 \
	VPMOVQ2M  Z9, K6 \
	VPADDQ    Z22, Z8, Z8 \
	VPADDQ    Z23, Z9, Z9 \
	VPSUBQ    Z27, Z8, K5, Z8 \
	VPSUBQ    Z27, Z9, K6, Z9 \
	VPERMT2D  Z9, Z25, Z8 \
	VPSRAVD   Z24, Z8, acc

// T4RQQ is T4RQD in the quad form (t4Quad in int8t4.go): the sums taken
// four times, the products' high dwords gathered, plus 4c >> 32 (Z22),
// less 2 where the sum is negative (Z31 = 2 in every dword), shifted by
// tot-30 (Z24).
#define T4RQQ(acc) \
	VPSLLD    $2, acc, Z9 \
	VPMULDQ   Z20, Z9, Z8 \
	VPSHUFD   $0xf5, Z9, Z9 \
	VPMULDQ   Z21, Z9, Z9 \
	VPERMT2D  Z9, Z25, Z8 \
	VPADDD    Z22, Z8, Z8 \
	VPMOVD2M  acc, K5 \
	VPSUBD    Z31, Z8, K5, Z8 \
	VPSRAVD   Z24, Z8, acc

// T4RQH is T4RQS adding the rounding constants' high dwords (Z22, tabF's
// word 112) after the gather (t4Hi in int8t4.go; RQF16 in
// int8rqf_amd64.s).
#define T4RQH(acc) \
	VPMULDQ   Z20, acc, Z8 \
	VPSHUFD   $0xf5, acc, Z9 \
	VPMULDQ   Z21, Z9, Z9 \
	VPERMT2D  Z9, Z25, Z8 \
	VPADDD    Z22, Z8, Z8 \
	VPSRAVD   Z24, Z8, acc

#define T4CLAMP(acc) \
	VPMAXSD Z29, acc, acc \
	VPMINSD Z28, acc, acc

// func dw3x3T4(out *int8, ostride int, t0, t1, t2 *uint8, n, groups, gstep int, w *int8, tab *int32, mode uint8, lo, hi int32, rowstep, orow, nrows int)
// nrows rows of n outputs of groups*16 channels: t0..t2 point at the
// first output's three window rows in T4 form (gstep bytes per group of
// four pixels), row r's rowstep*r bytes further on; outputs ostride bytes
// apart, rows orow. The channel groups are the outer loop, so each
// group's weights and rescale are loaded once for all rows. w holds per 16 channels 3 rows of the two
// weight vectors (384 bytes), tab the tabF rescale of the bias folded
// for x+128 inputs. mode: bit 0 double rounding, bit 2 no clamp (the
// packs saturate to the whole range), bit 3 unsigned packs (outputs
// x+128), bit 4 stride 2, bit 5 the double rounding's quad form (T4RQQ),
// bit 6 the single rounding's constants added after the gather (T4RQH).
TEXT ·dw3x3T4(SB), NOSPLIT, $0-120
	MOVL         lo+84(FP), AX
	VPBROADCASTD AX, Z29
	MOVL         hi+88(FP), AX
	VPBROADCASTD AX, Z28
	MOVQ         $0x80000000, AX
	VPBROADCASTQ AX, Z27
	VMOVDQU64    t4PackPerm<>(SB), Z26
	VMOVDQU64    t4High<>(SB), Z25
	MOVBQZX      mode+80(FP), DX
	MOVQ         ostride+8(FP), R13
	MOVQ         gstep+56(FP), R10
	MOVQ         tab+72(FP), R11
	MOVQ         w+64(FP), CX
	MOVL         $2, AX
	VPBROADCASTD AX, Z31
	MOVL         $1, AX
	VPBROADCASTD AX, Z30
	XORQ         BX, BX

t4group:
	VMOVDQU32 (R11), Z19
	VMOVDQU32 64(R11), Z20
	VMOVDQU32 68(R11), Z21
	VMOVDQU32 128(R11), Z22
	VMOVDQU32 192(R11), Z23
	VMOVDQU32 384(R11), Z24
	TESTQ     $64, DX
	JZ        t4quadtab
	VMOVDQU32 448(R11), Z22

t4quadtab:
	TESTQ     $32, DX
	JZ        t4weights
	// The quad form: 4c >> 32 = 4*(c >> 32) + 1 and the shifts tot-30.
	VMOVDQU32 448(R11), Z22
	VPSLLD    $2, Z22, Z22
	VPADDD    Z30, Z22, Z22
	VPADDD    Z31, Z24, Z24

t4weights:
	VMOVDQU32 (CX), Z10
	VMOVDQU32 64(CX), Z11
	VMOVDQU32 128(CX), Z12
	VMOVDQU32 192(CX), Z13
	VMOVDQU32 256(CX), Z14
	VMOVDQU32 320(CX), Z15
	XORQ      R14, R14

t4row:
	MOVQ      R14, AX
	IMULQ     rowstep+96(FP), AX
	MOVQ      t0+16(FP), SI
	ADDQ      AX, SI
	LEAQ      (SI)(BX*4), SI
	MOVQ      t1+24(FP), R9
	ADDQ      AX, R9
	LEAQ      (R9)(BX*4), R9
	MOVQ      t2+32(FP), R12
	ADDQ      AX, R12
	LEAQ      (R12)(BX*4), R12
	MOVQ      R14, AX
	IMULQ     orow+104(FP), AX
	MOVQ      out+0(FP), DI
	ADDQ      AX, DI
	ADDQ      BX, DI
	MOVQ      n+40(FP), R8

t4quad:
	VMOVDQA32 Z19, Z0
	VMOVDQA32 Z19, Z1
	VMOVDQA32 Z19, Z2
	VMOVDQA32 Z19, Z3
	TESTQ     $16, DX
	JNZ       t4s2
	T4ROW1(SI, Z10, Z11)
	T4ROW1(R9, Z12, Z13)
	T4ROW1(R12, Z14, Z15)
	MOVQ      R10, AX
	JMP       t4rq

t4s2:
	T4ROW2(SI, Z10)
	T4ROW2(R9, Z12)
	T4ROW2(R12, Z14)
	LEAQ      (R10)(R10*1), AX

t4rq:
	ADDQ  AX, SI
	ADDQ  AX, R9
	ADDQ  AX, R12
	TESTQ $32, DX
	JNZ   t4quad4
	TESTQ $64, DX
	JNZ   t4hi4
	TESTQ $1, DX
	JNZ   t4double
	T4RQS(Z0)
	T4RQS(Z1)
	T4RQS(Z2)
	T4RQS(Z3)
	JMP   t4clamp

t4hi4:
	T4RQH(Z0)
	T4RQH(Z1)
	T4RQH(Z2)
	T4RQH(Z3)
	JMP t4clamp

t4quad4:
	T4RQQ(Z0)
	T4RQQ(Z1)
	T4RQQ(Z2)
	T4RQQ(Z3)
	JMP t4clamp

t4double:
	T4RQD(Z0)
	T4RQD(Z1)
	T4RQD(Z2)
	T4RQD(Z3)

t4clamp:
	TESTQ $4, DX
	JNZ   t4pack
	T4CLAMP(Z0)
	T4CLAMP(Z1)
	T4CLAMP(Z2)
	T4CLAMP(Z3)

t4pack:
	VPACKSSDW Z1, Z0, Z0
	VPACKSSDW Z3, Z2, Z2
	TESTQ     $8, DX
	JNZ       t4unsigned
	VPACKSSWB Z2, Z0, Z0
	JMP       t4perm

t4unsigned:
	VPACKUSWB Z2, Z0, Z0

t4perm:
	// Byte 16L+4k+i is output k's channel 4L+i; in output order:
	VPERMB Z0, Z26, Z0
	CMPQ   R8, $4
	JLT    t4tail
	VMOVDQU       X0, (DI)
	VEXTRACTI32X4 $1, Z0, (DI)(R13*1)
	VEXTRACTI32X4 $2, Z0, (DI)(R13*2)
	LEAQ          (DI)(R13*2), AX
	VEXTRACTI32X4 $3, Z0, (AX)(R13*1)
	LEAQ          (AX)(R13*2), DI
	SUBQ          $4, R8
	JNZ           t4quad
	JMP           t4rownext

t4tail:
	// The last one to three outputs.
	VMOVDQU       X0, (DI)
	CMPQ          R8, $2
	JLT           t4rownext
	VEXTRACTI32X4 $1, Z0, (DI)(R13*1)
	CMPQ          R8, $3
	JLT           t4rownext
	VEXTRACTI32X4 $2, Z0, (DI)(R13*2)

t4rownext:
	INCQ R14
	CMPQ R14, nrows+112(FP)
	JLT  t4row

t4next:
	ADDQ $512, R11
	ADDQ $384, CX
	ADDQ $16, BX
	MOVQ groups+48(FP), AX
	SHLQ $4, AX
	CMPQ BX, AX
	JLT  t4group
	VZEROUPPER
	RET

// func t4Pack(dst *uint8, src *int8, quads, groups, c int)
// Writes quads groups of four pixels of src (c = 16*groups bytes each)
// into dst in T4 form: per quad and 16 channels, 64 bytes whose dword j
// holds channel j of the four pixels, each byte XORed with 0x80.
TEXT ·t4Pack(SB), NOSPLIT, $0-40
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         quads+16(FP), R8
	MOVQ         c+32(FP), R13
	LEAQ         (R13)(R13*2), R12
	VMOVDQU64    t4Trans<>(SB), Z26
	MOVL         $0x80808080, AX
	VPBROADCASTD AX, Z27

t4pquad:
	MOVQ groups+24(FP), CX
	MOVQ SI, AX

t4pgroup:
	VMOVDQU      (AX), X0
	VINSERTI32X4 $1, (AX)(R13*1), Z0, Z0
	VINSERTI32X4 $2, (AX)(R13*2), Z0, Z0
	VINSERTI32X4 $3, (AX)(R12*1), Z0, Z0
	VPERMB       Z0, Z26, Z0
	VPXORD       Z27, Z0, Z0
	VMOVDQU64    Z0, (DI)
	ADDQ         $16, AX
	ADDQ         $64, DI
	DECQ         CX
	JNZ          t4pgroup
	LEAQ         (SI)(R13*4), SI
	DECQ         R8
	JNZ          t4pquad
	VZEROUPPER
	RET

// RQT4U16(acc, off) rescales the 16 sums in acc in place with the tabF
// block at off(R11) (an unsigned-output Requant), clamped to Z28..Z29
// (Z21, Z22 scratch, Z27 = t4High): each dword then holds one byte. As
// RQF16 (int8rqf_amd64.s), it adds the rounding constants' high dwords
// after the gather, so every channel must shift by more than 32.
#define RQT4U16(acc, off) \
	RQT4U16NC(acc, off) \
	VPMAXSD   Z28, acc, acc \
	VPMINSD   Z29, acc, acc

// RQT4U16NC is RQT4U16 without the clamp (T4PACK's packs saturate to
// 0..255 instead).
#define RQT4U16NC(acc, off) \
	VPMULDQ   off+64(R11), acc, Z21 \
	VPSHUFD   $0xf5, acc, Z22 \
	VPMULDQ   off+68(R11), Z22, Z22 \
	VPERMT2D  Z22, Z27, Z21 \
	VPADDD    off+448(R11), Z21, Z21 \
	VPSRAVD   off+384(R11), Z21, acc

// RQT4U16O and RQT4U16NCO are RQT4U16 and RQT4U16NC adding the rounding
// constants as 64-bit sums before the high dwords are gathered, for a
// table where a channel's total shift is 32 (RQF16NCO in
// int8rqf_amd64.s).
#define RQT4U16O(acc, off) \
	RQT4U16NCO(acc, off) \
	VPMAXSD   Z28, acc, acc \
	VPMINSD   Z29, acc, acc

#define RQT4U16NCO(acc, off) \
	VPMULDQ   off+64(R11), acc, Z21 \
	VPSHUFD   $0xf5, acc, Z22 \
	VPMULDQ   off+68(R11), Z22, Z22 \
	VPADDQ    off+128(R11), Z21, Z21 \
	VPADDQ    off+192(R11), Z22, Z22 \
	VPERMT2D  Z22, Z27, Z21 \
	VPSRAVD   off+384(R11), Z21, acc

// T4PACK(p0, p1, p2, p3) is T4JOIN for sums not clamped yet when the
// clamp is all of 0..255: two VPACKSSDW and a VPACKUSWB saturate them
// and one VPERMB (Z26 = t4JoinPerm) puts the bytes in T4 form.
#define T4PACK(p0, p1, p2, p3) \
	VPACKSSDW p1, p0, p0 \
	VPACKSSDW p3, p2, p2 \
	VPACKUSWB p2, p0, p0 \
	VPERMB    p0, Z26, p0

// T4JOIN(p0, p1, p2, p3) puts four pixels' 16 rescaled channels (one byte
// a dword) into p0 in T4 form: dword c = p0.c | p1.c<<8 | p2.c<<16 | p3.c<<24.
#define T4JOIN(p0, p1, p2, p3) \
	VPSLLD     $8, p1, p1 \
	VPSLLD     $16, p2, p2 \
	VPSLLD     $24, p3, p3 \
	VPTERNLOGD $0xfe, p2, p1, p0 \
	VPORD      p3, p0, p0

// func gemmI8x8x32RQT4(k4 int, a *uint8, lda int, b *int8, out *uint8, gb int, tab *int32, lo, hi int32, maskA, maskB uint64, mode int)
// gemmI8x8x32RQF's 8-row tile with the rows written in T4 form: rows 0-3
// are the four pixels of the group at out, rows 4-7 those of the group gb
// bytes further; the panel's first 16 channels go to the groups' first 64
// bytes, the next 16 (when mode bit 0 is set) to the 64 after. Mode bit 1
// says the clamp is all of 0..255 (then packs saturate in its place). tab is an
// unsigned-output rescale (x+128, clamped to lo..hi within 0..255), so
// the bytes are the T4 kernel's. Only the bytes under maskA and maskB are
// stored (pixel j's bytes are bits j, j+4, ... of its group's mask).
TEXT ·gemmI8x8x32RQT4(SB), NOSPLIT, $0-88
	MOVQ k4+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), DX
	MOVQ b+24(FP), DI
	LEAQ (SI)(DX*2), R10
	LEAQ (R10)(DX*2), R11
	LEAQ (R11)(DX*2), R12
	MOVQ tab+48(FP), AX
	VMOVDQU32 (AX), Z0
	VMOVDQU32 512(AX), Z1
	VMOVDQA32 Z0, Z2
	VMOVDQA32 Z1, Z3
	VMOVDQA32 Z0, Z4
	VMOVDQA32 Z1, Z5
	VMOVDQA32 Z0, Z6
	VMOVDQA32 Z1, Z7
	VMOVDQA32 Z0, Z8
	VMOVDQA32 Z1, Z9
	VMOVDQA32 Z0, Z10
	VMOVDQA32 Z1, Z11
	VMOVDQA32 Z0, Z12
	VMOVDQA32 Z1, Z13
	VMOVDQA32 Z0, Z14
	VMOVDQA32 Z1, Z15

rqt4loop:
	VMOVDQU32 (DI), Z16
	VMOVDQU32 64(DI), Z17
	VPBROADCASTD (SI), Z18
	VPBROADCASTD (SI)(DX*1), Z19
	VPBROADCASTD (R10), Z20
	VPBROADCASTD (R10)(DX*1), Z21
	VPBROADCASTD (R11), Z22
	VPBROADCASTD (R11)(DX*1), Z23
	VPBROADCASTD (R12), Z24
	VPBROADCASTD (R12)(DX*1), Z25
	VPDPBUSD Z16, Z18, Z0
	VPDPBUSD Z17, Z18, Z1
	VPDPBUSD Z16, Z19, Z2
	VPDPBUSD Z17, Z19, Z3
	VPDPBUSD Z16, Z20, Z4
	VPDPBUSD Z17, Z20, Z5
	VPDPBUSD Z16, Z21, Z6
	VPDPBUSD Z17, Z21, Z7
	VPDPBUSD Z16, Z22, Z8
	VPDPBUSD Z17, Z22, Z9
	VPDPBUSD Z16, Z23, Z10
	VPDPBUSD Z17, Z23, Z11
	VPDPBUSD Z16, Z24, Z12
	VPDPBUSD Z17, Z24, Z13
	VPDPBUSD Z16, Z25, Z14
	VPDPBUSD Z17, Z25, Z15
	ADDQ $4, SI
	ADDQ $4, R10
	ADDQ $4, R11
	ADDQ $4, R12
	ADDQ $128, DI
	DECQ CX
	JNZ  rqt4loop

	MOVL         lo+56(FP), AX
	VPBROADCASTD AX, Z28
	MOVL         hi+60(FP), AX
	VPBROADCASTD AX, Z29
	VMOVDQU64    t4High<>(SB), Z27
	MOVQ         maskA+64(FP), AX
	KMOVQ        AX, K2
	MOVQ         maskB+72(FP), AX
	KMOVQ        AX, K3
	MOVQ         tab+48(FP), R11
	MOVQ         out+32(FP), R8
	MOVQ         gb+40(FP), R9
	MOVQ         mode+80(FP), BX
	// The O forms unless every channel of the panel's blocks shifts by
	// more than 32 (RQFHI in int8rqf_amd64.s).
	VMOVDQU32    384(R11), Z21
	TESTQ        $1, BX
	JZ           rqt4one
	VPMINUD      896(R11), Z21, Z21

rqt4one:
	VPTESTNMD    Z21, Z21, K1
	KORTESTW     K1, K1
	JNZ          rqt4old
	TESTQ        $2, BX
	JNZ          rqt4pack
	RQT4U16(Z0, 0)
	RQT4U16(Z2, 0)
	RQT4U16(Z4, 0)
	RQT4U16(Z6, 0)
	T4JOIN(Z0, Z2, Z4, Z6)
	VMOVDQU8     Z0, K2, (R8)
	RQT4U16(Z8, 0)
	RQT4U16(Z10, 0)
	RQT4U16(Z12, 0)
	RQT4U16(Z14, 0)
	T4JOIN(Z8, Z10, Z12, Z14)
	VMOVDQU8     Z8, K3, (R8)(R9*1)
	TESTQ        $1, BX
	JZ           rqt4done
	RQT4U16(Z1, 512)
	RQT4U16(Z3, 512)
	RQT4U16(Z5, 512)
	RQT4U16(Z7, 512)
	T4JOIN(Z1, Z3, Z5, Z7)
	VMOVDQU8     Z1, K2, 64(R8)
	RQT4U16(Z9, 512)
	RQT4U16(Z11, 512)
	RQT4U16(Z13, 512)
	RQT4U16(Z15, 512)
	T4JOIN(Z9, Z11, Z13, Z15)
	VMOVDQU8     Z9, K3, 64(R8)(R9*1)

	JMP          rqt4done

rqt4pack:
	VMOVDQU64    t4JoinPerm<>(SB), Z26
	RQT4U16NC(Z0, 0)
	RQT4U16NC(Z2, 0)
	RQT4U16NC(Z4, 0)
	RQT4U16NC(Z6, 0)
	T4PACK(Z0, Z2, Z4, Z6)
	VMOVDQU8     Z0, K2, (R8)
	RQT4U16NC(Z8, 0)
	RQT4U16NC(Z10, 0)
	RQT4U16NC(Z12, 0)
	RQT4U16NC(Z14, 0)
	T4PACK(Z8, Z10, Z12, Z14)
	VMOVDQU8     Z8, K3, (R8)(R9*1)
	TESTQ        $1, BX
	JZ           rqt4done
	RQT4U16NC(Z1, 512)
	RQT4U16NC(Z3, 512)
	RQT4U16NC(Z5, 512)
	RQT4U16NC(Z7, 512)
	T4PACK(Z1, Z3, Z5, Z7)
	VMOVDQU8     Z1, K2, 64(R8)
	RQT4U16NC(Z9, 512)
	RQT4U16NC(Z11, 512)
	RQT4U16NC(Z13, 512)
	RQT4U16NC(Z15, 512)
	T4PACK(Z9, Z11, Z13, Z15)
	VMOVDQU8     Z9, K3, 64(R8)(R9*1)

rqt4done:
	VZEROUPPER
	RET

rqt4old:
	TESTQ        $2, BX
	JNZ          rqt4packo
	RQT4U16O(Z0, 0)
	RQT4U16O(Z2, 0)
	RQT4U16O(Z4, 0)
	RQT4U16O(Z6, 0)
	T4JOIN(Z0, Z2, Z4, Z6)
	VMOVDQU8     Z0, K2, (R8)
	RQT4U16O(Z8, 0)
	RQT4U16O(Z10, 0)
	RQT4U16O(Z12, 0)
	RQT4U16O(Z14, 0)
	T4JOIN(Z8, Z10, Z12, Z14)
	VMOVDQU8     Z8, K3, (R8)(R9*1)
	TESTQ        $1, BX
	JZ           rqt4done
	RQT4U16O(Z1, 512)
	RQT4U16O(Z3, 512)
	RQT4U16O(Z5, 512)
	RQT4U16O(Z7, 512)
	T4JOIN(Z1, Z3, Z5, Z7)
	VMOVDQU8     Z1, K2, 64(R8)
	RQT4U16O(Z9, 512)
	RQT4U16O(Z11, 512)
	RQT4U16O(Z13, 512)
	RQT4U16O(Z15, 512)
	T4JOIN(Z9, Z11, Z13, Z15)
	VMOVDQU8     Z9, K3, 64(R8)(R9*1)

	JMP          rqt4done

rqt4packo:
	VMOVDQU64    t4JoinPerm<>(SB), Z26
	RQT4U16NCO(Z0, 0)
	RQT4U16NCO(Z2, 0)
	RQT4U16NCO(Z4, 0)
	RQT4U16NCO(Z6, 0)
	T4PACK(Z0, Z2, Z4, Z6)
	VMOVDQU8     Z0, K2, (R8)
	RQT4U16NCO(Z8, 0)
	RQT4U16NCO(Z10, 0)
	RQT4U16NCO(Z12, 0)
	RQT4U16NCO(Z14, 0)
	T4PACK(Z8, Z10, Z12, Z14)
	VMOVDQU8     Z8, K3, (R8)(R9*1)
	TESTQ        $1, BX
	JZ           rqt4done
	RQT4U16NCO(Z1, 512)
	RQT4U16NCO(Z3, 512)
	RQT4U16NCO(Z5, 512)
	RQT4U16NCO(Z7, 512)
	T4PACK(Z1, Z3, Z5, Z7)
	VMOVDQU8     Z1, K2, 64(R8)
	RQT4U16NCO(Z9, 512)
	RQT4U16NCO(Z11, 512)
	RQT4U16NCO(Z13, 512)
	RQT4U16NCO(Z15, 512)
	T4PACK(Z9, Z11, Z13, Z15)
	VMOVDQU8     Z9, K3, 64(R8)(R9*1)
	JMP          rqt4done


// t4PackPerm puts the packed quad (per 16-byte lane L, byte 4k+i is output
// k's channel 4L+i) in output order: byte 16k+4L+i takes 16L+4k+i.
DATA t4PackPerm<>+0(SB)/8, $0x1312111003020100
DATA t4PackPerm<>+8(SB)/8, $0x3332313023222120
DATA t4PackPerm<>+16(SB)/8, $0x1716151407060504
DATA t4PackPerm<>+24(SB)/8, $0x3736353427262524
DATA t4PackPerm<>+32(SB)/8, $0x1b1a19180b0a0908
DATA t4PackPerm<>+40(SB)/8, $0x3b3a39382b2a2928
DATA t4PackPerm<>+48(SB)/8, $0x1f1e1d1c0f0e0d0c
DATA t4PackPerm<>+56(SB)/8, $0x3f3e3d3c2f2e2d2c
GLOBL t4PackPerm<>(SB), RODATA|NOPTR, $64

// t4Trans gathers four pixels' 16 channels (pixel j in lane j) into
// dwords: byte 4c+j takes byte 16j+c.
DATA t4Trans<>+0(SB)/8, $0x3121110130201000
DATA t4Trans<>+8(SB)/8, $0x3323130332221202
DATA t4Trans<>+16(SB)/8, $0x3525150534241404
DATA t4Trans<>+24(SB)/8, $0x3727170736261606
DATA t4Trans<>+32(SB)/8, $0x3929190938281808
DATA t4Trans<>+40(SB)/8, $0x3b2b1b0b3a2a1a0a
DATA t4Trans<>+48(SB)/8, $0x3d2d1d0d3c2c1c0c
DATA t4Trans<>+56(SB)/8, $0x3f2f1f0f3e2e1e0e
GLOBL t4Trans<>(SB), RODATA|NOPTR, $64

// t4JoinPerm puts VPACKUSWB(VPACKSSDW(p0, p1), VPACKSSDW(p2, p3)) (per
// 16-byte lane L, byte 4j+i is pixel j's channel 4L+i) in T4 form: byte
// 4c+j takes pixel j's channel c.
DATA t4JoinPerm<>+0(SB)/8, $0x0d0905010c080400
DATA t4JoinPerm<>+8(SB)/8, $0x0f0b07030e0a0602
DATA t4JoinPerm<>+16(SB)/8, $0x1d1915111c181410
DATA t4JoinPerm<>+24(SB)/8, $0x1f1b17131e1a1612
DATA t4JoinPerm<>+32(SB)/8, $0x2d2925212c282420
DATA t4JoinPerm<>+40(SB)/8, $0x2f2b27232e2a2622
DATA t4JoinPerm<>+48(SB)/8, $0x3d3935313c383430
DATA t4JoinPerm<>+56(SB)/8, $0x3f3b37333e3a3632
GLOBL t4JoinPerm<>(SB), RODATA|NOPTR, $64

// t4High is rqfHigh (int8rqf_amd64.s): the VPERMT2D index of the even and
// the odd channels' high dwords in channel order.
DATA t4High<>+0(SB)/8, $0x0000001100000001
DATA t4High<>+8(SB)/8, $0x0000001300000003
DATA t4High<>+16(SB)/8, $0x0000001500000005
DATA t4High<>+24(SB)/8, $0x0000001700000007
DATA t4High<>+32(SB)/8, $0x0000001900000009
DATA t4High<>+40(SB)/8, $0x0000001b0000000b
DATA t4High<>+48(SB)/8, $0x0000001d0000000d
DATA t4High<>+56(SB)/8, $0x0000001f0000000f
GLOBL t4High<>(SB), RODATA|NOPTR, $64
