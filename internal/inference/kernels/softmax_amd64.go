//go:build amd64

package kernels

// expSumAVX512 sets y[i] = e^(x[i]-m) for i < n (a multiple of 16) and
// writes eight float64 partial sums of them. Implemented in softmax_amd64.s.
//
//go:noescape
func expSumAVX512(y, x *float32, n int, m float32, sum *[8]float64)

// scaleAVX512 multiplies n floats (a multiple of 16) by s.
//
//go:noescape
func scaleAVX512(y *float32, n int, s float32)

// expSumAVX2 is expSumAVX512 on AVX2 for n a multiple of 8 (the same
// y[i]; the sums in eight float64 lanes of another grouping). Implemented
// in softmax_amd64.s.
//
//go:noescape
func expSumAVX2(y, x *float32, n int, m float32, sum *[8]float64)

// scaleAVX2 multiplies n floats (a multiple of 8) by s.
//
//go:noescape
func scaleAVX2(y *float32, n int, s float32)

// maxAVX2 is the largest of n floats (a positive multiple of 8), a NaN
// possibly passed over. Implemented in softmax_amd64.s.
//
//go:noescape
func maxAVX2(x *float32, n int) float32
