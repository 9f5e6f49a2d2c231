package kernels_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/kernels"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// BenchmarkKernelSwitchModel runs whole models on one thread with a
// kernel choice on ("new") and off ("old"), alternating run by run so both
// see the same load, and reports each one's median thread CPU time per
// image and the median (and quartiles) of the per-run ratios:
//   - gemv-rows: the few-row kernels taking two to four rows, else four
//     rows on the banded GEMM, at batch 4 (the sub-batch each worker runs
//     at batch 8 on two threads, whose classifier is a four-row product);
//   - dw-eight: stride-1 3x3 depthwise rows eight pixels at a time, else
//     four, at batch 1 and 4.
func BenchmarkKernelSwitchModel(b *testing.B) {
	switches := []struct {
		name    string
		batches []int
		set     func(on bool) func()
	}{
		{"gemv-rows", []int{4}, kernels.SetGemvMultiRow},
		{"dw-eight", []int{1, 4}, kernels.SetDWEight},
	}
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
		for _, sw := range switches {
			for _, batch := range sw.batches {
				b.Run(fmt.Sprintf("%s/%s/batch%d", sw.name, c.Arch, batch), func(b *testing.B) {
					benchSwitch(b, m, batch, func(on bool) { sw.set(on) })
				})
			}
		}
	}
}

// benchSwitch runs m at batch on one thread with set(true) and set(false)
// in turn (which goes first alternating) and reports the median thread CPU
// time per image of each and the median ratio old/new.
func benchSwitch(b *testing.B, m *graph.Model, batch int, set func(on bool)) {
	defer set(true)
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
		set(on)
		t0, _ := kernels.ThreadCPU()
		if err := m.Run(in, batch, out); err != nil {
			b.Fatal(err)
		}
		t1, _ := kernels.ThreadCPU()
		return (t1 - t0).Seconds() / float64(batch)
	}
	run(true)
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
	b.ReportMetric(ratios[len(ratios)/2], "speedup-med")
	b.ReportMetric(ratios[len(ratios)/4], "speedup-q1")
	b.ReportMetric(ratios[3*len(ratios)/4], "speedup-q3")
}
