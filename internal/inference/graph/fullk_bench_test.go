//go:build cspipe_bench && amd64

package graph_test

import (
	"runtime"
	"slices"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/kernels"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// BenchmarkFullKModel runs whole models on one thread at batch 1 with the
// banded driver's one-band products in one K block ("new",
// kernels.SetOneBandFullK) and in L1-sized K blocks ("old"), alternating
// run by run on the thread's CPU clock, and reports the median CPU time
// per image of each and the quartiles of the per-run ratios old/new. Run
// with `go test -tags cspipe_bench -run '^$' -bench FullKModel` (V1 alone:
// -bench '^BenchmarkFullKModel$/^v1$'; a bare v1 also matches resnet50-v1).
func BenchmarkFullKModel(b *testing.B) {
	for _, c := range []modelgen.Config{
		{Arch: "v1", Width: 1, Size: 128, Classes: 1001, Seed: 1},
		{Arch: "v2", Width: 1, Size: 224, Classes: 1001, Seed: 1},
		{Arch: "v3-large", Width: 1, Size: 224, Classes: 1001, Seed: 1},
		{Arch: "resnet50-v1", Width: 1, Size: 224, Classes: 1001, Seed: 1},
	} {
		g, err := modelgen.MobileNet(c)
		if err != nil {
			b.Fatal(err)
		}
		m, err := tflite.Load(g.TFLite())
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.Arch+"/batch1", func(b *testing.B) { fullKAB(b, m) })
	}
}

func fullKAB(b *testing.B, m *graph.Model) {
	defer kernels.SetOneBandFullK(true)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	h, w, c := m.InputShape()
	in := make([]float32, h*w*c)
	for i := range in {
		in[i] = float32(i%251)/125 - 1
	}
	out := make([]float32, m.NumClasses())
	m.SetThreads(1)
	run := func(on bool) float64 {
		kernels.SetOneBandFullK(on)
		t0, _ := kernels.ThreadCPU()
		if err := m.Run(in, 1, out); err != nil {
			b.Fatal(err)
		}
		t1, _ := kernels.ThreadCPU()
		return (t1 - t0).Seconds()
	}
	run(true) // the workspace
	run(false)
	var tn, to, ratios []float64
	for i := 0; b.Loop(); i++ {
		var n, o float64
		if i%2 == 0 {
			n, o = run(true), run(false)
		} else {
			o, n = run(false), run(true)
		}
		tn, to, ratios = append(tn, n), append(to, o), append(ratios, o/n)
	}
	for _, s := range [][]float64{tn, to, ratios} {
		slices.Sort(s)
	}
	b.ReportMetric(tn[len(tn)/2]*1e3, "new-cpu-ms/img")
	b.ReportMetric(to[len(to)/2]*1e3, "old-cpu-ms/img")
	b.ReportMetric(ratios[len(ratios)/4], "speedup-q1")
	b.ReportMetric(ratios[len(ratios)/2], "speedup-med")
	b.ReportMetric(ratios[3*len(ratios)/4], "speedup-q3")
}
