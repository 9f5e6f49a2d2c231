//go:build amd64

#include "textflag.h"

// func dw3x3AVX2(out, in, w, bias *float32, n, c, sx, rs int, lo, hi float32)
// 3x3 depthwise on n output pixels whose whole window is inside the image;
// c is a multiple of 8; sx and rs are the input steps per output pixel and per row in bytes.
TEXT ·dw3x3AVX2(SB), NOSPLIT, $0-72
	MOVQ out+0(FP), R9
	MOVQ in+8(FP), R12
	MOVQ n+32(FP), R13
	MOVQ c+40(FP), R10
	SHLQ $2, R10
	VBROADCASTSS lo+64(FP), Y14
	VBROADCASTSS hi+68(FP), Y15
	TESTQ R13, R13
	JZ dw3x3AVX2_end
dw3x3AVX2_pixel:
	MOVQ R12, AX
	MOVQ rs+56(FP), BX
	ADDQ AX, BX
	MOVQ rs+56(FP), CX
	ADDQ BX, CX
	MOVQ w+16(FP), DX
	LEAQ (DX)(R10*2), SI
	ADDQ R10, SI
	LEAQ (SI)(R10*2), DI
	ADDQ R10, DI
	MOVQ bias+24(FP), R8
	MOVQ R10, R11
dw3x3AVX2_chan:
	VMOVUPS (R8), Y0
	VMOVUPS (AX), Y3
	VMULPS (DX), Y3, Y1
	VMOVUPS (BX), Y4
	VMULPS (SI), Y4, Y2
	VMOVUPS (CX), Y5
	VFMADD231PS (DI), Y5, Y0
	VMOVUPS (AX)(R10*1), Y6
	VFMADD231PS (DX)(R10*1), Y6, Y1
	VMOVUPS (AX)(R10*2), Y9
	VFMADD231PS (DX)(R10*2), Y9, Y1
	VMOVUPS (BX)(R10*1), Y7
	VFMADD231PS (SI)(R10*1), Y7, Y2
	VMOVUPS (BX)(R10*2), Y10
	VFMADD231PS (SI)(R10*2), Y10, Y2
	VMOVUPS (CX)(R10*1), Y8
	VFMADD231PS (DI)(R10*1), Y8, Y0
	VMOVUPS (CX)(R10*2), Y11
	VFMADD231PS (DI)(R10*2), Y11, Y0
	VADDPS Y1, Y0, Y0
	VADDPS Y2, Y0, Y0
	VMAXPS Y14, Y0, Y0
	VMINPS Y15, Y0, Y0
	VMOVUPS Y0, (R9)
	ADDQ $32, AX
	ADDQ $32, BX
	ADDQ $32, CX
	ADDQ $32, DX
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, R8
	ADDQ $32, R9
	SUBQ $32, R11
	JNZ dw3x3AVX2_chan
	ADDQ sx+48(FP), R12
	DECQ R13
	JNZ dw3x3AVX2_pixel
dw3x3AVX2_end:
	VZEROUPPER
	RET

// func dw3x3AVX512(out, in, w, bias *float32, n, c, sx, rs int, lo, hi float32)
// 3x3 depthwise on n output pixels whose whole window is inside the image;
// c is a multiple of 16; sx and rs are the input steps per output pixel and per row in bytes.
TEXT ·dw3x3AVX512(SB), NOSPLIT, $0-72
	MOVQ out+0(FP), R9
	MOVQ in+8(FP), R12
	MOVQ n+32(FP), R13
	MOVQ c+40(FP), R10
	SHLQ $2, R10
	VBROADCASTSS lo+64(FP), Z14
	VBROADCASTSS hi+68(FP), Z15
	TESTQ R13, R13
	JZ dw3x3AVX512_end
dw3x3AVX512_pixel:
	MOVQ R12, AX
	MOVQ rs+56(FP), BX
	ADDQ AX, BX
	MOVQ rs+56(FP), CX
	ADDQ BX, CX
	MOVQ w+16(FP), DX
	LEAQ (DX)(R10*2), SI
	ADDQ R10, SI
	LEAQ (SI)(R10*2), DI
	ADDQ R10, DI
	MOVQ bias+24(FP), R8
	MOVQ R10, R11
dw3x3AVX512_chan:
	VMOVUPS (R8), Z0
	VMOVUPS (AX), Z3
	VMULPS (DX), Z3, Z1
	VMOVUPS (BX), Z4
	VMULPS (SI), Z4, Z2
	VMOVUPS (CX), Z5
	VFMADD231PS (DI), Z5, Z0
	VMOVUPS (AX)(R10*1), Z6
	VFMADD231PS (DX)(R10*1), Z6, Z1
	VMOVUPS (AX)(R10*2), Z9
	VFMADD231PS (DX)(R10*2), Z9, Z1
	VMOVUPS (BX)(R10*1), Z7
	VFMADD231PS (SI)(R10*1), Z7, Z2
	VMOVUPS (BX)(R10*2), Z10
	VFMADD231PS (SI)(R10*2), Z10, Z2
	VMOVUPS (CX)(R10*1), Z8
	VFMADD231PS (DI)(R10*1), Z8, Z0
	VMOVUPS (CX)(R10*2), Z11
	VFMADD231PS (DI)(R10*2), Z11, Z0
	VADDPS Z1, Z0, Z0
	VADDPS Z2, Z0, Z0
	VMAXPS Z14, Z0, Z0
	VMINPS Z15, Z0, Z0
	VMOVUPS Z0, (R9)
	ADDQ $64, AX
	ADDQ $64, BX
	ADDQ $64, CX
	ADDQ $64, DX
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $64, R8
	ADDQ $64, R9
	SUBQ $64, R11
	JNZ dw3x3AVX512_chan
	ADDQ sx+48(FP), R12
	DECQ R13
	JNZ dw3x3AVX512_pixel
dw3x3AVX512_end:
	VZEROUPPER
	RET
