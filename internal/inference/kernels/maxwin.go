package kernels

// MaxWindow writes n pixels of c channels to out, each the maximum over a
// window of taps: out[x*c+j] folds in[x*inStride+taps[t]+j] for t in order,
// starting from taps[0] and keeping the running value only where it is
// greater than the next input (so a NaN input wins), as PoolTap folds a
// -Inf row tap by tap. It reads each input once per window and writes each
// output once, where PoolTap reads and writes the output row per tap.
func MaxWindow(out, in []float32, n, c, inStride int, taps []int) {
	if n <= 0 || c <= 0 {
		return
	}
	if len(taps) == 0 {
		panic("kernels: MaxWindow without taps")
	}
	_ = out[(n-1)*c+c-1]
	for _, t := range taps {
		if t < 0 || (n-1)*inStride+t+c > len(in) {
			panic("kernels: MaxWindow tap outside the input")
		}
	}
	if hasAVX2FMA && c%8 == 0 {
		maxWindowAVX2(&out[0], &in[0], n, c, inStride, &taps[0], len(taps))
		return
	}
	maxWindowGeneric(out, in, n, c, inStride, taps)
}

func maxWindowGeneric(out, in []float32, n, c, inStride int, taps []int) {
	for x := 0; x < n; x++ {
		o := out[x*c : x*c+c]
		copy(o, in[x*inStride+taps[0]:][:c])
		for _, t := range taps[1:] {
			src := in[x*inStride+t:][:c]
			for j, v := range src {
				if !(o[j] > v) {
					o[j] = v
				}
			}
		}
	}
}
