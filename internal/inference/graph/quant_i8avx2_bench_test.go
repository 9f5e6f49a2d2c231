//go:build cspipe_bench

package graph_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
	"github.com/cspipe/cspipe/internal/inference/kernels"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// BenchmarkInt8AVX2Model runs the int8 .tflite model CSPIPE_QBENCH with
// the AVX2 int8 kernels on ("new") and off ("old", kernels.SetInt8AVX2),
// alternating run by run: on one thread at batch 1 and 8 by the thread's
// CPU clock (each side's median ms/img and the quartiles of the per-run
// ratios old/new), and at batch 8 on two threads by the wall clock. Run
// with `go test -tags cspipe_bench -run '^$' -bench Int8AVX2Model`.
func BenchmarkInt8AVX2Model(b *testing.B) {
	path := os.Getenv("CSPIPE_QBENCH")
	if path == "" {
		b.Skip("CSPIPE_QBENCH not set")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	m, err := tflite.Load(data)
	if err != nil {
		b.Fatal(err)
	}
	for _, batch := range []int{1, 8} {
		b.Run(fmt.Sprintf("batch%d", batch), func(b *testing.B) { switchAB(b, m, batch, kernels.SetInt8AVX2) })
	}
	b.Run("batch8-threads2", func(b *testing.B) {
		defer kernels.SetInt8AVX2(true)
		m.SetThreads(2)
		defer m.SetThreads(1)
		t := abbench.Alternate(b, abbench.Wall, switchSides(b, m, 8, kernels.SetInt8AVX2, "new", "old")...)
		abbench.ReportQuartiles(b, t.Ratios(0, 1, 0), "speedup")
	})
}
