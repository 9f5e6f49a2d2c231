package kernels

// Scatter3 copies n triples of floats from src, packed, to dst, stride
// floats apart: dst[i*stride+j] = src[i*3+j] for i < n, j < 3, bit for bit.
// It moves the column-window strips of RGB convolutions (the 7×7 stem),
// where each input pixel's three channels go to their row of a column.
func Scatter3(dst, src []float32, n, stride int) {
	if n <= 0 {
		return
	}
	if stride < 3 {
		panic("kernels: Scatter3 stride below 3")
	}
	_ = src[n*3-1]
	_ = dst[(n-1)*stride+2]
	if hasScatter3Asm {
		scatter3Asm(&dst[0], &src[0], n, stride)
		return
	}
	scatter3Generic(dst, src, n, stride)
}

func scatter3Generic(dst, src []float32, n, stride int) {
	for i := 0; i < n; i++ {
		d := dst[i*stride : i*stride+3 : i*stride+3]
		s := src[i*3 : i*3+3 : i*3+3]
		d[0], d[1], d[2] = s[0], s[1], s[2]
	}
}
