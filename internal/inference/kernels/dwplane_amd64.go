//go:build amd64

package kernels

// The plane kernels of gen_dwplane.go (dwplane_amd64.s): one output row of
// one channel block from a padded plane of that block (see dwplane.go).

// dwPlaneAsm holds the plane kernels by width (AVX-512, AVX2), window
// (3, 5, 7) and stride (1, 2).
var dwPlaneAsm = [2][3][2]dwPlaneFunc{
	{{dwPlane3s1AVX512, dwPlane3s2AVX512}, {dwPlane5s1AVX512, dwPlane5s2AVX512}, {dwPlane7s1AVX512, dwPlane7s2AVX512}},
	{{dwPlane3s1AVX2, dwPlane3s2AVX2}, {dwPlane5s1AVX2, dwPlane5s2AVX2}, {dwPlane7s1AVX2, dwPlane7s2AVX2}},
}

//go:noescape
func dwPlane3s1AVX512(out, plane, w, bias *float32, n, ops, prs, pps, nr, ors, srs int, lo, hi float32, hs int)

//go:noescape
func dwPlane3s2AVX512(out, plane, w, bias *float32, n, ops, prs, pps, nr, ors, srs int, lo, hi float32, hs int)

//go:noescape
func dwPlane5s1AVX512(out, plane, w, bias *float32, n, ops, prs, pps, nr, ors, srs int, lo, hi float32, hs int)

//go:noescape
func dwPlane5s2AVX512(out, plane, w, bias *float32, n, ops, prs, pps, nr, ors, srs int, lo, hi float32, hs int)

//go:noescape
func dwPlane7s1AVX512(out, plane, w, bias *float32, n, ops, prs, pps, nr, ors, srs int, lo, hi float32, hs int)

//go:noescape
func dwPlane7s2AVX512(out, plane, w, bias *float32, n, ops, prs, pps, nr, ors, srs int, lo, hi float32, hs int)

//go:noescape
func dwGatherAVX512(dst, src *float32, rows, n, srs, stride, drs int)

//go:noescape
func dwPlane3s1AVX2(out, plane, w, bias *float32, n, ops, prs, pps, nr, ors, srs int, lo, hi float32, hs int)

//go:noescape
func dwPlane3s2AVX2(out, plane, w, bias *float32, n, ops, prs, pps, nr, ors, srs int, lo, hi float32, hs int)

//go:noescape
func dwPlane5s1AVX2(out, plane, w, bias *float32, n, ops, prs, pps, nr, ors, srs int, lo, hi float32, hs int)

//go:noescape
func dwPlane5s2AVX2(out, plane, w, bias *float32, n, ops, prs, pps, nr, ors, srs int, lo, hi float32, hs int)

//go:noescape
func dwPlane7s1AVX2(out, plane, w, bias *float32, n, ops, prs, pps, nr, ors, srs int, lo, hi float32, hs int)

//go:noescape
func dwPlane7s2AVX2(out, plane, w, bias *float32, n, ops, prs, pps, nr, ors, srs int, lo, hi float32, hs int)

//go:noescape
func dwGatherAVX2(dst, src *float32, rows, n, srs, stride, drs int)
