package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
)

// TestScatter3 checks Scatter3 bit for bit (NaN payloads, signed zeros)
// against the element loop, leaves the floats between triples alone, and
// panics on a destination too short for the last triple.
func TestScatter3(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	for _, s := range []struct{ n, stride int }{{1, 3}, {2, 3}, {7, 21}, {224, 21}, {33, 9}, {5, 4}} {
		src := make([]float32, s.n*3)
		for i := range src {
			src[i] = math.Float32frombits(rng.Uint32()) // every bit pattern, NaNs with payloads included
		}
		got := make([]float32, (s.n-1)*s.stride+3+5)
		for i := range got {
			got[i] = float32(i) + 0.5
		}
		want := slices.Clone(got)
		scatter3Generic(want, src, s.n, s.stride)
		Scatter3(got, src, s.n, s.stride)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("n %d stride %d: dst[%d] = %#x, want %#x", s.n, s.stride, i, math.Float32bits(got[i]), math.Float32bits(want[i]))
			}
		}
	}
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a short destination")
		}
	}()
	Scatter3(make([]float32, 2*21+2), make([]float32, 9), 3, 21)
}

// BenchmarkScatter3 moves the strip rows of ResNet-50@224's 7×7 stem (224
// triples 21 floats apart, 7 rows per output row) with Scatter3 and with
// the element loop in alternation, and reports the median over pairs of
// the loop's time over Scatter3's ("loop/scatter3").
func BenchmarkScatter3(b *testing.B) {
	src := randSlice(rand.New(rand.NewPCG(1, 2)), 224*3)
	dst := make([]float32, 229*21)
	t := abbench.Alternate(b, abbench.Wall,
		abbench.Side{Name: "loop", Run: func() {
			for r := 0; r < 112*7; r++ {
				scatter3Generic(dst[(r%7)*3:], src, 224, 21)
			}
		}},
		abbench.Side{Name: "scatter3", Run: func() {
			for r := 0; r < 112*7; r++ {
				Scatter3(dst[(r%7)*3:], src, 224, 21)
			}
		}})
	b.ReportMetric(abbench.Med(t.Ratios(0, 0, 1)), "loop/scatter3")
}
