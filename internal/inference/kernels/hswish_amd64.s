//go:build amd64

#include "textflag.h"

// HARD_SWISH with AVX-512, without a division instruction. The scalar
// HardSwish (and TFLite's reference) rounds x*min(max(x+3, 0), 6) to p, then
// p/6. VDIVPS retires one vector only every several cycles, which made the
// division, not the memory traffic, the cost of a HARD_SWISH pass. Here
// q0 = p*(1/6) is corrected once by its exact remainder r = p - 6*q0 (one
// fused multiply-add, exact): q = q0 + r*(1/6) is the correctly rounded p/6
// for every float32 p whose quotient is normal (TestDiv6 runs every
// mantissa). VFIXUPIMMPS then puts back p itself where it is ±0 (the sum
// above loses the sign of -0) or ±Inf (where r is NaN). Where p/6 is
// subnormal, or nearly, the corrected quotient can miss a tie of the
// coarser grid, so a vector holding any nonzero |p| below 2^-122 divides
// those lanes (rare: activations that small are almost always exact zeros).

// DIV6 sets Zq to Zp/6 rounded; Zt is scratch; K2 is clobbered. Constants
// as CONSTS loads them; skip is a label unique to the expansion.
#define DIV6(Zp, Zq, Zt, skip) \
	VMULPS       Z28, Zp, Zq      \
	VMOVAPS      Zp, Zt           \
	VFNMADD231PS Z29, Zq, Zt      \
	VFMADD231PS  Z28, Zt, Zq      \
	VFIXUPIMMPS  $0, Z27, Zp, Zq  \
	VPSLLD       $1, Zp, Zt       \
	VPADDD       Z24, Zt, Zt      \
	VPCMPUD      $1, Z25, Zt, K2  \
	KORTESTW     K2, K2           \
	JZ           skip             \
	VDIVPS       Z29, Zp, K2, Zq  \
skip:

// CONSTS loads Z30 = 3, Z29 = 6, Z28 = 1/6 rounded to float32, Z27 the
// VFIXUPIMMPS table (tokens zero, -Inf and +Inf answer the classified
// input itself), Z26 = 0, Z25 = 2*bits(2^-122)-1 (|p| below 2^-122 and
// not 0: bits(p)<<1 - 1 below it, unsigned), Z24 all ones (-1).
#define CONSTS \
	MOVL         $0x40400000, AX \
	VPBROADCASTD AX, Z30         \
	MOVL         $0x40c00000, AX \
	VPBROADCASTD AX, Z29         \
	MOVL         $0x3e2aaaab, AX \
	VPBROADCASTD AX, Z28         \
	MOVL         $0x00110100, AX \
	VPBROADCASTD AX, Z27         \
	MOVL         $0x04ffffff, AX \
	VPBROADCASTD AX, Z25         \
	VPTERNLOGD   $0xff, Z24, Z24, Z24 \
	VPXORD       Z26, Z26, Z26

// func hardSwish512(p *float32, n int)
// p[i] = p[i]*min(max(p[i]+3, 0), 6)/6 for n floats (a multiple of 16),
// two vectors a step when n allows.
TEXT ·hardSwish512(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), DI
	MOVQ n+8(FP), CX
	SHRQ $4, CX
	JZ   hs512_done
	CONSTS

hs512_two:
	CMPQ    CX, $2
	JLT     hs512_one
	VMOVUPS (DI), Z0
	VMOVUPS 64(DI), Z1
	VADDPS  Z30, Z0, Z2
	VADDPS  Z30, Z1, Z3
	VMAXPS  Z26, Z2, Z2
	VMAXPS  Z26, Z3, Z3
	VMINPS  Z29, Z2, Z2
	VMINPS  Z29, Z3, Z3
	VMULPS  Z0, Z2, Z2
	VMULPS  Z1, Z3, Z3
	DIV6(Z2, Z4, Z6, hs512_a)
	DIV6(Z3, Z5, Z7, hs512_b)
	VMOVUPS Z4, (DI)
	VMOVUPS Z5, 64(DI)
	ADDQ    $128, DI
	SUBQ    $2, CX
	JMP     hs512_two

hs512_one:
	TESTQ   CX, CX
	JZ      hs512_done
	VMOVUPS (DI), Z0
	VADDPS  Z30, Z0, Z2
	VMAXPS  Z26, Z2, Z2
	VMINPS  Z29, Z2, Z2
	VMULPS  Z0, Z2, Z2
	DIV6(Z2, Z4, Z6, hs512_c)
	VMOVUPS Z4, (DI)

hs512_done:
	VZEROUPPER
	RET

// func div6x512(p *float32, n int)
// p[i] = p[i]/6 for n floats (a multiple of 16) by DIV6: the division step
// of hardSwish512 on its own, for tests.
TEXT ·div6x512(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), DI
	MOVQ n+8(FP), CX
	SHRQ $4, CX
	JZ   div6_done
	CONSTS

div6_loop:
	VMOVUPS (DI), Z0
	DIV6(Z0, Z1, Z2, div6_a)
	VMOVUPS Z1, (DI)
	ADDQ    $64, DI
	DECQ    CX
	JNZ     div6_loop

div6_done:
	VZEROUPPER
	RET
