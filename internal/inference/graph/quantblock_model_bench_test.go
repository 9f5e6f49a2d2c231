package graph_test

import (
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
	"github.com/cspipe/cspipe/internal/inference/graph"
)

// BenchmarkQuantBlockBudgetModel plans the int8 .tflite model
// CSPIPE_QBENCH with the fused blocks' band budget of this path ("path",
// blockBudgetFor) and with the AVX-512 path's 96 KiB ("k96"), and runs
// both at batch CSPIPE_QBENCH_BATCH (1 when unset) on one thread,
// alternating run by run by the thread's CPU clock: each side's median
// ms/img and the quartiles of the per-run ratios k96/path.
func BenchmarkQuantBlockBudgetModel(b *testing.B) {
	newer, older, batch := loadQBench(b, func() func() { return graph.SetBlockPlan(96<<10, 8) })
	in, out := abInput(newer, batch), make([]float32, batch*newer.NumClasses())
	newer.SetThreads(1)
	older.SetThreads(1)
	t := abbench.Alternate(b, abbench.ThreadCPU,
		graph.ABModelSide(b, "path", newer, batch, in, out, nil),
		graph.ABModelSide(b, "k96", older, batch, in, out, nil))
	t.Report(b, 0, abbench.Med, 1e3/float64(batch), "%s-cpu-ms/img")
	abbench.ReportQuartiles(b, t.Ratios(0, 1, 0), "speedup")
}
