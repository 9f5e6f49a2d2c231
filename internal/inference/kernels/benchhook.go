//go:build cspipe_bench

package kernels

// SetRowKernels switches this session's row kernels together (built only
// with the cspipe_bench tag, for graph's BenchmarkRowKernelsModel): the
// few-row GEMM kernels' multi-row products, the eight-pixel stride-1
// depthwise kernel and the edge-aware depthwise rows. Off, the kernels run
// as before them.
func SetRowKernels(on bool) {
	gemvMultiRow, dwEight, dwEdgeRows = on, on, on
}

// SetDepthwiseRowsAVX2 switches the AVX2 3x3 depthwise row kernels (built
// only with the cspipe_bench tag, for graph's BenchmarkDepthwiseRowsAVX2Model):
// off, those layers run as before them.
func SetDepthwiseRowsAVX2(on bool) { dwRowsAVX2 = on }
