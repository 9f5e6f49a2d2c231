package graph

// SetQuantPairs switches the banding of int8 depthwise -> project pairs
// (fuseQuantPairs) for the models planned until restore is called.
func SetQuantPairs(on bool) (restore func()) {
	saved := quantPairs
	quantPairs = on
	return func() { quantPairs = saved }
}
