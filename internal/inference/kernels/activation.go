package kernels

// Clamp clamps v to [lo, hi] in place.
func Clamp(v []float32, lo, hi float32) {
	n := 0
	if hasAVX2FMA && len(v) >= 8 {
		n = len(v) &^ 7
		clampAVX2(&v[0], n, lo, hi)
	}
	for i := n; i < len(v); i++ {
		v[i] = clamp(v[i], lo, hi)
	}
}

// HardSwish applies x·min(max(x+3, 0), 6)/6 to v in place, rounding as
// TFLite's and ONNX Runtime's reference kernels do (the product, then the
// division by 6).
func HardSwish(v []float32) {
	n := 0
	switch {
	case hasAVX512 && len(v) >= 16:
		n = len(v) &^ 15
		hardSwish512(&v[0], n)
	case hasAVX2FMA && len(v) >= 8:
		n = len(v) &^ 7
		hardSwishAVX2(&v[0], n)
	}
	for i := n; i < len(v); i++ {
		x := v[i]
		v[i] = x * min(max(x+3, 0), 6) / 6
	}
}

// Mul sets dst[i] = a[i] * b[i]; the three have equal length.
func Mul(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	n := 0
	if hasAVX2FMA && len(dst) >= 8 {
		n = len(dst) &^ 7
		vecMulAVX2(&dst[0], &a[0], &b[0], n)
	}
	for i := n; i < len(dst); i++ {
		dst[i] = a[i] * b[i]
	}
}

// Add sets dst[i] = a[i] + b[i]; the three have equal length.
func Add(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	n := 0
	if hasAVX2FMA && len(dst) >= 8 {
		n = len(dst) &^ 7
		vecAddAVX2(&dst[0], &a[0], &b[0], n)
	}
	for i := n; i < len(dst); i++ {
		dst[i] = a[i] + b[i]
	}
}
