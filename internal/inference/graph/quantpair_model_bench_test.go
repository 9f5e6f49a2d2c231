package graph_test

import (
	"os"
	"strconv"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// loadQBench loads the int8 .tflite model CSPIPE_QBENCH twice (skipping
// the benchmark when it is unset): as planned by default, and with the
// planner switch off turns for the second load only (nil: the same plan
// twice, for switches read at run time). batch is CSPIPE_QBENCH_BATCH, 1
// when unset.
func loadQBench(b *testing.B, off func() (restore func())) (newer, older *graph.Model, batch int) {
	path := os.Getenv("CSPIPE_QBENCH")
	if path == "" {
		b.Skip("CSPIPE_QBENCH not set")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	if newer, err = tflite.Load(data); err != nil {
		b.Fatal(err)
	}
	restore := func() {}
	if off != nil {
		restore = off()
	}
	older, err = tflite.Load(data)
	restore()
	if err != nil {
		b.Fatal(err)
	}
	batch = 1
	if v := os.Getenv("CSPIPE_QBENCH_BATCH"); v != "" {
		if batch, err = strconv.Atoi(v); err != nil || batch < 1 {
			b.Fatalf("CSPIPE_QBENCH_BATCH=%q: want a positive integer", v)
		}
	}
	return newer, older, batch
}

// BenchmarkQuantPairsModel plans the int8 .tflite model CSPIPE_QBENCH
// with the depthwise -> project pairs banded and the padded depthwise
// blocks-outer ("pairs") and with neither ("separate") and runs both on
// one thread at batch 1, alternating run by run (see benchAlternate).
func BenchmarkQuantPairsModel(b *testing.B) {
	newer, older, _ := loadQBench(b, func() func() { return graph.SetQuantPairs(false) })
	if newer.NumNodes() >= older.NumNodes() {
		b.Fatalf("no pair banded: %d nodes with pairs, %d without", newer.NumNodes(), older.NumNodes())
	}
	b.Logf("pairs banded: %d", older.NumNodes()-newer.NumNodes())
	defer graph.SetDWBlocksOuter(true)()
	benchAlternate(b, 1, "pairs", newer, "separate", older, func(m *graph.Model) { graph.SetDWBlocksOuter(m == newer) })
}

// BenchmarkQuantT4Model plans the int8 .tflite model CSPIPE_QBENCH with
// the depthwise layers (fused or not) on rows in T4 form ("t4") and on
// the 64-channel kernel ("dw64") and runs both at batch CSPIPE_QBENCH_BATCH
// (1 when unset) on one thread, alternating run by run (see
// benchAlternate).
func BenchmarkQuantT4Model(b *testing.B) {
	newer, older, batch := loadQBench(b, func() func() { return graph.SetQuantT4(false) })
	// The standalone depthwise layers read the switch as they run.
	defer graph.SetQuantT4(true)()
	benchAlternate(b, batch, "t4", newer, "dw64", older, func(m *graph.Model) { graph.SetQuantT4(m == newer) })
}

// BenchmarkQuantT4OuterModel runs the int8 .tflite model CSPIPE_QBENCH
// with the T4 depthwise rows of a band in one call ("outer") and one call
// per row ("rows"), at batch 1 on one thread, alternating run by run.
func BenchmarkQuantT4OuterModel(b *testing.B) {
	newer, older, _ := loadQBench(b, nil)
	defer graph.SetT4BlocksOuter(true)()
	benchAlternate(b, 1, "outer", newer, "rows", older, func(m *graph.Model) { graph.SetT4BlocksOuter(m == newer) })
}

// BenchmarkQuantT4GemmModel runs the int8 .tflite model CSPIPE_QBENCH
// with the fused blocks' expansions writing T4 rows themselves ("gemm",
// kernels.GemmU8I8RequantT4) and writing int8 rows that T4Row converts
// ("t4row"), at batch CSPIPE_QBENCH_BATCH (1 when unset) on one thread,
// alternating run by run (see benchAlternate).
func BenchmarkQuantT4GemmModel(b *testing.B) {
	newer, older, batch := loadQBench(b, nil)
	defer graph.SetT4Gemm(true)()
	benchAlternate(b, batch, "gemm", newer, "t4row", older, func(m *graph.Model) { graph.SetT4Gemm(m == newer) })
}

// BenchmarkQuantBlocksModel plans the int8 .tflite model CSPIPE_QBENCH
// with its blocks and pairs banded ("banded") and as separate operators
// ("separate") and runs both at batch CSPIPE_QBENCH_BATCH (1 when unset)
// on one thread, alternating run by run by the thread's CPU clock: each
// side's median ms/img and the quartiles of the per-run ratios
// separate/banded.
func BenchmarkQuantBlocksModel(b *testing.B) {
	newer, older, batch := loadQBench(b, func() func() { return graph.SetQuantBlocks(false) })
	if newer.NumNodes() >= older.NumNodes() {
		b.Fatalf("no block banded: %d nodes banded, %d separate", newer.NumNodes(), older.NumNodes())
	}
	in, out := abInput(newer, batch), make([]float32, batch*newer.NumClasses())
	newer.SetThreads(1)
	older.SetThreads(1)
	t := abbench.Alternate(b, abbench.ThreadCPU,
		graph.ABModelSide(b, "banded", newer, batch, in, out, nil),
		graph.ABModelSide(b, "separate", older, batch, in, out, nil))
	t.Report(b, 0, abbench.Med, 1e3/float64(batch), "%s-cpu-ms/img")
	abbench.ReportQuartiles(b, t.Ratios(0, 1, 0), "speedup")
}
