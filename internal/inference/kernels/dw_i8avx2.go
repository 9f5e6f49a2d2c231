package kernels

// prepW2 sets d.w2 and d.w2c, the weights of the AVX2 int8 3x3 depthwise
// kernels (dw3x3I8AVX2, dw3x3I8AVX2Cols), for a 3x3 kernel of whole blocks
// of 16 channels whose weights fit in int16 (NewDWI8 checks that). Per
// block, 5 pairs of taps, each pair 32 int16s: for channels 0-7 then 8-15
// of the block, the first tap's weight and the second's (zero for none)
// side by side, VPMADDWD's operand. In d.w2 the pairs are (0,1), (2,3),
// (4,5), (6,7), (8, none); in d.w2c, the stride-1 kernel's, (0,3), (1,4),
// (2,5) (rows 0 and 1 of one column), (6,7) and (none, 8) (row 2).
func (d *DWI8) prepW2() {
	d.w2, d.w2c = nil, nil
	if d.KH != 3 || d.KW != 3 || d.C%16 != 0 || d.C == 0 {
		return
	}
	d.w2 = d.tapPairs([5][2]int{{0, 1}, {2, 3}, {4, 5}, {6, 7}, {8, -1}})
	d.w2c = d.tapPairs([5][2]int{{0, 3}, {1, 4}, {2, 5}, {6, 7}, {-1, 8}})
}

// tapPairs lays out d's 3x3 weights in the given pairs of taps (-1: none,
// weight zero) as prepW2 describes.
func (d *DWI8) tapPairs(pairs [5][2]int) []int16 {
	w := make([]int16, d.C/16*5*32)
	for b := 0; b < d.C/16; b++ {
		for p, pair := range pairs {
			for j := 0; j < 16; j++ {
				ch := 16*b + j
				i := (b*5+p)*32 + 2*j
				for k, tap := range pair {
					if tap >= 0 {
						w[i+k] = int16(d.W[tap*d.C+ch])
					}
				}
			}
		}
	}
	return w
}
