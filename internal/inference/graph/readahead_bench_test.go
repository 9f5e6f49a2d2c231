//go:build cspipe_bench && amd64

package graph_test

import (
	"fmt"
	"runtime"
	"slices"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/kernels"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
	"github.com/cspipe/cspipe/internal/inference/tflite"
)

// BenchmarkReadAheadModel runs whole models at batch 1 on one thread with
// the GEMM layers reading the next layer's weights ahead ("ahead") and not
// ("off", kernels.SetReadAheadOn), in turns run by run on the thread's CPU
// clock, one model (the same weights in the same memory). It reports each
// mode's median CPU time per image and the quartiles of the per-run ratios
// off/ahead, and with -v the per-node CPU time of the nodes that differ by
// 2 µs or more. Run with `go test -tags cspipe_bench -run '^$' -bench
// ReadAheadModel -benchtime 300x` (V1 alone: -bench 'ReadAheadModel/^v1$').
func BenchmarkReadAheadModel(b *testing.B) {
	for _, c := range []modelgen.Config{
		{Arch: "v1", Width: 1, Size: 128, Classes: 1001, Seed: 1},
		{Arch: "v3-large", Width: 1, Size: 224, Classes: 1001, Seed: 1},
		{Arch: "resnet50-v1", Width: 1, Size: 224, Classes: 1001, Seed: 1},
	} {
		b.Run(c.Arch, func(b *testing.B) {
			g, err := modelgen.MobileNet(c)
			if err != nil {
				b.Fatal(err)
			}
			m, err := tflite.Load(g.TFLite())
			if err != nil {
				b.Fatal(err)
			}
			readAheadAB(b, m)
		})
	}
}

func readAheadAB(b *testing.B, m *graph.Model) {
	nodeSwitchAB(b, m, kernels.SetReadAheadOn, "ahead", "off")
}

// nodeSwitchAB runs m at batch 1 on one thread with a kernel switch on (named
// onName) and off (offName), in turns run by run on the thread's CPU clock,
// and reports each mode's median CPU time per image, the quartiles of the
// per-run ratios off/on ("speedup-q1", "-med", "-q3") and, with -v, the
// per-node CPU time of the nodes that differ by 2 µs or more. The switch is
// left on.
func nodeSwitchAB(b *testing.B, m *graph.Model, set func(bool), onName, offName string) {
	defer set(true)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	h, w, c := m.InputShape()
	in := make([]float32, h*w*c)
	for i := range in {
		in[i] = float32(i%251)/125 - 1
	}
	out := make([]float32, m.NumClasses())
	m.SetThreads(1)
	var nodes [2][]graph.NodeTime
	run := func(on bool) float64 {
		set(on)
		m.SetNodeTiming(true)
		t0, _ := kernels.ThreadCPU()
		if err := m.Run(in, 1, out); err != nil {
			b.Fatal(err)
		}
		t1, _ := kernels.ThreadCPU()
		j := 0
		if on {
			j = 1
		}
		nt := m.NodeTimes()
		if nodes[j] == nil {
			nodes[j] = nt
		} else {
			for i := range nt {
				nodes[j][i].CPU += nt[i].CPU
				nodes[j][i].CPUImages += nt[i].CPUImages
			}
		}
		return (t1 - t0).Seconds()
	}
	run(true) // the workspace
	nodes = [2][]graph.NodeTime{}
	var ta, to, ratios []float64
	for i := 0; b.Loop(); i++ {
		var a, o float64
		if i%2 == 0 {
			a, o = run(true), run(false)
		} else {
			o, a = run(false), run(true)
		}
		ta, to, ratios = append(ta, a), append(to, o), append(ratios, o/a)
	}
	m.SetNodeTiming(false)
	na, no := nodes[1], nodes[0]
	for _, s := range [][]float64{ta, to, ratios} {
		slices.Sort(s)
	}
	b.ReportMetric(ta[len(ta)/2]*1e3, onName+"-cpu-ms/img")
	b.ReportMetric(to[len(to)/2]*1e3, offName+"-cpu-ms/img")
	b.ReportMetric(ratios[len(ratios)/4], "speedup-q1")
	b.ReportMetric(ratios[len(ratios)/2], "speedup-med")
	b.ReportMetric(ratios[3*len(ratios)/4], "speedup-q3")
	if testing.Verbose() {
		for i := range na {
			if na[i].CPUImages == 0 || no[i].CPUImages == 0 {
				continue
			}
			ua := na[i].CPU.Seconds() * 1e6 / float64(na[i].CPUImages)
			uo := no[i].CPU.Seconds() * 1e6 / float64(no[i].CPUImages)
			if uo-ua >= 2 || ua-uo >= 2 {
				b.Log(fmt.Sprintf("node %3d %-16s %v: %s %7.1f us, %s %7.1f us", i, na[i].Kernel, na[i].Shape, onName, ua, offName, uo))
			}
		}
	}
}
