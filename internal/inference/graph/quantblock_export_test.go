package graph

// SetQuantBlocks switches the banding of int8 blocks and pairs
// (fuseQuantBlocks) for the models planned until restore is called.
func SetQuantBlocks(on bool) (restore func()) {
	saved := quantBlocks
	quantBlocks = on
	return func() { quantBlocks = saved }
}

// SetQuantPairs switches the banding of int8 depthwise -> project pairs
// (fuseQuantPairs) for the models planned until restore is called.
func SetQuantPairs(on bool) (restore func()) {
	saved := quantPairs
	quantPairs = on
	return func() { quantPairs = saved }
}

// SetDWBlocksOuter switches the padded int8 depthwise between
// Int8Rows3x3 (on) and one Int8Pixels3x3 call per row; it is read while
// a model runs.
func SetDWBlocksOuter(on bool) (restore func()) {
	saved := dwBlocksOuter
	dwBlocksOuter = on
	return func() { dwBlocksOuter = saved }
}

// SetQuantT4 switches the T4 depthwise: for the fused blocks of the
// models planned until restore is called, and for the standalone layers
// while it is on.
func SetQuantT4(on bool) (restore func()) {
	saved := quantT4
	quantT4 = on
	return func() { quantT4 = saved }
}

// SetT4BlocksOuter switches the T4 depthwise between T4Rows3x3 over a
// band (on) and one T4Pixels3x3 call per row; it is read while a model
// runs.
func SetT4BlocksOuter(on bool) (restore func()) {
	saved := t4BlocksOuter
	t4BlocksOuter = on
	return func() { t4BlocksOuter = saved }
}

// SetT4Gemm switches the fused blocks' expansion between writing T4 rows
// itself (on) and int8 rows converted by T4Row; it is read while a model
// runs.
func SetT4Gemm(on bool) (restore func()) {
	saved := t4Gemm
	t4Gemm = on
	return func() { t4Gemm = saved }
}

// SetBlockPlan sets the fused blocks' band budget (bytes) and narrowest
// banded image for the models planned until restore is called.
func SetBlockPlan(budget, minWidth int) (restore func()) {
	b, w := blockBudget, minBlockWidth
	blockBudget, minBlockWidth = budget, minWidth
	return func() { blockBudget, minBlockWidth = b, w }
}
