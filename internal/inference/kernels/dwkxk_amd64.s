//go:build amd64

#include "textflag.h"

// func dwKxKAVX512(out, in, w, bias *float32, n, c, sx, rs, kh, kw int, lo, hi float32, ncb int)
// KHxKW depthwise on n output pixels whose whole window is inside the image;
// c (floats per pixel) is a multiple of 8; the first ncb/4 channels (a multiple of 16) are computed; sx and rs are the input steps per output pixel and per
// row in bytes. Channel vectors outside, pixels inside, four pixels at a time
// sharing each weight load; every pixel sums its taps row by row in one
// accumulator starting from the bias, the order dwTaps uses.
TEXT ·dwKxKAVX512(SB), NOSPLIT, $0-96
	MOVQ c+40(FP), R9
	SHLQ $2, R9          // bytes per pixel, also the step between taps' weights
	MOVQ sx+48(FP), R10
	MOVQ rs+56(FP), R13
	LEAQ (R10)(R10*2), DI // three pixel steps
	XORQ R11, R11        // channel byte offset
	VBROADCASTSS lo+80(FP), Z26
	VBROADCASTSS hi+84(FP), Z27
	MOVQ n+32(FP), R8
	TESTQ R8, R8
	JZ dwKxKAVX512_end
dwKxKAVX512_chan:
	MOVQ bias+24(FP), AX
	VMOVUPS (AX)(R11*1), Z25
	MOVQ in+8(FP), AX
	ADDQ R11, AX
	MOVQ out+0(FP), DX
	ADDQ R11, DX
	MOVQ n+32(FP), R8
	CMPQ R8, $4
	JLT dwKxKAVX512_pixel
dwKxKAVX512_quad:
	VMOVAPS Z25, Z0
	VMOVAPS Z25, Z1
	VMOVAPS Z25, Z2
	VMOVAPS Z25, Z3
	MOVQ AX, BX
	MOVQ w+16(FP), R12
	ADDQ R11, R12
	MOVQ kh+64(FP), R14
dwKxKAVX512_qrow:
	MOVQ BX, SI
	MOVQ kw+72(FP), CX
dwKxKAVX512_qtap:
	VMOVUPS (R12), Z5
	VFMADD231PS (SI), Z5, Z0
	VFMADD231PS (SI)(R10*1), Z5, Z1
	VFMADD231PS (SI)(R10*2), Z5, Z2
	VFMADD231PS (SI)(DI*1), Z5, Z3
	ADDQ R9, SI
	ADDQ R9, R12
	DECQ CX
	JNZ dwKxKAVX512_qtap
	ADDQ R13, BX
	DECQ R14
	JNZ dwKxKAVX512_qrow
	VMAXPS Z26, Z0, Z0
	VMAXPS Z26, Z1, Z1
	VMAXPS Z26, Z2, Z2
	VMAXPS Z26, Z3, Z3
	VMINPS Z27, Z0, Z0
	VMINPS Z27, Z1, Z1
	VMINPS Z27, Z2, Z2
	VMINPS Z27, Z3, Z3
	VMOVUPS Z0, (DX)
	VMOVUPS Z1, (DX)(R9*1)
	VMOVUPS Z2, (DX)(R9*2)
	LEAQ (DX)(R9*2), DX
	VMOVUPS Z3, (DX)(R9*1)
	LEAQ (DX)(R9*2), DX
	LEAQ (AX)(R10*4), AX
	SUBQ $4, R8
	CMPQ R8, $4
	JGE dwKxKAVX512_quad
	TESTQ R8, R8
	JZ dwKxKAVX512_next
dwKxKAVX512_pixel:
	VMOVAPS Z25, Z0
	MOVQ AX, BX
	MOVQ w+16(FP), R12
	ADDQ R11, R12
	MOVQ kh+64(FP), R14
dwKxKAVX512_row:
	MOVQ BX, SI
	MOVQ kw+72(FP), CX
dwKxKAVX512_tap:
	VMOVUPS (R12), Z5
	VFMADD231PS (SI), Z5, Z0
	ADDQ R9, SI
	ADDQ R9, R12
	DECQ CX
	JNZ dwKxKAVX512_tap
	ADDQ R13, BX
	DECQ R14
	JNZ dwKxKAVX512_row
	VMAXPS Z26, Z0, Z0
	VMINPS Z27, Z0, Z0
	VMOVUPS Z0, (DX)
	ADDQ R10, AX
	ADDQ R9, DX
	DECQ R8
	JNZ dwKxKAVX512_pixel
dwKxKAVX512_next:
	ADDQ $64, R11
	CMPQ R11, ncb+88(FP)
	JLT dwKxKAVX512_chan
dwKxKAVX512_end:
	VZEROUPPER
	RET

// func dwKxKAVX2(out, in, w, bias *float32, n, c, sx, rs, kh, kw int, lo, hi float32, ncb int)
// KHxKW depthwise on n output pixels whose whole window is inside the image;
// c (floats per pixel) is a multiple of 8; the first ncb/4 channels (a multiple of 8) are computed; sx and rs are the input steps per output pixel and per
// row in bytes. Channel vectors outside, pixels inside, four pixels at a time
// sharing each weight load; every pixel sums its taps row by row in one
// accumulator starting from the bias, the order dwTaps uses.
TEXT ·dwKxKAVX2(SB), NOSPLIT, $0-96
	MOVQ c+40(FP), R9
	SHLQ $2, R9          // bytes per pixel, also the step between taps' weights
	MOVQ sx+48(FP), R10
	MOVQ rs+56(FP), R13
	LEAQ (R10)(R10*2), DI // three pixel steps
	XORQ R11, R11        // channel byte offset
	VBROADCASTSS lo+80(FP), Y9
	VBROADCASTSS hi+84(FP), Y10
	MOVQ n+32(FP), R8
	TESTQ R8, R8
	JZ dwKxKAVX2_end
dwKxKAVX2_chan:
	MOVQ bias+24(FP), AX
	VMOVUPS (AX)(R11*1), Y8
	MOVQ in+8(FP), AX
	ADDQ R11, AX
	MOVQ out+0(FP), DX
	ADDQ R11, DX
	MOVQ n+32(FP), R8
	CMPQ R8, $4
	JLT dwKxKAVX2_pixel
dwKxKAVX2_quad:
	VMOVAPS Y8, Y0
	VMOVAPS Y8, Y1
	VMOVAPS Y8, Y2
	VMOVAPS Y8, Y3
	MOVQ AX, BX
	MOVQ w+16(FP), R12
	ADDQ R11, R12
	MOVQ kh+64(FP), R14
dwKxKAVX2_qrow:
	MOVQ BX, SI
	MOVQ kw+72(FP), CX
dwKxKAVX2_qtap:
	VMOVUPS (R12), Y5
	VFMADD231PS (SI), Y5, Y0
	VFMADD231PS (SI)(R10*1), Y5, Y1
	VFMADD231PS (SI)(R10*2), Y5, Y2
	VFMADD231PS (SI)(DI*1), Y5, Y3
	ADDQ R9, SI
	ADDQ R9, R12
	DECQ CX
	JNZ dwKxKAVX2_qtap
	ADDQ R13, BX
	DECQ R14
	JNZ dwKxKAVX2_qrow
	VMAXPS Y9, Y0, Y0
	VMAXPS Y9, Y1, Y1
	VMAXPS Y9, Y2, Y2
	VMAXPS Y9, Y3, Y3
	VMINPS Y10, Y0, Y0
	VMINPS Y10, Y1, Y1
	VMINPS Y10, Y2, Y2
	VMINPS Y10, Y3, Y3
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, (DX)(R9*1)
	VMOVUPS Y2, (DX)(R9*2)
	LEAQ (DX)(R9*2), DX
	VMOVUPS Y3, (DX)(R9*1)
	LEAQ (DX)(R9*2), DX
	LEAQ (AX)(R10*4), AX
	SUBQ $4, R8
	CMPQ R8, $4
	JGE dwKxKAVX2_quad
	TESTQ R8, R8
	JZ dwKxKAVX2_next
dwKxKAVX2_pixel:
	VMOVAPS Y8, Y0
	MOVQ AX, BX
	MOVQ w+16(FP), R12
	ADDQ R11, R12
	MOVQ kh+64(FP), R14
dwKxKAVX2_row:
	MOVQ BX, SI
	MOVQ kw+72(FP), CX
dwKxKAVX2_tap:
	VMOVUPS (R12), Y5
	VFMADD231PS (SI), Y5, Y0
	ADDQ R9, SI
	ADDQ R9, R12
	DECQ CX
	JNZ dwKxKAVX2_tap
	ADDQ R13, BX
	DECQ R14
	JNZ dwKxKAVX2_row
	VMAXPS Y9, Y0, Y0
	VMINPS Y10, Y0, Y0
	VMOVUPS Y0, (DX)
	ADDQ R10, AX
	ADDQ R9, DX
	DECQ R8
	JNZ dwKxKAVX2_pixel
dwKxKAVX2_next:
	ADDQ $32, R11
	CMPQ R11, ncb+88(FP)
	JLT dwKxKAVX2_chan
dwKxKAVX2_end:
	VZEROUPPER
	RET

