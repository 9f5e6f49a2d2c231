//go:build amd64

#include "textflag.h"

// func dw3x3AVX2(out, in, w, bias *float32, n, c, sx, rs int, lo, hi float32, ncb int)
// 3x3 depthwise on n output pixels whose whole window is inside the image.
// c (floats per pixel) is a multiple of 8; the first ncb/4 channels (a multiple of 8) are computed; sx and rs are the input steps per output pixel and per row in bytes.
// Channel vectors outside, pixels inside: the nine weight vectors stay in registers.
TEXT ·dw3x3AVX2(SB), NOSPLIT, $0-80
	MOVQ c+40(FP), R9
	SHLQ $2, R9          // bytes per pixel
	MOVQ sx+48(FP), R10
	XORQ R11, R11        // channel byte offset
	VBROADCASTSS lo+64(FP), Y4
	VBROADCASTSS hi+68(FP), Y5
	MOVQ n+32(FP), R8
	TESTQ R8, R8
	JZ dw3x3AVX2_end
dw3x3AVX2_chan:
	MOVQ w+16(FP), R12
	ADDQ R11, R12
	VMOVUPS (R12), Y7
	VMOVUPS (R12)(R9*1), Y8
	VMOVUPS (R12)(R9*2), Y9
	LEAQ (R12)(R9*2), R12
	ADDQ R9, R12
	VMOVUPS (R12), Y10
	VMOVUPS (R12)(R9*1), Y11
	VMOVUPS (R12)(R9*2), Y12
	LEAQ (R12)(R9*2), R12
	ADDQ R9, R12
	VMOVUPS (R12), Y13
	VMOVUPS (R12)(R9*1), Y14
	VMOVUPS (R12)(R9*2), Y15
	MOVQ bias+24(FP), R13
	VMOVUPS (R13)(R11*1), Y6
	MOVQ in+8(FP), AX
	ADDQ R11, AX
	MOVQ rs+56(FP), R13
	LEAQ (AX)(R13*1), BX
	LEAQ (BX)(R13*1), CX
	MOVQ out+0(FP), DX
	ADDQ R11, DX
	MOVQ n+32(FP), R8
dw3x3AVX2_pixel:
	VMOVAPS Y6, Y0
	VFMADD231PS (AX), Y7, Y0
	VMULPS (AX)(R9*1), Y8, Y1
	VMULPS (AX)(R9*2), Y9, Y2
	VFMADD231PS (BX), Y10, Y0
	VFMADD231PS (BX)(R9*1), Y11, Y1
	VFMADD231PS (BX)(R9*2), Y12, Y2
	VFMADD231PS (CX), Y13, Y0
	VFMADD231PS (CX)(R9*1), Y14, Y1
	VFMADD231PS (CX)(R9*2), Y15, Y2
	VADDPS Y1, Y0, Y0
	VADDPS Y2, Y0, Y0
	VMAXPS Y4, Y0, Y0
	VMINPS Y5, Y0, Y0
	VMOVUPS Y0, (DX)
	ADDQ R10, AX
	ADDQ R10, BX
	ADDQ R10, CX
	ADDQ R9, DX
	DECQ R8
	JNZ dw3x3AVX2_pixel
	ADDQ $32, R11
	CMPQ R11, ncb+72(FP)
	JLT dw3x3AVX2_chan
dw3x3AVX2_end:
	VZEROUPPER
	RET

// func dw3x3AVX512(out, in, w, bias *float32, n, c, sx, rs int, lo, hi float32, ncb int)
// 3x3 depthwise on n output pixels whose whole window is inside the image.
// c (floats per pixel) is a multiple of 8; the first ncb/4 channels (a multiple of 16) are computed; sx and rs are the input steps per output pixel and per row in bytes.
// Channel vectors outside, pixels inside: the nine weight vectors stay in registers.
TEXT ·dw3x3AVX512(SB), NOSPLIT, $0-80
	MOVQ c+40(FP), R9
	SHLQ $2, R9          // bytes per pixel
	MOVQ sx+48(FP), R10
	XORQ R11, R11        // channel byte offset
	VBROADCASTSS lo+64(FP), Z26
	VBROADCASTSS hi+68(FP), Z27
	MOVQ n+32(FP), R8
	TESTQ R8, R8
	JZ dw3x3AVX512_end
dw3x3AVX512_chan:
	MOVQ w+16(FP), R12
	ADDQ R11, R12
	VMOVUPS (R12), Z16
	VMOVUPS (R12)(R9*1), Z17
	VMOVUPS (R12)(R9*2), Z18
	LEAQ (R12)(R9*2), R12
	ADDQ R9, R12
	VMOVUPS (R12), Z19
	VMOVUPS (R12)(R9*1), Z20
	VMOVUPS (R12)(R9*2), Z21
	LEAQ (R12)(R9*2), R12
	ADDQ R9, R12
	VMOVUPS (R12), Z22
	VMOVUPS (R12)(R9*1), Z23
	VMOVUPS (R12)(R9*2), Z24
	MOVQ bias+24(FP), R13
	VMOVUPS (R13)(R11*1), Z25
	MOVQ in+8(FP), AX
	ADDQ R11, AX
	MOVQ rs+56(FP), R13
	LEAQ (AX)(R13*1), BX
	LEAQ (BX)(R13*1), CX
	MOVQ out+0(FP), DX
	ADDQ R11, DX
	MOVQ n+32(FP), R8
dw3x3AVX512_pixel:
	VMOVAPS Z25, Z0
	VFMADD231PS (AX), Z16, Z0
	VMULPS (AX)(R9*1), Z17, Z1
	VMULPS (AX)(R9*2), Z18, Z2
	VFMADD231PS (BX), Z19, Z0
	VFMADD231PS (BX)(R9*1), Z20, Z1
	VFMADD231PS (BX)(R9*2), Z21, Z2
	VFMADD231PS (CX), Z22, Z0
	VFMADD231PS (CX)(R9*1), Z23, Z1
	VFMADD231PS (CX)(R9*2), Z24, Z2
	VADDPS Z1, Z0, Z0
	VADDPS Z2, Z0, Z0
	VMAXPS Z26, Z0, Z0
	VMINPS Z27, Z0, Z0
	VMOVUPS Z0, (DX)
	ADDQ R10, AX
	ADDQ R10, BX
	ADDQ R10, CX
	ADDQ R9, DX
	DECQ R8
	JNZ dw3x3AVX512_pixel
	ADDQ $64, R11
	CMPQ R11, ncb+72(FP)
	JLT dw3x3AVX512_chan
dw3x3AVX512_end:
	VZEROUPPER
	RET
