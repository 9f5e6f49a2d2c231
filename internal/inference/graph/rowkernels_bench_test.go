//go:build cspipe_bench

package graph_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/kernels"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// BenchmarkRowKernelsModel runs MobileNet V1 1.0@128, V2 1.0@224 and
// V3-Large 1.0@224 with the row kernels on ("new") and off ("old",
// kernels.SetRowKernels), alternating run by run so both see the same
// load: on one thread at batch 1 and 4 (a worker's sub-batch at batch 8 on
// two threads), reporting each one's median thread CPU time per image and
// the median and quartiles of the per-run ratios; and at batch 8 on two
// threads, the ratios of wall time. Run with
// `go test -tags cspipe_bench -run '^$' -bench RowKernelsModel`.
func BenchmarkRowKernelsModel(b *testing.B) {
	for _, c := range []modelgen.Config{
		{Arch: "v1", Width: 1, Size: 128, Classes: 1001, Seed: 1},
		{Arch: "v2", Width: 1, Size: 224, Classes: 1001, Seed: 1},
		{Arch: "v3-large", Width: 1, Size: 224, Classes: 1001, Seed: 1},
	} {
		g, err := modelgen.MobileNet(c)
		if err != nil {
			b.Fatal(err)
		}
		m, err := tflite.Load(g.TFLite())
		if err != nil {
			b.Fatal(err)
		}
		for _, batch := range []int{1, 4} {
			b.Run(fmt.Sprintf("%s/batch%d", c.Arch, batch), func(b *testing.B) { rowKernelsAB(b, m, batch) })
		}
		b.Run(c.Arch+"/batch8-threads2", func(b *testing.B) { rowKernelsWall(b, m) })
	}
}

func rowKernelsAB(b *testing.B, m *graph.Model, batch int) {
	defer kernels.SetRowKernels(true)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	h, w, c := m.InputShape()
	rng := rand.New(rand.NewPCG(1, 2))
	in := make([]float32, batch*h*w*c)
	for i := range in {
		in[i] = rng.Float32()*2 - 1
	}
	out := make([]float32, batch*m.NumClasses())
	m.SetThreads(1)
	run := func(on bool) float64 {
		kernels.SetRowKernels(on)
		t0, _ := kernels.ThreadCPU()
		if err := m.Run(in, batch, out); err != nil {
			b.Fatal(err)
		}
		t1, _ := kernels.ThreadCPU()
		return (t1 - t0).Seconds() / float64(batch)
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

// rowKernelsWall is rowKernelsAB at batch 8 on two threads, timed by the
// wall clock (the helper thread's CPU time is not the caller's).
func rowKernelsWall(b *testing.B, m *graph.Model) {
	defer kernels.SetRowKernels(true)
	h, w, c := m.InputShape()
	rng := rand.New(rand.NewPCG(1, 2))
	in := make([]float32, 8*h*w*c)
	for i := range in {
		in[i] = rng.Float32()*2 - 1
	}
	out := make([]float32, 8*m.NumClasses())
	m.SetThreads(2)
	run := func(on bool) float64 {
		kernels.SetRowKernels(on)
		t0 := time.Now()
		if err := m.Run(in, 8, out); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0).Seconds()
	}
	run(true)
	run(false)
	var ratios []float64
	for i := 0; b.Loop(); i++ {
		var n, o float64
		if i%2 == 0 {
			n, o = run(true), run(false)
		} else {
			o, n = run(false), run(true)
		}
		ratios = append(ratios, o/n)
	}
	slices.Sort(ratios)
	b.ReportMetric(ratios[len(ratios)/4], "speedup-q1")
	b.ReportMetric(ratios[len(ratios)/2], "speedup-med")
	b.ReportMetric(ratios[3*len(ratios)/4], "speedup-q3")
}
