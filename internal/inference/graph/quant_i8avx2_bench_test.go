//go:build cspipe_bench

package graph_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/kernels"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// BenchmarkInt8AVX2Model runs the int8 .tflite model CSPIPE_QBENCH with
// the AVX2 int8 kernels on ("new") and off ("old", kernels.SetInt8AVX2),
// each side on its own plan (the switch decides how depthwise layers are
// planned) and with the switch set before each of its runs, alternating
// run by run: on one thread at batch 1 and 8 by the thread's CPU clock
// (each side's median ms/img and the quartiles of the per-run ratios
// old/new), and at batch 8 on two threads by the wall clock; and
// "int8-weights" the new side at batch 1 with the GEMM's int8-weight tile
// on and off (kernels.SetInt8AVX2Weights); "rows3" the new side with the
// rows of a pass on 3x32 tiles ending on 2x32 ones and as before
// (kernels.SetInt8AVX2Rows3), at batch 1 and, with the int8-weight tile
// off, at batch 1 and 8; "4x8" with the 4x8 tile on and off
// (kernels.SetInt8AVX2Tile4x8) and "widen-rows" with a pass's rows
// widened in one call and one call per row (kernels.SetInt8AVX2WidenRows),
// at batch 1 and 8, "rows3+4x8+widen" with the three on and off, and
// "dw-cols" with the stride-1 int8 3x3 depthwise layers on the column
// kernel and the pair kernel (kernels.SetInt8AVX2DWCols); "prefetch" the
// fused GEMM's prefetch of the next panel on and off
// (kernels.SetInt8AVX2Prefetch) at batch 1 and 8 on one thread (thread
// CPU) and at batch 8 on two (wall clock); "ub" the GEMM's VPMADDUBSW
// tile for rows that fit on and off (kernels.SetInt8AVX2UB), likewise;
// "ub-int8" that tile in the int8-weight passes on and off
// (kernels.SetInt8AVX2UBInt8) at batch 1; "ub-nowiden" the passes whose
// rows all fit not widened and widened (kernels.SetInt8AVX2UBNoWiden) at
// batch 1; "ub+prefetch" the VPMADDUBSW tile and the weights' prefetch
// together on and off at batch 1 and 8 (thread CPU) and batch 8 on two
// threads (wall clock); "ub-weights" the VPMADDUBSW tile's row test
// against the layer's weights and the weight-blind one
// (kernels.SetInt8AVX2UBWeights), and "ub-part" that tile on last partial
// panels on and off (kernels.SetInt8AVX2UBPart), and "ub-session" both
// with the tile's least K 32 and as before (kernels.SetInt8AVX2UBSession),
// at batch 1 and 8.
// Run with
// `go test -tags cspipe_bench -run '^$' -bench Int8AVX2Model`.
func BenchmarkInt8AVX2Model(b *testing.B) {
	path := os.Getenv("CSPIPE_QBENCH")
	if path == "" {
		b.Skip("CSPIPE_QBENCH not set")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	defer kernels.SetInt8AVX2(true)
	var models [2]*graph.Model
	for i, on := range []bool{true, false} {
		kernels.SetInt8AVX2(on)
		if models[i], err = tflite.Load(data); err != nil {
			b.Fatal(err)
		}
	}
	kernels.SetInt8AVX2(true)
	sides := func(b *testing.B, batch int) []abbench.Side {
		in := abInput(models[0], batch)
		out := make([]float32, batch*models[0].NumClasses())
		return []abbench.Side{
			graph.ABModelSide(b, "new", models[0], batch, in, out, func() { kernels.SetInt8AVX2(true) }),
			graph.ABModelSide(b, "old", models[1], batch, in, out, func() { kernels.SetInt8AVX2(false) }),
		}
	}
	for _, batch := range []int{1, 8} {
		b.Run(fmt.Sprintf("batch%d", batch), func(b *testing.B) {
			for _, m := range models {
				m.SetThreads(1)
			}
			t := abbench.Alternate(b, abbench.ThreadCPU, sides(b, batch)...)
			t.Report(b, 0, abbench.Med, 1e3/float64(batch), "%s-cpu-ms/img")
			abbench.ReportQuartiles(b, t.Ratios(0, 1, 0), "speedup")
		})
	}
	b.Run("int8-weights/batch1", func(b *testing.B) {
		models[0].SetThreads(1)
		kernels.SetInt8AVX2(true)
		switchAB(b, models[0], 1, kernels.SetInt8AVX2Weights)
	})
	b.Run("rows3/batch1", func(b *testing.B) {
		models[0].SetThreads(1)
		kernels.SetInt8AVX2(true)
		switchAB(b, models[0], 1, kernels.SetInt8AVX2Rows3)
	})
	b.Run("rows3-int8off/batch1", func(b *testing.B) {
		models[0].SetThreads(1)
		kernels.SetInt8AVX2(true)
		kernels.SetInt8AVX2Weights(false)
		defer kernels.SetInt8AVX2Weights(true)
		switchAB(b, models[0], 1, kernels.SetInt8AVX2Rows3)
	})
	b.Run("rows3/batch8", func(b *testing.B) {
		models[0].SetThreads(1)
		kernels.SetInt8AVX2(true)
		switchAB(b, models[0], 8, kernels.SetInt8AVX2Rows3)
	})
	for _, batch := range []int{1, 8} {
		b.Run(fmt.Sprintf("4x8/batch%d", batch), func(b *testing.B) {
			models[0].SetThreads(1)
			kernels.SetInt8AVX2(true)
			switchAB(b, models[0], batch, kernels.SetInt8AVX2Tile4x8)
		})
		b.Run(fmt.Sprintf("widen-rows/batch%d", batch), func(b *testing.B) {
			models[0].SetThreads(1)
			kernels.SetInt8AVX2(true)
			switchAB(b, models[0], batch, kernels.SetInt8AVX2WidenRows)
		})
	}
	for _, batch := range []int{1, 8} {
		b.Run(fmt.Sprintf("dw-cols/batch%d", batch), func(b *testing.B) {
			models[0].SetThreads(1)
			kernels.SetInt8AVX2(true)
			switchAB(b, models[0], batch, kernels.SetInt8AVX2DWCols)
		})
	}
	session := func(on bool) {
		kernels.SetInt8AVX2Rows3(on)
		kernels.SetInt8AVX2Tile4x8(on)
		kernels.SetInt8AVX2WidenRows(on)
	}
	for _, batch := range []int{1, 8} {
		b.Run(fmt.Sprintf("rows3+4x8+widen/batch%d", batch), func(b *testing.B) {
			models[0].SetThreads(1)
			kernels.SetInt8AVX2(true)
			switchAB(b, models[0], batch, session)
		})
	}
	for _, batch := range []int{1, 8} {
		b.Run(fmt.Sprintf("prefetch/batch%d", batch), func(b *testing.B) {
			models[0].SetThreads(1)
			kernels.SetInt8AVX2(true)
			switchAB(b, models[0], batch, kernels.SetInt8AVX2Prefetch)
		})
	}
	for _, batch := range []int{1, 8} {
		b.Run(fmt.Sprintf("ub/batch%d", batch), func(b *testing.B) {
			models[0].SetThreads(1)
			kernels.SetInt8AVX2(true)
			switchAB(b, models[0], batch, kernels.SetInt8AVX2UB)
		})
	}
	b.Run("ub-int8/batch1", func(b *testing.B) {
		models[0].SetThreads(1)
		kernels.SetInt8AVX2(true)
		switchAB(b, models[0], 1, kernels.SetInt8AVX2UBInt8)
	})
	b.Run("ub-nowiden/batch1", func(b *testing.B) {
		models[0].SetThreads(1)
		kernels.SetInt8AVX2(true)
		switchAB(b, models[0], 1, kernels.SetInt8AVX2UBNoWiden)
	})
	for _, sw := range []struct {
		name string
		set  func(bool)
	}{{"ub-weights", kernels.SetInt8AVX2UBWeights}, {"ub-part", kernels.SetInt8AVX2UBPart}, {"ub-session", kernels.SetInt8AVX2UBSession}} {
		for _, batch := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/batch%d", sw.name, batch), func(b *testing.B) {
				defer sw.set(true)
				models[0].SetThreads(1)
				kernels.SetInt8AVX2(true)
				switchAB(b, models[0], batch, sw.set)
			})
		}
	}
	q8 := func(on bool) {
		kernels.SetInt8AVX2UB(on)
		kernels.SetInt8AVX2Prefetch(on)
	}
	for _, batch := range []int{1, 8} {
		b.Run(fmt.Sprintf("ub+prefetch/batch%d", batch), func(b *testing.B) {
			models[0].SetThreads(1)
			kernels.SetInt8AVX2(true)
			switchAB(b, models[0], batch, q8)
		})
	}
	b.Run("ub+prefetch/batch8-threads2", func(b *testing.B) {
		defer q8(true)
		kernels.SetInt8AVX2(true)
		models[0].SetThreads(2)
		t := abbench.Alternate(b, abbench.Wall, switchSides(b, models[0], 8, q8, "new", "old")...)
		abbench.ReportQuartiles(b, t.Ratios(0, 1, 0), "speedup")
	})
	b.Run("ub/batch8-threads2", func(b *testing.B) {
		defer kernels.SetInt8AVX2UB(true)
		kernels.SetInt8AVX2(true)
		models[0].SetThreads(2)
		t := abbench.Alternate(b, abbench.Wall, switchSides(b, models[0], 8, kernels.SetInt8AVX2UB, "new", "old")...)
		abbench.ReportQuartiles(b, t.Ratios(0, 1, 0), "speedup")
	})
	b.Run("prefetch/batch8-threads2", func(b *testing.B) {
		defer kernels.SetInt8AVX2Prefetch(true)
		kernels.SetInt8AVX2(true)
		models[0].SetThreads(2)
		t := abbench.Alternate(b, abbench.Wall, switchSides(b, models[0], 8, kernels.SetInt8AVX2Prefetch, "new", "old")...)
		abbench.ReportQuartiles(b, t.Ratios(0, 1, 0), "speedup")
	})
	b.Run("batch8-threads2", func(b *testing.B) {
		for _, m := range models {
			m.SetThreads(2)
		}
		t := abbench.Alternate(b, abbench.Wall, sides(b, 8)...)
		abbench.ReportQuartiles(b, t.Ratios(0, 1, 0), "speedup")
	})
}
