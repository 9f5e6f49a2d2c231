package graph_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

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
	h, w, c := rows.InputShape()
	rng := rand.New(rand.NewPCG(1, 2))
	in := make([]float32, h*w*c)
	for i := range in {
		in[i] = rng.Float32()*2 - 1
	}
	out := make([]float32, rows.NumClasses())
	run := func(m *graph.Model) float64 {
		start := time.Now()
		if err := m.Run(in, 1, out); err != nil {
			b.Fatal(err)
		}
		return time.Since(start).Seconds()
	}
	for _, m := range []*graph.Model{rows, cols} {
		m.SetThreads(1)
		run(m)
	}
	var tr, tc, ratios []float64
	for i := 0; b.Loop(); i++ {
		var r, c float64
		if i%2 == 0 {
			r, c = run(rows), run(cols)
		} else {
			c, r = run(cols), run(rows)
		}
		tr, tc, ratios = append(tr, r), append(tc, c), append(ratios, c/r)
	}
	for _, s := range [][]float64{tr, tc, ratios} {
		slices.Sort(s)
	}
	b.ReportMetric(tr[0]*1e3, "rows-best-ms")
	b.ReportMetric(tc[0]*1e3, "columns-best-ms")
	b.ReportMetric(tr[len(tr)/2]*1e3, "rows-med-ms")
	b.ReportMetric(tc[len(tc)/2]*1e3, "columns-med-ms")
	b.ReportMetric(ratios[len(ratios)/2], "speedup-med")
}
