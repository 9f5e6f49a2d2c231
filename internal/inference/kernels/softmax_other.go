//go:build !amd64

package kernels

// expSumAVX512 and scaleAVX512 are never called off amd64 (hasAVX512 is
// false); they exist so the package builds.
func expSumAVX512(y, x *float32, n int, m float32, sum *[8]float64) {
	panic("kernels: AVX-512 kernel called off amd64")
}

func scaleAVX512(y *float32, n int, s float32) { panic("kernels: AVX-512 kernel called off amd64") }

func expSumAVX2(y, x *float32, n int, m float32, sum *[8]float64) {
	panic("kernels: AVX2 kernel called off amd64")
}

func scaleAVX2(y *float32, n int, s float32) { panic("kernels: AVX2 kernel called off amd64") }

func maxAVX2(x *float32, n int) float32 { panic("kernels: AVX2 kernel called off amd64") }
