package kernels

// Row kernels of squeeze-excite blocks: the spatial mean (MEAN over height
// and width, channels kept) sums every pixel's channel row into one row,
// and the excitation scales every pixel's row by one row of channel
// weights. Graph called Add or Mul once per pixel for these (tens of
// floats a call); these take all the pixels in one call and keep the
// per-element order of operations, so results are the same bit for bit.

// SumRows adds rows rows of c floats (row r at in[r*c:]) into out[:c],
// one row after the other: out[j] = (((out[j] + in[j]) + in[c+j]) + ...),
// the sums Add(out, out, row) row by row makes.
func SumRows(out, in []float32, rows, c int) {
	if rows <= 0 || c <= 0 {
		return
	}
	out, in = out[:c], in[:rows*c]
	n := 0
	if hasAVX2FMA && c >= 8 {
		n = c &^ 7
		sumRowsAVX2(&out[0], &in[0], rows, c, n)
	}
	for j := n; j < c; j++ {
		s := out[j]
		for r := 0; r < rows; r++ {
			s += in[r*c+j]
		}
		out[j] = s
	}
}

// MulRows sets dst[r*c+j] = a[r*c+j] * s[j] for rows rows of c floats: Mul
// of every row of a by the row s.
func MulRows(dst, a, s []float32, rows, c int) {
	rowsOp(dst, a, s, rows, c, true)
}

// AddRows sets dst[r*c+j] = a[r*c+j] + s[j] for rows rows of c floats: Add
// of every row of a and the row s.
func AddRows(dst, a, s []float32, rows, c int) {
	rowsOp(dst, a, s, rows, c, false)
}

func rowsOp(dst, a, s []float32, rows, c int, mul bool) {
	if rows <= 0 || c <= 0 {
		return
	}
	dst, a, s = dst[:rows*c], a[:rows*c], s[:c]
	n := 0
	if hasAVX2FMA && c >= 8 {
		n = c &^ 7
		op := 0
		if mul {
			op = 1
		}
		rowsOpAVX2(&dst[0], &a[0], &s[0], rows, c, n, op)
	}
	if n == c {
		return
	}
	for r := 0; r < rows; r++ {
		d, x := dst[r*c:(r+1)*c], a[r*c:(r+1)*c]
		for j := n; j < c; j++ {
			if mul {
				d[j] = x[j] * s[j]
			} else {
				d[j] = x[j] + s[j]
			}
		}
	}
}
