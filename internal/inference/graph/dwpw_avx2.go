package graph

import "github.com/cspipe/cspipe/internal/inference/kernels"

// dwpwPair runs a fused pair's 1x1 convolution on kernels.GemmPair where
// kernels.PairFast takes its weights (AVX2 without AVX-512) and its K is
// at most pairMaxK: one call a panel over all the band's tiles, without
// Gemm's per-call and per-tile set-up, which weighs most where a tile has
// few k steps. The sums are Gemm's. Tests and benchmarks switch it off to
// compare with GemmSmallK and Gemm. In a band benchmark (the depthwise
// then the product, band by band, one thread, thread CPU, 300 rounds, load
// ~10) it ran V1 1.0@128's 64x64x32->64 pair 1.096x as fast, 64x64x64
// stride 2 ->128 1.02x, and K of 128 1.00-1.01x, so it stops at 64.
var (
	dwpwPair = true
	pairMaxK = 64
)

// pairGemm reports whether the fused pair k runs its 1x1 convolution on
// kernels.GemmPair.
func (k *dwPointwise) pairGemm() bool {
	return dwpwPair && kernels.PairFast(k.pw.pb) && k.dw.p.C <= pairMaxK
}
