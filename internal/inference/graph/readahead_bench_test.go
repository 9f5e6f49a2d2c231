//go:build cspipe_bench && amd64

package graph_test

import (
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
	"github.com/cspipe/cspipe/internal/inference/graph"
	"github.com/cspipe/cspipe/internal/inference/kernels"
	"github.com/cspipe/cspipe/internal/inference/modelgen"
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
			nodeSwitchAB(b, loadModel(b, c), kernels.SetReadAheadOn, "ahead", "off")
		})
	}
}

// nodeSwitchAB runs m at batch 1 on one thread with a kernel switch on (named
// onName) and off (offName), in turns run by run on the thread's CPU clock,
// and reports each mode's median CPU time per image, the quartiles of the
// per-run ratios off/on ("speedup-q1", "-med", "-q3") and, with -v, the
// per-node CPU time of the nodes that differ by 2 µs or more. The switch is
// left on.
func nodeSwitchAB(b *testing.B, m *graph.Model, set func(bool), onName, offName string) {
	defer set(true)
	m.SetThreads(1)
	sides := switchSides(b, m, 1, set, onName, offName)
	// The per-node times of each side's measured runs, summed.
	var nodes [2][]graph.NodeTime
	for j := range sides {
		setup := sides[j].Setup
		sides[j].Setup = func() {
			setup()
			m.SetNodeTiming(true)
		}
		sides[j].Done = func(warm bool) {
			if warm {
				return
			}
			nt := m.NodeTimes()
			if nodes[j] == nil {
				nodes[j] = nt
				return
			}
			for i := range nt {
				nodes[j][i].CPU += nt[i].CPU
				nodes[j][i].CPUImages += nt[i].CPUImages
			}
		}
	}
	t := abbench.Alternate(b, abbench.ThreadCPU, sides...)
	m.SetNodeTiming(false)
	t.Report(b, 0, abbench.Med, 1e3, "%s-cpu-ms/img")
	abbench.ReportQuartiles(b, t.Ratios(0, 1, 0), "speedup")
	if testing.Verbose() {
		na, no := nodes[0], nodes[1]
		for i := range na {
			if na[i].CPUImages == 0 || no[i].CPUImages == 0 {
				continue
			}
			ua := na[i].CPU.Seconds() * 1e6 / float64(na[i].CPUImages)
			uo := no[i].CPU.Seconds() * 1e6 / float64(no[i].CPUImages)
			if uo-ua >= 2 || ua-uo >= 2 {
				b.Logf("node %3d %-16s %v: %s %7.1f us, %s %7.1f us", i, na[i].Kernel, na[i].Shape, onName, ua, offName, uo)
			}
		}
	}
}
