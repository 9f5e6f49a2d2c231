//go:build amd64

package kernels

// maxWindowAVX2 is MaxWindow for c a multiple of 8 (taps in floats).
// Implemented in maxwin_amd64.s.
//
//go:noescape
func maxWindowAVX2(out, in *float32, n, c, inStride int, taps *int, ntaps int)
