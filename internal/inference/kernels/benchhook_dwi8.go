//go:build cspipe_bench

package kernels

// SetInt8AVX2DWBlend switches the AVX2 int8 3x3 depthwise kernels'
// rescale in one step with blends (DWI8.rqG; built only with the
// cspipe_bench tag, for graph's BenchmarkInt8DWBlendModel): off, the
// column kernel rescales as before it (dwRQTable's table without blends)
// and the pair kernel with Requant.tab8's double rounding.
func SetInt8AVX2DWBlend(on bool) { hasDWRQG = on }

// SetInt8AVX2DWS2 switches the AVX2 int8 3x3 depthwise column kernel for
// stride 2 (dw3x3I8AVX2S2; built only with the cspipe_bench tag, for
// graph's BenchmarkInt8DWBlendModel): off, stride 2 takes the pair
// kernel.
func SetInt8AVX2DWS2(on bool) { hasDWAVX2S2 = on }
