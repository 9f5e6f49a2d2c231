//go:build cspipe_bench

package kernels

// SetInt8AVX2 switches the AVX2 int8 kernels added for machines without
// AVX-512 (built only with the cspipe_bench tag, for graph's
// BenchmarkInt8AVX2Model): the GEMM with the requantization fused in its
// tile and the 3x3 depthwise kernel on int8 rows. Off, GemmU8I8Requant
// runs the int32 GEMM and Requant.Rows as before them, and
// HasInt8Pixels3x3 is false (the depthwise layers widen their rows to
// int32), so a model must be planned and run with the same setting.
func SetInt8AVX2(on bool) {
	hasRQAVX2, hasDWAVX2 = on, on
}

// SetInt8AVX2Weights switches the AVX2 fused GEMM's int8-weight tile for
// passes of few rows against many weights (built only with the
// cspipe_bench tag, for graph's BenchmarkInt8AVX2Model): off, those
// passes take the W16 tiles.
func SetInt8AVX2Weights(on bool) {
	rqInt8Weights = 0
	if !on {
		rqInt8Weights = -1
	}
}

// SetInt8AVX2Rows3 switches how the AVX2 fused GEMM covers a pass's rows
// with whole-panel tiles (built only with the cspipe_bench tag, for
// graph's BenchmarkInt8AVX2Model): on, passes of any rows run on the 3x32
// tile ending on 2x32 ones (rqMixRows); off, as before that: passes of up
// to 32 rows on the 2x32 tile, longer ones on the 3x32 tile, its last
// tile overlapping the one before.
func SetInt8AVX2Rows3(on bool) {
	rqMixRows, rq2x32Rows = on, 0
	if !on {
		rq2x32Rows = 32
	}
}

// SetInt8AVX2Tile4x8 switches the AVX2 fused GEMM's 4x8 tile for a block
// of 8 channels past the last 16 (built only with the cspipe_bench tag,
// for graph's BenchmarkInt8AVX2Model): off, those channels take the int32
// tile and the rescale pass.
func SetInt8AVX2Tile4x8(on bool) {
	hasRQ4x8 = on
}

// SetInt8AVX2WidenRows switches how the AVX2 fused GEMM widens a pass's
// rows (built only with the cspipe_bench tag, for graph's
// BenchmarkInt8AVX2Model): on, in one call; off, one call per row.
func SetInt8AVX2WidenRows(on bool) {
	rqWidenRows = on
}

// SetInt8AVX2DWCols switches the AVX2 int8 3x3 depthwise column kernel at
// stride 1 and its rescale in one step (built only with the cspipe_bench
// tag, for graph's BenchmarkInt8AVX2Model): off, those rows take the pair
// kernel, one pixel at a time.
func SetInt8AVX2DWCols(on bool) {
	hasDWAVX2Cols, hasDWRQF = on, on
}

// SetInt8AVX2Prefetch switches the AVX2 int8 GEMM's prefetch of its
// weights (built only with the cspipe_bench tag, for graph's
// BenchmarkInt8AVX2Model): the fused tiles' of the next panel by the
// first tile of each panel, and the one-row tile's (a batch-1
// classifier's) rowAhead bytes ahead.
func SetInt8AVX2Prefetch(on bool) {
	rqPrefetch, rowAhead = on, 4096
	if !on {
		rowAhead = 0
	}
}

// SetInt8AVX2UB switches the AVX2 fused GEMM's VPMADDUBSW tile for rows
// whose pairs of k sum to at most 255 (built only with the cspipe_bench
// tag, for graph's BenchmarkInt8AVX2Model): off, every row takes the
// VPMADDWD tiles on widened rows.
func SetInt8AVX2UB(on bool) {
	rqUB = on
}

// SetInt8AVX2UBInt8 switches the VPMADDUBSW tile in the AVX2 fused GEMM's
// int8-weight passes (few rows against many weights; built only with the
// cspipe_bench tag, for graph's BenchmarkInt8AVX2Model).
func SetInt8AVX2UBInt8(on bool) {
	rqUBInt8 = on
}

// SetInt8AVX2UBNoWiden switches the skipped widening of passes whose
// rows all fit the VPMADDUBSW tile (built only with the cspipe_bench tag,
// for graph's BenchmarkInt8AVX2Model).
func SetInt8AVX2UBNoWiden(on bool) {
	rqUBNoWiden = on
}

// SetInt8AVX2UBWeights switches the AVX2 fused GEMM's weight-aware row
// test for the VPMADDUBSW tile (built only with the cspipe_bench tag, for
// graph's BenchmarkInt8AVX2Model): off, rows take the tile only where
// every pair of k sums to at most 255.
func SetInt8AVX2UBWeights(on bool) {
	rqUBWeights = on
}

// SetInt8AVX2UBPart switches the VPMADDUBSW tile on the last partial
// panel of a pass whose rows all fit (built only with the cspipe_bench
// tag, for graph's BenchmarkInt8AVX2Model): off, those channels take the
// W16 or int8 tiles on widened rows.
func SetInt8AVX2UBPart(on bool) {
	rqUBPart = on
}

// SetInt8AVX2UBSession switches this session's changes to the AVX2 fused
// GEMM's VPMADDUBSW tile together (built only with the cspipe_bench tag,
// for graph's BenchmarkInt8AVX2Model): the weight-aware row test, the
// tile on last partial panels and rqUBMinK 32; off, the weight-blind
// test, whole panels only and rqUBMinK 64.
func SetInt8AVX2UBSession(on bool) {
	rqUBWeights, rqUBPart, rqUBMinK = on, on, 32
	if !on {
		rqUBMinK = 64
	}
}
