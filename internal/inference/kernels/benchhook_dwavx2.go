//go:build cspipe_bench

package kernels

// SetDWPadStride switches the AVX2 depthwise row kernels' padded-stride
// copies (dwPadStride; built only with the cspipe_bench tag, for graph's
// BenchmarkDWPadStrideModel): off, 512-channel multiples run on the
// sixteen-channel kernel in place.
func SetDWPadStride(on bool) {
	if on {
		dwPadStride = func(c, sw int) bool { return c%512 == 0 && sw == 1 }
		return
	}
	dwPadStride = func(int, int) bool { return false }
}
