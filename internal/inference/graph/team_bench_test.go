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

// BenchmarkTeamHelp runs V1 1.0@128, V3-Large@224 and ResNet-50@224 at batch
// 8 on 2 threads with the workers helping each other (team.go) and
// without, run for run in turns, and reports each side's median time per
// image, the median of the pairs' ratios (speedup-med > 1: helping is
// faster) and the ratio of the total times (speedup-total: throughput,
// which the runs a slow core drags out weigh on).
func BenchmarkTeamHelp(b *testing.B) {
	for _, cfg := range []modelgen.Config{
		{Arch: "v1", Width: 1, Size: 128, Classes: 1001, Seed: 1},
		{Arch: "v3-large", Width: 1, Size: 224, Classes: 1001, Seed: 1},
		{Arch: "resnet50-v1", Width: 1, Size: 224, Classes: 1001, Seed: 1},
	} {
		b.Run(cfg.Arch, func(b *testing.B) {
			g, err := modelgen.MobileNet(cfg)
			if err != nil {
				b.Fatal(err)
			}
			m, err := tflite.Load(g.TFLite())
			if err != nil {
				b.Fatal(err)
			}
			const batch = 8
			m.SetThreads(2)
			h, w, c := m.InputShape()
			rng := rand.New(rand.NewPCG(1, 2))
			in := make([]float32, batch*h*w*c)
			for i := range in {
				in[i] = rng.Float32()*2 - 1
			}
			out := make([]float32, batch*m.NumClasses())
			run := func(help bool) float64 {
				defer graph.SetTeamHelp(help)()
				start := time.Now()
				if err := m.Run(in, batch, out); err != nil {
					b.Fatal(err)
				}
				return time.Since(start).Seconds() / batch
			}
			run(true)
			run(false)
			var on, off, ratios []float64
			for i := 0; b.Loop(); i++ {
				var a, o float64
				if i%2 == 0 {
					a, o = run(true), run(false)
				} else {
					o, a = run(false), run(true)
				}
				on, off, ratios = append(on, a), append(off, o), append(ratios, o/a)
			}
			var sumOn, sumOff float64
			for i := range on {
				sumOn, sumOff = sumOn+on[i], sumOff+off[i]
			}
			for _, s := range [][]float64{on, off, ratios} {
				slices.Sort(s)
			}
			b.ReportMetric(on[len(on)/2]*1e3, "help-med-ms/img")
			b.ReportMetric(off[len(off)/2]*1e3, "alone-med-ms/img")
			b.ReportMetric(ratios[len(ratios)/2], "speedup-med")
			b.ReportMetric(sumOff/sumOn, "speedup-total")
		})
	}
}
