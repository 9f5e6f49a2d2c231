//go:build cspipe_bench

package graph_test

import (
	"slices"
	"testing"

	"github.com/cspipe/cspipe/internal/inference/abbench"
	"github.com/cspipe/cspipe/internal/inference/graph"
)

// switchNodesAB is switchAB for the operators match picks, in the model's
// context: m runs on one thread at batch with set(true) ("new") and
// set(false) ("old") in turns, every run timed operator by operator
// (Model.SetNodeTiming, the thread's CPU clock), and it reports the
// picked operators' median CPU time per image on each side
// ("new-layers-us", "old-layers-us") and the quartiles of the per-pair
// ratios old/new of their sum ("layers-speedup"). set(true) is restored
// at the end.
func switchNodesAB(b *testing.B, m *graph.Model, batch int, set func(bool), match func(graph.NodeTime) bool) {
	defer set(true)
	defer m.SetNodeTiming(false)
	m.SetThreads(1)
	in, out := abInput(m, batch), make([]float32, batch*m.NumClasses())
	var sums [2][]float64
	side := func(i int, name string, on bool) abbench.Side {
		return abbench.Side{Name: name,
			Setup: func() { set(on); m.SetNodeTiming(true) },
			Run: func() {
				if err := m.Run(in, batch, out); err != nil {
					b.Fatal(err)
				}
			},
			Done: func(warm bool) {
				if warm {
					return
				}
				s := 0.0
				for _, nt := range m.NodeTimes() {
					if match(nt) {
						s += nt.CPU.Seconds()
					}
				}
				sums[i] = append(sums[i], s/float64(batch))
			}}
	}
	abbench.Alternate(b, abbench.ThreadCPU, side(0, "new", true), side(1, "old", false))
	ratios := make([]float64, len(sums[0]))
	for i := range ratios {
		ratios[i] = sums[1][i] / sums[0][i]
	}
	slices.Sort(ratios)
	for i, name := range []string{"new", "old"} {
		s := slices.Clone(sums[i])
		slices.Sort(s)
		b.ReportMetric(abbench.Med(s)*1e6, name+"-layers-us")
	}
	abbench.ReportQuartiles(b, ratios, "layers-speedup")
}
