package graph

// SetFusions sets, for the models planned until restore is called,
// whether depthwise+1x1 pairs fuse (fuseDWPW), the smallest expansion
// fuseExpandDepthwise folds (expandFuseMin) and the narrowest 1x1
// convolution fuseResiduals folds an ADD into (minResidualChannels).
func SetFusions(dwpw bool, expandMin, residualMin int) (restore func()) {
	d, e, r := fuseDWPW, expandFuseMin, minResidualChannels
	fuseDWPW, expandFuseMin, minResidualChannels = dwpw, expandMin, residualMin
	return func() { fuseDWPW, expandFuseMin, minResidualChannels = d, e, r }
}
