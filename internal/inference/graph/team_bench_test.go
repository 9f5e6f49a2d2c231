package graph_test

import (
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
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
			m := loadModel(b, cfg)
			const batch = 8
			m.SetThreads(2)
			in, out := abInput(m, batch), make([]float32, batch*m.NumClasses())
			// The switch is turned in Setup and put back in Done, untimed.
			var restore func()
			side := func(name string, help bool) abbench.Side {
				return graph.ABModelSide(b, name, m, batch, in, out, func() { restore = graph.SetTeamHelp(help) })
			}
			help, alone := side("help", true), side("alone", false)
			help.Done = func(bool) { restore() }
			alone.Done = help.Done
			t := abbench.Alternate(b, abbench.Wall, help, alone)
			t.Report(b, 0, abbench.Med, 1e3/batch, "%s-med-ms/img")
			b.ReportMetric(abbench.Med(t.Ratios(0, 1, 0)), "speedup-med")
			b.ReportMetric(abbench.Mean(t.Times[1][0])/abbench.Mean(t.Times[0][0]), "speedup-total")
		})
	}
}
