package kernels

// dwPacked lets DWPackedTakes pick the row kernel on packed weights
// (tests and benchmarks switch it off to compare with DepthwiseBlocked).
var dwPacked = true

// PackDW3x3x16 lays out 3x3 depthwise weights w ([3][3][c], c a multiple
// of 16) sixteen channels by nine taps: for each sixteen channels, their
// nine taps one after the other (576 bytes), the layout DepthwisePacked
// reads.
func PackDW3x3x16(w []float32, c int) []float32 {
	out := make([]float32, 9*c)
	for k := range c / 16 {
		for t := range 9 {
			copy(out[(9*k+t)*16:(9*k+t+1)*16], w[t*c+16*k:t*c+16*k+16])
		}
	}
	return out
}

// DWPackedTakes reports whether DepthwisePacked takes p on this CPU: the
// layers DepthwiseBlocked runs on a sixteen-channel kernel (dw3x3AVX2Takes,
// channels a multiple of 16; at stride 1 across the chain kernel where
// dwChain gives sixteen at a time, in place or on dwPadStride's copies,
// whose sums are the same; at stride 2 where dwX16 picks sixteen), where
// every window's middle row is inside the image (at most one row of
// padding above). An input that is not Hot is read in place all the same:
// in V1 1.0@128 at batch 4 on one thread (graph's switchNodesAB against
// the copies, 100 rounds, load 11) the packed kernel in place ran the six
// 8x8x512 layers 1.33x (105.5 vs 143.6 us) and 4x4x1024 1.68x (8.3 vs
// 14.7) as fast as the copies, the model 1.016x.
func DWPackedTakes(p *DWParams) bool {
	if !dwPacked || !dw3x3AVX2Takes(p) || p.C%16 != 0 || p.PadT > 1 || (p.OH-1)*p.SH-p.PadT+1 >= p.H {
		return false
	}
	if p.SW == 2 {
		return dwX16(p.C, 2)
	}
	return dwChain(p.C) == 2
}

// DepthwisePacked is DepthwiseBlocked (or DepthwiseBlockedHardSwish, with
// hs) for a p that DWPackedTakes, on the weights packed by PackDW3x3x16:
// the same kernel and sums (up to the sign of a zero), each sixteen
// channels' nine weight lines read as one run (dw3x3s1cx16wAVX2) rather
// than nine lines 4c bytes apart, which with 2 KB pixels share the input's
// two L1 sets, and a window row above or below the image left out rather
// than read from zeros.
func DepthwisePacked(p *DWParams, in, wp, bias, out []float32, y0, y1 int, hs bool) {
	if y1 <= y0 {
		return
	}
	c := p.C
	flags := dw3x3RowFlags(p, in, wp, bias, out, y1, hs)
	// The kernel and its flag for a top window row outside the image
	// (the bottom one's is twice it).
	k, top := dw3x3s1cx16wAVX2, 8
	if p.SW == 2 {
		k, top = dw3x3s2x16wAVX2, 16
	}
	for oy := y0; oy < y1; oy++ {
		iy0 := oy*p.SH - p.PadT
		var rows [3]*float32
		f := flags | dwBorderRow(p, iy0)
		for r := range rows {
			iy := iy0 + r
			if iy >= 0 && iy < p.H {
				rows[r] = &in[iy*p.W*c]
				continue
			}
			// Left out by the kernel, never read: the window's middle
			// row is inside the image (DWPackedTakes).
			f |= top << (r / 2)
			rows[r] = &in[0]
		}
		k(&out[oy*p.OW*c], rows[0], rows[1], rows[2], &wp[0], &bias[0], p.OW, c, p.Lo, p.Hi, f)
	}
}
