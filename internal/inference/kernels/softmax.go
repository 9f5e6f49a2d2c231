package kernels

import "math"

// Softmax sets y = exp(x - max(x)) / sum(exp(x - max(x))) for one row; x and
// y have equal length and may be the same slice. The exponentials are a
// float32 polynomial (exp32; with AVX-512 sixteen at a time, with AVX2
// eight, with fused multiply-adds) within a few units in the last place of
// exp's value, and
// their sum is kept in float64, so each output is within a few parts in
// 1e7 of the exact softmax.
func Softmax(y, x []float32) {
	x = x[:len(y)]
	if len(y) == 0 {
		return
	}
	m := float32(math.Inf(-1))
	i0 := 0
	if hasAVX2FMA && !hasAVX512 && len(x) >= 8 {
		// A NaN passed over here still makes every output NaN: its
		// exponential is NaN, and so the sum.
		i0 = len(x) &^ 7
		m = maxAVX2(&x[0], i0)
	}
	for _, v := range x[i0:] {
		m = max(m, v)
	}
	var sum float64
	n := 0
	switch {
	case hasAVX512 && len(y) >= 16:
		n = len(y) &^ 15
		var lanes [8]float64
		expSumAVX512(&y[0], &x[0], n, m, &lanes)
		for _, s := range lanes {
			sum += s
		}
	case hasAVX2FMA && !hasAVX512 && len(y) >= 8:
		// (V1's 1001 classes: 18 us a row with exp32 alone on Zen 3.)
		n = len(y) &^ 7
		var lanes [8]float64
		expSumAVX2(&y[0], &x[0], n, m, &lanes)
		for _, s := range lanes {
			sum += s
		}
	}
	for i := n; i < len(y); i++ {
		e := exp32(x[i] - m)
		y[i] = e
		sum += float64(e)
	}
	inv := float32(1 / sum)
	switch {
	case n > 0 && hasAVX512:
		scaleAVX512(&y[0], n, inv)
	case n > 0:
		scaleAVX2(&y[0], n, inv)
	}
	for i := n; i < len(y); i++ {
		y[i] *= inv
	}
}

// exp32 is e^x for x <= 0 (softmax's shifted inputs; larger x works while
// the result is finite): x = n·ln2 + r with |r| <= ln2/2, e^r from its
// Taylor series to r^7 (truncation under 2e-9 relative), times 2^n put
// straight into the exponent bits. Results below the smallest normal float
// go through math.Exp; NaN stays NaN.
func exp32(x float32) float32 {
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375 // ln 2 split so n·ln2hi is exact for |n| < 2^8
		ln2lo = -2.12194440e-4
	)
	if !(x >= -87 && x <= 88) {
		if x != x {
			return x
		}
		return float32(math.Exp(float64(x)))
	}
	// Adding and taking away 1.5·2^23 rounds to the nearest integer (the
	// conversions keep the compiler from fusing the operations).
	const magic = 12582912
	n := float32(float32(x*log2e)+magic) - magic
	r := (x - n*ln2hi) - n*ln2lo
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720+r*(1.0/5040)))))))
	return p * math.Float32frombits(uint32(int32(n)+127)<<23)
}
