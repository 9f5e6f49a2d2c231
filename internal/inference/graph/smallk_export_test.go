package graph

// SetSmallK switches the fused depthwise+1x1 pairs' small-K GEMM
// (dwpwSmallK) for benchmarks in package graph_test; restore puts the old
// setting back.
func SetSmallK(on bool) (restore func()) {
	old := dwpwSmallK
	dwpwSmallK = on
	return func() { dwpwSmallK = old }
}

// SetConvSmallK switches the plain 1x1 convolutions' small-K GEMM
// (convSmallK) likewise.
func SetConvSmallK(on bool) (restore func()) {
	old := convSmallK
	convSmallK = on
	return func() { convSmallK = old }
}

// SetSmallKMaxK sets the largest K of a fused pair's 1x1 convolution that
// runs on the small-K GEMM (smallKMaxK) and that of a plain one
// (convSmallKMaxK); restore puts the old ones back.
func SetSmallKMaxK(dwpw, conv int) (restore func()) {
	od, oc := smallKMaxK, convSmallKMaxK
	smallKMaxK, convSmallKMaxK = dwpw, conv
	return func() { smallKMaxK, convSmallKMaxK = od, oc }
}

// SetSmallKMaxKN sets smallKMaxKN; restore puts the old one back.
func SetSmallKMaxKN(n int) (restore func()) {
	old := smallKMaxKN
	smallKMaxKN = n
	return func() { smallKMaxKN = old }
}

// SetSmallKEpilogue switches the plain 1x1 convolutions with HARD_SWISH
// or a residual on the small-K GEMM (convSmallKAct); restore puts the old
// setting back.
func SetSmallKEpilogue(on bool) (restore func()) {
	old := convSmallKAct
	convSmallKAct = on
	return func() { convSmallKAct = old }
}

// SmallKMaxK returns smallKMaxK and convSmallKMaxK.
func SmallKMaxK() (dwpw, conv int) { return smallKMaxK, convSmallKMaxK }
