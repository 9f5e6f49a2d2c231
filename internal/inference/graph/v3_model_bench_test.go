package graph_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// BenchmarkV3LargeStemExpand runs MobileNet V3-Large 1.0@224 on one thread
// at batch 1 and 4 (a batch-8 worker's share on two threads) with the
// 16-channel stem read in place and the fused expansion's bands on
// DepthwiseBlocked ("new"), and with the column-window stem and Depthwise
// for the bands ("old"), alternating run by run so that both see the same
// load; it reports each one's median time per image and the median of the
// per-pair ratios (old over new).
func BenchmarkV3LargeStemExpand(b *testing.B) {
	g, err := modelgen.MobileNet(modelgen.Config{Arch: "v3-large", Width: 1, Size: 224, Classes: 1001, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	model := g.TFLite()
	newer, err := tflite.Load(model)
	if err != nil {
		b.Fatal(err)
	}
	restore := graph.SetStemRows(false)
	older, err := tflite.Load(model)
	restore()
	if err != nil {
		b.Fatal(err)
	}
	defer graph.SetExpandBlocked(true)()
	for _, batch := range []int{1, 4} {
		b.Run(fmt.Sprintf("batch%d", batch), func(b *testing.B) {
			h, w, c := newer.InputShape()
			rng := rand.New(rand.NewPCG(1, 2))
			in := make([]float32, batch*h*w*c)
			for i := range in {
				in[i] = rng.Float32()*2 - 1
			}
			out := make([]float32, batch*newer.NumClasses())
			run := func(m *graph.Model) float64 {
				graph.SetExpandBlocked(m == newer)
				start := time.Now()
				if err := m.Run(in, batch, out); err != nil {
					b.Fatal(err)
				}
				return time.Since(start).Seconds() / float64(batch)
			}
			for _, m := range []*graph.Model{newer, older} {
				m.SetThreads(1)
				run(m)
			}
			var tn, to, ratios []float64
			for i := 0; b.Loop(); i++ {
				var n, o float64
				if i%2 == 0 {
					n, o = run(newer), run(older)
				} else {
					o, n = run(older), run(newer)
				}
				tn, to, ratios = append(tn, n), append(to, o), append(ratios, o/n)
			}
			for _, s := range [][]float64{tn, to, ratios} {
				slices.Sort(s)
			}
			b.ReportMetric(tn[len(tn)/2]*1e3, "new-med-ms/img")
			b.ReportMetric(to[len(to)/2]*1e3, "old-med-ms/img")
			b.ReportMetric(ratios[len(ratios)/2], "speedup-med")
		})
	}
}
