package graph

// SetDWPWResAVX2 switches a fused pair's residual in the AVX2 GEMM's
// epilogue (dwpwResAVX2) for benchmarks in package graph_test.
func SetDWPWResAVX2(on bool) { dwpwResAVX2 = on }
