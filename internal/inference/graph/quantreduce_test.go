package graph

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestQSoftmaxTable: the quantized SOFTMAX on its exp table gives every
// row exactly what the float64 definition gives element by element
// (exp(beta*scale*(x-max)), the row sum, the quotient rounded half away),
// on rows of 1001, 10 and 1 elements, batches of one and three, several
// scales, betas and output parameters, and rows with every difference
// from 0 to 255.
func TestQSoftmaxTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	for _, tc := range []struct {
		n     int
		scale float64
		beta  float64
		out   qparam
	}{
		{1001, 0.1, 1, qparam{scale: 1.0 / 256, zp: -128}},
		{1001, 0.02, 1, qparam{scale: 1.0 / 256, zp: -128}},
		{10, 0.5, 0.7, qparam{scale: 1.0 / 200, zp: -100}},
		{1, 0.3, 1, qparam{scale: 1.0 / 256, zp: -128}},
		{300, 0.05, 2, qparam{scale: 1.0 / 128, zp: 0}},
	} {
		in := qparam{scale: tc.scale, zp: int32(rng.IntN(256) - 128)}
		k := newQSoftmax(tc.n, tc.n, in, tc.out, tc.beta)
		for _, batch := range []int{1, 3} {
			x := make([]int8, batch*tc.n)
			for i := range x {
				x[i] = int8(rng.IntN(256) - 128)
			}
			if tc.n >= 256 {
				for i := 0; i < 256; i++ { // every difference from the maximum
					x[i] = int8(127 - i)
				}
			}
			want := make([]int8, len(x))
			for r := 0; r < len(x); r += tc.n {
				row := x[r : r+tc.n]
				m := slices.Max(row)
				ex := make([]float64, tc.n)
				sum := 0.0
				for i, v := range row {
					ex[i] = math.Exp(tc.beta * tc.scale * float64(int32(v)-int32(m)))
					sum += ex[i]
				}
				for i := range row {
					q := math.Round(ex[i]/sum/tc.out.scale) + float64(tc.out.zp)
					want[r+i] = int8(max(min(q, 127), -128))
				}
			}
			src := make([]float32, (len(x)+3)/4)
			copy(int8s(src), x)
			dst := make([]float32, len(src))
			k.run(&env{batch: batch, threads: 1}, [][]float32{src}, dst)
			if got := int8s(dst)[:len(x)]; !slices.Equal(got, want) {
				i := 0
				for got[i] == want[i] {
					i++
				}
				t.Fatalf("n %d scale %g beta %g batch %d: output %d is %d, want %d", tc.n, tc.scale, tc.beta, batch, i, got[i], want[i])
			}
		}
	}
}

// TestQMeanTable: the quantized MEAN's table holds, for every possible
// sum, the float64 definition's output, and a run with and without it
// gives the same bytes (V2's 4x4x1280 global mean, and a 2x3 mean over
// one axis of a 4-d tensor).
func TestQMeanTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(53, 54))
	for _, tc := range []struct {
		dims    [4]int
		reduced [4]bool
	}{
		{[4]int{1, 4, 4, 1280}, [4]bool{false, true, true, false}},
		{[4]int{1, 2, 3, 5}, [4]bool{false, false, false, true}},
	} {
		count := 1
		for i, r := range tc.reduced {
			if r {
				count *= tc.dims[i]
			}
		}
		for _, p := range [][2]qparam{
			{{scale: 0.05, zp: -7}, {scale: 0.02, zp: -128}},
			{{scale: 0.01, zp: 3}, {scale: 0.013, zp: 5}},
			{{scale: 0.2, zp: 0}, {scale: 0.01, zp: 0}}, // saturates
		} {
			k := newQMean(tc.dims, tc.reduced, count, p[0], p[1])
			if k.tab == nil {
				t.Fatalf("count %d: no table", count)
			}
			scale := p[0].scale / (float64(count) * p[1].scale)
			for s := int32(-128 * count); s <= int32(127*count); s++ {
				v := math.Round(float64(s-int32(count)*p[0].zp)*scale) + float64(p[1].zp)
				want := int8(max(min(v, 127), -128))
				if got := k.tab[s+int32(128*count)]; got != want {
					t.Fatalf("count %d sum %d: table %d, want %d", count, s, got, want)
				}
			}
			for _, batch := range []int{1, 2} {
				n := tc.dims[0] * tc.dims[1] * tc.dims[2] * tc.dims[3]
				src := make([]float32, batch*n/4+1)
				for i := range int8s(src) {
					int8s(src)[i] = int8(rng.IntN(256) - 128)
				}
				got := make([]float32, batch*n/count/4+1)
				want := make([]float32, len(got))
				k.run(&env{batch: batch, threads: 1}, [][]float32{src}, got)
				tab := k.tab
				k.tab = nil
				k.run(&env{batch: batch, threads: 1}, [][]float32{src}, want)
				k.tab = tab
				if !slices.Equal(int8s(got), int8s(want)) {
					t.Fatalf("count %d batch %d: table and direct outputs differ", count, batch)
				}
			}
		}
	}
}
