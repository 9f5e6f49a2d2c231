package kernels

// prepW2 sets d.w2, the weights of the AVX2 int8 3x3 depthwise kernel
// (dw3x3I8AVX2), for a 3x3 kernel of whole blocks of 16 channels whose
// weights fit in int16 (NewDWI8 checks that): per block, the 9 taps in 5
// pairs (0,1), (2,3), (4,5), (6,7), (8, none), each pair 32 int16s: for
// channels 0-7 then 8-15 of the block, the first tap's weight and the
// second's (zero for none) side by side, VPMADDWD's operand.
func (d *DWI8) prepW2() {
	d.w2 = nil
	if d.KH != 3 || d.KW != 3 || d.C%16 != 0 || d.C == 0 {
		return
	}
	w := make([]int16, d.C/16*5*32)
	for b := 0; b < d.C/16; b++ {
		for p := 0; p < 5; p++ {
			for j := 0; j < 16; j++ {
				ch := 16*b + j
				i := (b*5+p)*32 + 2*j
				w[i] = int16(d.W[2*p*d.C+ch])
				if 2*p+1 < 9 {
					w[i+1] = int16(d.W[(2*p+1)*d.C+ch])
				}
			}
		}
	}
	d.w2 = w
}
