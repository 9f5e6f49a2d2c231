package classify

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// topK must pick exactly what a full stable sort by descending score would put first.
func TestTopKMatchesStableSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 500 {
		n := 1 + r.IntN(50)
		scores := make([]float32, n)
		for i := range scores {
			switch r.IntN(6) {
			case 0:
				scores[i] = float32(math.NaN())
			case 1:
				scores[i] = 0.5 // ties
			default:
				scores[i] = r.Float32()
			}
		}
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) })
		k := r.IntN(n + 3)
		want := idx[:min(k, n)]
		if got := topK(scores, k); !slices.Equal(got, want) {
			t.Fatalf("trial %d: topK(%v, %d) = %v, want %v", trial, scores, k, got, want)
		}
	}
}
