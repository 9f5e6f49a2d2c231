//go:build !amd64

package kernels

const noVector = "kernels: no vector path on this architecture"

// dwPlaneAsm holds the plane kernels by width (AVX-512, AVX2), window
// (3, 5, 7) and stride (1, 2).
var dwPlaneAsm = [2][3][2]dwPlaneFunc{
	{{dwPlane3s1AVX512, dwPlane3s2AVX512}, {dwPlane5s1AVX512, dwPlane5s2AVX512}, {dwPlane7s1AVX512, dwPlane7s2AVX512}},
	{{dwPlane3s1AVX2, dwPlane3s2AVX2}, {dwPlane5s1AVX2, dwPlane5s2AVX2}, {dwPlane7s1AVX2, dwPlane7s2AVX2}},
}

func dwPlane3s1AVX512(out, plane, w, bias *float32, n, ops, prs, pps, nr, ors, srs int, lo, hi float32, hs int) {
	panic(noVector)
}

func dwPlane3s2AVX512(out, plane, w, bias *float32, n, ops, prs, pps, nr, ors, srs int, lo, hi float32, hs int) {
	panic(noVector)
}

func dwPlane5s1AVX512(out, plane, w, bias *float32, n, ops, prs, pps, nr, ors, srs int, lo, hi float32, hs int) {
	panic(noVector)
}

func dwPlane5s2AVX512(out, plane, w, bias *float32, n, ops, prs, pps, nr, ors, srs int, lo, hi float32, hs int) {
	panic(noVector)
}

func dwPlane7s1AVX512(out, plane, w, bias *float32, n, ops, prs, pps, nr, ors, srs int, lo, hi float32, hs int) {
	panic(noVector)
}

func dwPlane7s2AVX512(out, plane, w, bias *float32, n, ops, prs, pps, nr, ors, srs int, lo, hi float32, hs int) {
	panic(noVector)
}

func dwGatherAVX512(dst, src *float32, rows, n, srs, stride, drs int) { panic(noVector) }

func dwPlane3s1AVX2(out, plane, w, bias *float32, n, ops, prs, pps, nr, ors, srs int, lo, hi float32, hs int) {
	panic(noVector)
}

func dwPlane3s2AVX2(out, plane, w, bias *float32, n, ops, prs, pps, nr, ors, srs int, lo, hi float32, hs int) {
	panic(noVector)
}

func dwPlane5s1AVX2(out, plane, w, bias *float32, n, ops, prs, pps, nr, ors, srs int, lo, hi float32, hs int) {
	panic(noVector)
}

func dwPlane5s2AVX2(out, plane, w, bias *float32, n, ops, prs, pps, nr, ors, srs int, lo, hi float32, hs int) {
	panic(noVector)
}

func dwPlane7s1AVX2(out, plane, w, bias *float32, n, ops, prs, pps, nr, ors, srs int, lo, hi float32, hs int) {
	panic(noVector)
}

func dwPlane7s2AVX2(out, plane, w, bias *float32, n, ops, prs, pps, nr, ors, srs int, lo, hi float32, hs int) {
	panic(noVector)
}

func dwGatherAVX2(dst, src *float32, rows, n, srs, stride, drs int) { panic(noVector) }
