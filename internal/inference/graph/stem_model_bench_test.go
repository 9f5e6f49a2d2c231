package graph_test

import (
	"testing"

	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
)

// BenchmarkV1StemRows runs MobileNet V1 1.0@128 at batch 1 on one thread
// planned with the stem read in place (runRows) and with the column-window
// stem, alternating image by image so that both see the same load, and
// reports each one's fastest and median time and the median of the
// per-image ratios.
func BenchmarkV1StemRows(b *testing.B) {
	rows, cols := loadTwoPlans(b, modelgen.Config{Arch: "v1", Width: 1, Size: 128, Classes: 1001, Seed: 1},
		func() func() { return graph.SetStemRows(false) })
	benchAlternate(b, 1, "rows", rows, "columns", cols, nil)
}
