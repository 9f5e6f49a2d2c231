package graph_test

import (
	"os"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// BenchmarkQuantPairsModel plans the int8 .tflite model CSPIPE_QBENCH
// with the depthwise -> project pairs banded and the padded depthwise
// blocks-outer ("pairs") and with neither ("separate") and runs both on
// one thread at batch 1, alternating run by run (see benchAlternate).
func BenchmarkQuantPairsModel(b *testing.B) {
	path := os.Getenv("CSPIPE_QBENCH")
	if path == "" {
		b.Skip("CSPIPE_QBENCH not set")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	newer, err := tflite.Load(data)
	if err != nil {
		b.Fatal(err)
	}
	restore := graph.SetQuantPairs(false)
	older, err := tflite.Load(data)
	restore()
	if err != nil {
		b.Fatal(err)
	}
	if newer.NumNodes() >= older.NumNodes() {
		b.Fatalf("no pair banded: %d nodes with pairs, %d without", newer.NumNodes(), older.NumNodes())
	}
	b.Logf("pairs banded: %d", older.NumNodes()-newer.NumNodes())
	defer graph.SetDWBlocksOuter(true)()
	benchAlternate(b, 1, "pairs", newer, "separate", older, func(m *graph.Model) { graph.SetDWBlocksOuter(m == newer) })
}
