package kernels

// dwImage lets DWImageTakes pick the whole-image kernel dw3x3s1iAVX2
// (tests and benchmarks switch it off to compare with DepthwiseBlocked's
// row kernels).
var dwImage = false

// dwImageMaxPixels is the largest image (H*W) the whole-image kernel
// takes: it sweeps the image once per sixteen channels, which pays where
// the image's input and output sit in L2 and a pixel is many cache lines
// (V1's 16x16x256, 8x8x512 and 4x4x1024 layers).
var dwImageMaxPixels = 256

// DWImageTakes reports whether DepthwiseImage takes p on this CPU: AVX2
// without AVX-512, a 3x3 window at stride 1 with SAME padding (one row and
// column either side, the output as large as the input), at most
// dwImageMaxPixels pixels, and channels where DepthwiseBlocked runs the
// sixteen-channel chain kernels (a multiple of 16, at least 32), whose
// sums DepthwiseImage gives.
func DWImageTakes(p *DWParams) bool {
	return dwImage && dw3x3AVX2Takes(p) && p.SW == 1 && p.SH == 1 && p.PadT == 1 && p.PadL == 1 &&
		p.OH == p.H && p.OW == p.W && p.H*p.W <= dwImageMaxPixels && p.C%16 == 0 && dwChain(p.C) == 2
}

// DepthwiseImage computes output rows [y0, y1) of a depthwise convolution
// that DWImageTakes, HARD_SWISH applied as each value is stored if hs, in
// one call of dw3x3s1iAVX2: sixteen channels of every row before the next
// sixteen. The sums are DepthwiseBlocked's (the sixteen-channel chain
// kernels', in place or on padded-stride copies) up to the sign of a zero:
// a window row above or below the image is left out rather than added as
// 0·w.
func DepthwiseImage(p *DWParams, in, w, bias, out []float32, y0, y1 int, hs bool) {
	if y1 <= y0 {
		return
	}
	c := p.C
	_ = in[p.H*p.W*c-1]
	_ = w[9*c-1]
	_ = bias[c-1]
	_ = out[y1*p.OW*c-1]
	if y0 < 0 {
		panic("kernels: DepthwiseImage rows start below 0")
	}
	flags := 0
	if hs {
		flags = 4
	}
	dw3x3s1iAVX2(&out[0], &in[0], &w[0], &bias[0], p.H, p.W, c, y0, y1, p.Lo, p.Hi, flags)
}
