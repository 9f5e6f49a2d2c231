package kernels

// PoolTap folds n pixels of c channels into out, pixel x reading
// in[x*inStride : x*inStride+c]: out = max(out, in) when isMax, else
// out += in. The maximum keeps out's value only where it is greater than the
// input (so a NaN input wins), on every path.
func PoolTap(out, in []float32, n, c, inStride int, isMax bool) {
	if n <= 0 || c <= 0 {
		return
	}
	_ = out[(n-1)*c+c-1]
	_ = in[(n-1)*inStride+c-1]
	if hasAVX2FMA && c%8 == 0 {
		poolTapAVX2(&out[0], &in[0], n, c, inStride, isMax)
		return
	}
	for x := 0; x < n; x++ {
		o := out[x*c : x*c+c]
		src := in[x*inStride : x*inStride+c]
		if isMax {
			for j, v := range src {
				if !(o[j] > v) {
					o[j] = v
				}
			}
			continue
		}
		for j, v := range src {
			o[j] += v
		}
	}
}
