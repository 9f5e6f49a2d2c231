package graph

// SetDWPlanes switches kernels.DepthwisePlanes for the plain depthwise
// layers of models planned until restore is called.
func SetDWPlanes(on bool) (restore func()) {
	saved := dwPlanes
	dwPlanes = on
	return func() { dwPlanes = saved }
}
