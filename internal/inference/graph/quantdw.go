package graph

// The int8 3x3 depthwise convolution on a padded copy of its input.
//
// depthwiseRowsVec runs the vector kernel that reads int8 directly only on
// the interior of each output row and every border pixel on its own, with
// the taps inside the image; at MobileNet's late resolutions (8x8, 4x4)
// most pixels are border pixels. Here the input rows an output band reads
// are first copied into a buffer with the padding filled with the input's
// zero point, so every pixel's window lies inside the buffer and one
// kernel call computes a whole output row. A padded value equals the zero
// point, so its term (x - zp) * w is zero, exactly what TFLite's and ONNX
// Runtime's kernels add for padding: the outputs are the same integers.

// paddedOK reports whether depthwiseRowsPadded can run k: a 3x3 depthwise
// convolution whose int8 kernel exists here, with padding (else the
// interior path already covers every pixel) and an int8 zero point.
func (k *qconvKernel) paddedOK() bool {
	if k.dw == nil || k.kh != 3 || k.kw != 3 || !k.dw.HasInt8Pixels3x3() || k.inZP < -128 || k.inZP > 127 {
		return false
	}
	padB := (k.oh-1)*k.sh + k.kh - k.padT - k.h
	padR := (k.ow-1)*k.sw + k.kw - k.padL - k.w
	return k.padT > 0 || k.padL > 0 || padB > 0 || padR > 0
}

// depthwiseRowsPadded computes output rows [lo, hi) of one image.
func (k *qconvKernel) depthwiseRowsPadded(in, o []int8, lo, hi int) {
	if hi <= lo {
		return
	}
	s := k.getScratch()
	defer k.scratch.Put(s)
	c := k.cin
	wp := (k.ow-1)*k.sw + k.kw // padded columns the windows cover
	rowP := wp * c
	nRows := (hi-1-lo)*k.sh + k.kh
	s.p = grow(s.p, nRows*rowP)
	p := s.p[:nRows*rowP]
	zp := int8(k.inZP)
	// Padded row r holds input row iy0+r; padded column x input column
	// x - padL.
	iy0 := lo*k.sh - k.padT
	x0, x1 := k.padL, min(k.padL+k.w, wp) // padded columns inside the image
	for r := 0; r < nRows; r++ {
		dst := p[r*rowP : (r+1)*rowP]
		iy := iy0 + r
		if iy < 0 || iy >= k.h || x1 <= x0 {
			fillI8(dst, zp)
			continue
		}
		fillI8(dst[:x0*c], zp)
		copy(dst[x0*c:x1*c], in[iy*k.w*c:][:(x1-x0)*c])
		fillI8(dst[x1*c:], zp)
	}
	for oy := lo; oy < hi; oy++ {
		r := (oy - lo) * k.sh * rowP
		rows := [3]int{r, r + rowP, r + 2*rowP}
		if !k.dw.Int8Pixels3x3(o[oy*k.ow*c:], c, p, rows, k.sw*c, k.ow) {
			panic("graph: int8 3x3 depthwise kernel unavailable after HasInt8Pixels3x3")
		}
	}
}
