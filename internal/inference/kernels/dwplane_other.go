//go:build !amd64

package kernels

// dwPlaneAsm has no kernels here: DepthwisePlanes reads it only on the
// vector paths (hasAVX2FMA), which this architecture never takes.
var dwPlaneAsm [2][3][2]dwPlaneFunc

func dwGatherAVX512(dst, src *float32, rows, n, srs, stride, drs int) {
	panic("kernels: no AVX-512 path on this architecture")
}

func dwGatherAVX2(dst, src *float32, rows, n, srs, stride, drs int) {
	panic("kernels: no AVX2 path on this architecture")
}
