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
