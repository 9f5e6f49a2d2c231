package graph_test

import (
	"testing"

	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// BenchmarkV1StemRows runs MobileNet V1 1.0@128 at batch 1 on one thread
// planned with the stem read in place (runRows) and with the column-window
// stem, alternating image by image so that both see the same load, and
// reports each one's fastest and median time and the median of the
// per-image ratios.
func BenchmarkV1StemRows(b *testing.B) {
	g, err := modelgen.MobileNet(modelgen.Config{Arch: "v1", Width: 1, Size: 128, Classes: 1001, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	model := g.TFLite()
	rows, err := tflite.Load(model)
	if err != nil {
		b.Fatal(err)
	}
	restore := graph.SetStemRows(false)
	cols, err := tflite.Load(model)
	restore()
	if err != nil {
		b.Fatal(err)
	}
	benchAlternate(b, 1, "rows", rows, "columns", cols, nil)
}
