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

// SetDWX16 switches the AVX2 depthwise row kernels' choice of sixteen
// channels at a time (dwX16; built only with the cspipe_bench tag): off,
// every layer runs eight at a time.
func SetDWX16(on bool) {
	if on {
		dwX16 = func(c, sw int) bool { return sw == 2 || c%512 == 0 }
		return
	}
	dwX16 = func(int, int) bool { return false }
}

// SetDWChain switches the AVX2 depthwise row kernels' chain kernels at
// stride 1 (dwChain; built only with the cspipe_bench tag): off, stride 1
// runs on dw3x3s1AVX2 and dw3x3s1x16AVX2 as before.
func SetDWChain(on bool) {
	if on {
		dwChain = dwChainDefault
		return
	}
	dwChain = func(int) int { return 0 }
}

// SetDWPacked switches the AVX2 depthwise row kernel on packed weights
// (dwPacked, DepthwisePacked; built only with the cspipe_bench tag): off,
// the layers it takes run on DepthwiseBlocked.
func SetDWPacked(on bool) { dwPacked = on }
