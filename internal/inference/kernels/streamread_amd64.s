//go:build amd64

#include "textflag.h"

// func streamRead512(p *float32, n int, out *float32)
// Reads n floats (a multiple of 64) from p front to back, 256 bytes a step,
// into four AVX-512 sums, and stores their total's 16 lanes at out: a
// plain sequential read, the bound a weight-streaming kernel can reach.
TEXT ·streamRead512(SB), NOSPLIT, $0-24
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ out+16(FP), DI
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	SHRQ $6, CX
	JZ   done
loop:
	VADDPS 0(SI), Z0, Z0
	VADDPS 64(SI), Z1, Z1
	VADDPS 128(SI), Z2, Z2
	VADDPS 192(SI), Z3, Z3
	ADDQ $256, SI
	DECQ CX
	JNZ  loop
done:
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0
	VMOVUPS Z0, (DI)
	VZEROUPPER
	RET

// func streamRead512PF(p *float32, n int, out *float32, ahead int)
// streamRead512 with a software prefetch (PREFETCHT0) of each 256-byte
// step ahead bytes before it is read.
TEXT ·streamRead512PF(SB), NOSPLIT, $0-32
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ out+16(FP), DI
	MOVQ ahead+24(FP), DX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	SHRQ $6, CX
	JZ   donepf
looppf:
	PREFETCHT0 0(SI)(DX*1)
	PREFETCHT0 64(SI)(DX*1)
	PREFETCHT0 128(SI)(DX*1)
	PREFETCHT0 192(SI)(DX*1)
	VADDPS 0(SI), Z0, Z0
	VADDPS 64(SI), Z1, Z1
	VADDPS 128(SI), Z2, Z2
	VADDPS 192(SI), Z3, Z3
	ADDQ $256, SI
	DECQ CX
	JNZ  looppf
donepf:
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0
	VMOVUPS Z0, (DI)
	VZEROUPPER
	RET

// func streamReadAVX2(p *float32, n int, out *float32)
// streamRead512 for AVX2: n floats (a multiple of 64) read front to back,
// 256 bytes a step, into four sums whose total's 8 lanes are stored at out.
TEXT ·streamReadAVX2(SB), NOSPLIT, $0-24
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ out+16(FP), DI
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	SHRQ $6, CX
	JZ   doneavx2
loopavx2:
	VADDPS 0(SI), Y0, Y0
	VADDPS 32(SI), Y1, Y1
	VADDPS 64(SI), Y2, Y2
	VADDPS 96(SI), Y3, Y3
	VADDPS 128(SI), Y0, Y0
	VADDPS 160(SI), Y1, Y1
	VADDPS 192(SI), Y2, Y2
	VADDPS 224(SI), Y3, Y3
	ADDQ $256, SI
	DECQ CX
	JNZ  loopavx2
doneavx2:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VMOVUPS Y0, (DI)
	VZEROUPPER
	RET

// func panelRead6AVX2(p *float32, k int, pstride int, out *float32)
// Reads six panels of k steps of 16 floats (pstride floats apart) side by
// side, a step of each in turn, as gemvAVX2r1g6 reads its weights but
// without the multiply-adds, into one sum per panel; stores their total's
// 8 lanes at out. The bound of the one-row kernel on weights from memory.
TEXT ·panelRead6AVX2(SB), NOSPLIT, $0-32
	MOVQ p+0(FP), BX
	MOVQ k+8(FP), CX
	MOVQ pstride+16(FP), DX
	SHLQ $2, DX
	MOVQ out+24(FP), DI
	LEAQ (BX)(DX*2), R8
	ADDQ DX, R8
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	TESTQ CX, CX
	JZ    done6
loop6:
	VADDPS 0(BX), Y0, Y0
	VADDPS 32(BX), Y0, Y0
	VADDPS 0(BX)(DX*1), Y1, Y1
	VADDPS 32(BX)(DX*1), Y1, Y1
	VADDPS 0(BX)(DX*2), Y2, Y2
	VADDPS 32(BX)(DX*2), Y2, Y2
	VADDPS 0(R8), Y3, Y3
	VADDPS 32(R8), Y3, Y3
	VADDPS 0(R8)(DX*1), Y4, Y4
	VADDPS 32(R8)(DX*1), Y4, Y4
	VADDPS 0(R8)(DX*2), Y5, Y5
	VADDPS 32(R8)(DX*2), Y5, Y5
	ADDQ $64, BX
	ADDQ $64, R8
	DECQ CX
	JNZ  loop6
done6:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y5, Y4, Y4
	VADDPS Y2, Y0, Y0
	VADDPS Y4, Y0, Y0
	VMOVUPS Y0, (DI)
	VZEROUPPER
	RET
