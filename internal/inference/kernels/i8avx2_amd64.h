// Macros of the AVX2 int8 kernels with the requantization fused in
// (gemm_i8avx2_amd64.s, dw_i8avx2_amd64.s): an int32 accumulator of 8
// channels is rescaled with the Requant.tab8 block of its channels (R11
// plus OFF), clamped and packed to bytes. The arithmetic is RQSINGLE's
// and RQDOUBLE's (int8q_amd64.s) on other registers: Y8..Y10 are
// temporaries, Y12 = lo, Y13 = hi, Y14 = the output zero point, Y15 = 2^30
// in every qword.

// RQS16 rescales Y in the single rounding with the table block at OFF; the
// zero point comes in with the table's off-ZP word (subtracted).
#define RQS16(Y, OFF) \
	VPADDD   OFF(R11), Y, Y \
	VMOVDQU  OFF+32(R11), Y8 \
	VPMULDQ  Y8, Y, Y9 \
	VPSRLQ   $32, Y, Y10 \
	VPSRLQ   $32, Y8, Y8 \
	VPMULDQ  Y8, Y10, Y10 \
	VPADDQ   OFF+96(R11), Y9, Y9 \
	VPADDQ   OFF+128(R11), Y10, Y10 \
	VPSRLVQ  OFF+160(R11), Y9, Y9 \
	VPSRLVQ  OFF+192(R11), Y10, Y10 \
	VPSLLQ   $32, Y10, Y10 \
	VPBLENDD $0xAA, Y10, Y9, Y \
	VPSUBD   OFF+224(R11), Y, Y \
	VPMAXSD  Y12, Y, Y \
	VPMINSD  Y13, Y, Y

// RQD16 rescales Y in the double rounding (MultiplyByQuantizedMultiplier)
// with the table block at OFF, then adds the zero point and clamps.
#define RQD16(Y, OFF) \
	VPADDD   OFF(R11), Y, Y \
	VMOVDQU  OFF+32(R11), Y8 \
	VPSLLVD  OFF+64(R11), Y, Y \
	VPMULDQ  Y8, Y, Y9 \
	VPSRLQ   $32, Y, Y10 \
	VPSRLQ   $32, Y8, Y8 \
	VPMULDQ  Y8, Y10, Y10 \
	VPADDQ   Y15, Y9, Y9 \
	VPADDQ   Y15, Y10, Y10 \
	VPSRLQ   $31, Y9, Y9 \
	VPSRLQ   $31, Y10, Y10 \
	VPSLLQ   $32, Y10, Y10 \
	VPBLENDD $0xAA, Y10, Y9, Y \
	VMOVDQU  OFF+128(R11), Y8 \
	VPAND    Y8, Y, Y9 \
	VPSRLD   $1, Y8, Y8 \
	VPSRAD   $31, Y, Y10 \
	VPSUBD   Y10, Y8, Y8 \
	VPSRAVD  OFF+96(R11), Y, Y \
	VPCMPGTD Y8, Y9, Y9 \
	VPSUBD   Y9, Y, Y \
	VPADDD   Y14, Y, Y \
	VPMAXSD  Y12, Y, Y \
	VPMINSD  Y13, Y, Y

// PACK16 stores the 16 clamped channels of YA (0-7) and YB (8-15) as bytes
// at DST. The values are inside the int8 range, so the saturating packs
// only narrow; VPERMQ undoes the per-lane interleave of VPACKSSDW.
// PACK16U is PACK16 for values in [0, 255] (unsigned bytes).
#define PACK16(YA, YB, XA, DST) \
	VPACKSSDW    YB, YA, YA \
	VPERMQ       $0xD8, YA, YA \
	VEXTRACTI128 $1, YA, X8 \
	VPACKSSWB    X8, XA, XA \
	VMOVDQU      XA, DST

#define PACK16U(YA, YB, XA, DST) \
	VPACKSSDW    YB, YA, YA \
	VPERMQ       $0xD8, YA, YA \
	VEXTRACTI128 $1, YA, X8 \
	VPACKUSWB    X8, XA, XA \
	VMOVDQU      XA, DST

// PACK8 stores the 8 clamped channels of YA as bytes at DST: the packs
// leave channels 0-3 in the low lane's first dword and 4-7 in the high
// lane's, which VPUNPCKLDQ joins.
#define PACK8(YA, XA, DST) \
	VPACKSSDW    YA, YA, YA \
	VPACKSSWB    YA, YA, YA \
	VEXTRACTI128 $1, YA, X8 \
	VPUNPCKLDQ   X8, XA, XA \
	VMOVQ        XA, DST

// The 4x16 int16 tile's K loop (gemmI16x4x16AVX2, gemmI16x4x16RQAVX2):
// Y0..Y7 accumulate rows 0..3 (SI, SI+DX, R10 = SI+2*DX, R10+DX) times
// channels 0-7 and 8-15 of W16 at DI; one step is a k pair (4 bytes of
// each row, 128 bytes of weights). Y8..Y15 are temporaries.
#define I16X4X16ZERO \
	VPXOR Y0, Y0, Y0 \
	VPXOR Y1, Y1, Y1 \
	VPXOR Y2, Y2, Y2 \
	VPXOR Y3, Y3, Y3 \
	VPXOR Y4, Y4, Y4 \
	VPXOR Y5, Y5, Y5 \
	VPXOR Y6, Y6, Y6 \
	VPXOR Y7, Y7, Y7

#define I16X4X16STEP \
	VMOVDQU      (DI), Y8 \
	VMOVDQU      32(DI), Y9 \
	VPBROADCASTD (SI), Y10 \
	VPBROADCASTD (SI)(DX*1), Y11 \
	VPBROADCASTD (R10), Y12 \
	VPBROADCASTD (R10)(DX*1), Y13 \
	VPMADDWD     Y8, Y10, Y14 \
	VPADDD       Y14, Y0, Y0 \
	VPMADDWD     Y9, Y10, Y15 \
	VPADDD       Y15, Y1, Y1 \
	VPMADDWD     Y8, Y11, Y14 \
	VPADDD       Y14, Y2, Y2 \
	VPMADDWD     Y9, Y11, Y15 \
	VPADDD       Y15, Y3, Y3 \
	VPMADDWD     Y8, Y12, Y14 \
	VPADDD       Y14, Y4, Y4 \
	VPMADDWD     Y9, Y12, Y15 \
	VPADDD       Y15, Y5, Y5 \
	VPMADDWD     Y8, Y13, Y14 \
	VPADDD       Y14, Y6, Y6 \
	VPMADDWD     Y9, Y13, Y15 \
	VPADDD       Y15, Y7, Y7 \
	ADDQ         $4, SI \
	ADDQ         $4, R10 \
	ADDQ         $128, DI
